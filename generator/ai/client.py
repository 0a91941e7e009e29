"""One Messages API call per SLO through the anthropic SDK (its timeouts and retries).

The SDK retries 408/409/429/5xx (529 overloaded included) with backoff and
honours `retry-after`; `ANTHROPIC_BASE_URL` points it at another endpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import cast

import anthropic
from anthropic.types import MessageParam, TextBlockParam, ToolChoiceToolParam, ToolParam

from generator.ai.defaults import API_KEY_ENV, BASE_URL_ENV
from generator.ai.prompts import SYSTEM_PROMPT, TOOL, TOOL_NAME, user_message
from generator.model.slo import SLO, Model

# Errors after which further requests cannot succeed either: stop the run.
FATAL_ERRORS = (anthropic.AuthenticationError, anthropic.PermissionDeniedError, anthropic.NotFoundError)


@dataclass(frozen=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
        )


@dataclass(frozen=True)
class Answer:
    """The tool input the model sent (untrusted), or why there is none."""

    data: object | None
    problem: str | None
    usage: Usage


def make_client(api_key: str, timeout: float, max_retries: int) -> anthropic.Anthropic:
    """Explicit key, so the SDK never falls back to profile or federation discovery."""
    return anthropic.Anthropic(
        api_key=api_key,
        base_url=os.environ.get(BASE_URL_ENV) or None,
        timeout=timeout,
        max_retries=max_retries,
    )


def request_draft(client: anthropic.Anthropic, model_id: str, slo: SLO, model: Model, max_tokens: int) -> Answer:
    """Ask for one SLO's draft with forced tool use; API errors propagate to the caller."""
    system: list[TextBlockParam] = [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
    tool_choice: ToolChoiceToolParam = {"type": "tool", "name": TOOL_NAME, "disable_parallel_tool_use": True}
    messages: list[MessageParam] = [{"role": "user", "content": user_message(slo, model)}]
    message = client.messages.create(
        model=model_id,
        max_tokens=max_tokens,
        system=system,
        tools=[cast(ToolParam, TOOL)],  # TOOL is plain data (prompts.py loads without the SDK)
        tool_choice=tool_choice,
        messages=messages,
    )
    usage = _usage(getattr(message, "usage", None))
    if not isinstance(getattr(message, "content", None), list):
        return Answer(None, "the API answered without message content", usage)
    if message.stop_reason == "max_tokens":
        return Answer(None, f"the answer was cut off at max_tokens={max_tokens}; raise --max-tokens", usage)
    for block in message.content:
        if block.type == "tool_use" and block.name == TOOL_NAME:
            data = block.input
            if isinstance(data, str):  # some gateways pass the arguments through as text
                return _parse_json(data, usage)
            return Answer(data, None, usage)
    text = "".join(block.text for block in message.content if block.type == "text")
    if not text.strip():
        return Answer(None, f"the model did not call {TOOL_NAME}", usage)
    return _parse_json(text, usage)


def _parse_json(text: str, usage: Usage) -> Answer:
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        return Answer(json.loads(body), None, usage)
    except json.JSONDecodeError as exc:
        return Answer(None, f"malformed JSON in the answer: {exc.msg} at line {exc.lineno} column {exc.colno}", usage)


def _usage(usage: object) -> Usage:
    def number(name: str) -> int:
        return int(getattr(usage, name, 0) or 0)

    return Usage(
        number("input_tokens"),
        number("output_tokens"),
        number("cache_read_input_tokens"),
        number("cache_creation_input_tokens"),
    )


def describe_error(exc: Exception) -> str:
    """One line for an API failure, after the SDK's own retries."""
    if isinstance(exc, anthropic.APITimeoutError):
        return "request timed out (raise --timeout, or --max-retries for flaky networks)"
    if isinstance(exc, anthropic.APIConnectionError):
        return f"cannot connect to the Messages API: {exc}"
    if isinstance(exc, anthropic.AuthenticationError):
        return f"the API rejected the key in {API_KEY_ENV} (401)"
    if isinstance(exc, anthropic.APIStatusError):
        return f"API error {exc.status_code}: {exc.message}"
    if isinstance(exc, ValueError):  # the SDK decodes the body itself
        return f"the API answered with malformed JSON: {exc}"
    return f"{type(exc).__name__}: {exc}"
