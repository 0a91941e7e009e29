"""The drafting pass: LLM-written prose for annotations and runbooks, reviewed by people."""
