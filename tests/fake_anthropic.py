"""A local stand-in for the Anthropic Messages API: real HTTP on 127.0.0.1, no network.

The real `anthropic` client talks to it through `base_url` / ANTHROPIC_BASE_URL.
By default it answers every request with a good draft built from the SLO
context in the request; tests queue other replies per SLO (errors, slow
answers, malformed or hostile content) to exercise the drafting pass.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "sk-ant-test-fake-key"


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict -> JSON, str -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict

    @property
    def slo_key(self) -> str:
        context = slo_context(self.body)
        return f"{context['service']}/{context['slo']}"


def slo_context(body: dict) -> dict:
    """The JSON SLO context sloforge puts into the user message."""
    text = body["messages"][0]["content"]
    start = text.index("```json\n") + len("```json\n")
    return json.loads(text[start : text.index("\n```", start)])


def good_answer(context: dict) -> dict:
    """A draft that passes every check: allowed template actions, known metrics only."""
    ratio = next(series for series in context["recorded_series"] if series.startswith("slo:sli_error:ratio_rate"))
    name = f"{context['service']}/{context['slo']}"
    return {
        "alerts": [
            {
                "tier": tier["name"],
                "summary": f"{name}: drafted summary for {tier['name']}",
                "description": (
                    f"Drafted: {{{{ $labels.slo_service }}}} burns its budget at {{{{ $value | humanize }}}}x "
                    f"the sustainable rate ({tier['name']})."
                ),
            }
            for tier in context["tiers"]
        ],
        "runbook": {
            "likely_causes": [f"Drafted cause for {name}: a bad deploy."],
            "triage": [f"Drafted triage for {name}: check the burn rate."],
            "mitigation": [f"Drafted mitigation for {name}: roll back."],
            "investigation": [{"title": "Drafted: worst hour today", "query": f"max_over_time({ratio}[1d:5m])"}],
        },
    }


def message(tool_input: object, usage: dict | None = None, stop_reason: str = "tool_use") -> dict:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-fake",
        "content": [{"type": "tool_use", "id": "toolu_fake", "name": "record_draft", "input": tool_input}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 20},
    }


def text_message(text: str) -> dict:
    body = message({})
    body["content"] = [{"type": "text", "text": text}]
    body["stop_reason"] = "end_turn"
    return body


def error(status: int, kind: str, text: str, retry_after_ms: int | None = 10) -> Reply:
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    return Reply(status, {"type": "error", "error": {"type": kind, "message": text}}, headers)


class FakeAnthropic:
    """Start with `with FakeAnthropic() as fake:`; point clients at `fake.url`."""

    def __init__(self, api_key: str = API_KEY):
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.script: dict[str, list[Reply]] = {}  # SLO key -> replies used before the default one
        self.answer: Callable[[dict], dict] = good_answer
        self._lock = threading.Lock()
        self._cached = False
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # wakes handlers that simulate a slow answer
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def requests_for(self, slo_key: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == "/v1/messages" and request.slo_key == slo_key]

    def _authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("x-api-key") == self.api_key or headers.get("authorization") == f"Bearer {self.api_key}"

    def _reply(self, path: str, headers: dict[str, str], body: dict) -> Reply:
        if not self._authorized(headers):
            return error(401, "authentication_error", "invalid x-api-key", None)
        if path != "/v1/messages":
            return error(404, "not_found_error", f"no route {path}", None)
        if "anthropic-version" not in headers:
            return error(400, "invalid_request_error", "anthropic-version header is required", None)
        try:
            context = slo_context(body)
            key = f"{context['service']}/{context['slo']}"
        except (KeyError, IndexError, TypeError, ValueError):
            return error(400, "invalid_request_error", "expected one user message with the SLO context", None)
        with self._lock:
            queued = self.script.get(key)
            if queued:
                return queued.pop(0)
            system = body.get("system") or []
            cached = bool(system) and isinstance(system, list) and "cache_control" in system[-1]
            prefix = sum(len(block["text"]) for block in system) // 4 if cached else 0
            usage = {
                "input_tokens": len(body["messages"][0]["content"]) // 4,
                "output_tokens": 321,
                "cache_read_input_tokens": prefix if self._cached else 0,
                "cache_creation_input_tokens": 0 if self._cached else prefix,
            }
            self._cached = self._cached or cached
        return Reply(200, message(self.answer(context), usage))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.requests.append(Recorded(path, headers, body))
                reply = fake._reply(path, headers, body)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = payload.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.send_header("request-id", "req_fake")
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
                return

        return Handler
