"""Commands that read a running Prometheus (the HTTP API), never the specs."""
