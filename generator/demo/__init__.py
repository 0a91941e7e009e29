"""Local demo: a fake workload, Prometheus and Alertmanager on 127.0.0.1, an alert from fault to notification.

Kept free of heavy imports: the docker-compose exporter container imports
`generator.demo.exporter` with nothing but prometheus_client installed.
"""
