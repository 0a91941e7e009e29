"""`sloforge draft`: plan which SLOs to draft, call the model concurrently, check, store.

Each SLO's draft is written to its service's file as soon as it is accepted,
so a failure or interrupt midway keeps every draft already written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from generator.ai import checks
from generator.ai.client import FATAL_ERRORS, Usage, describe_error, make_client, request_draft
from generator.ai.context import fingerprint
from generator.ai.prompts import estimate_tokens, shared_prefix_tokens, user_message
from generator.ai.schema import DraftEntry, new_document
from generator.ai.store import DraftFile, draft_path, is_edited, read_draft_file, text_hash, write_draft_file
from generator.ai.toolcheck import apply_promtool
from generator.model.slo import SLO, Model
from generator.spec.errors import SpecErrors
from generator.tools.discovery import ToolNotFound


@dataclass(frozen=True)
class Options:
    model_id: str
    api_key: str | None
    force: bool = False
    concurrency: int = 4
    timeout: float = 120.0
    max_retries: int = 4
    max_tokens: int = 4096


class SelectionError(ValueError):
    """--service or --slo names nothing in the specs."""


def select(model: Model, services: tuple[str, ...], names: tuple[str, ...]) -> list[SLO]:
    known_services = {slo.service for slo in model.slos}
    for service in services:
        if service not in known_services:
            raise SelectionError(f"--service {service}: no such service; known: {', '.join(sorted(known_services))}")
    chosen = [slo for slo in model.slos if not services or slo.service in services]
    known_names = {slo.name for slo in chosen}
    for name in names:
        if name not in known_names:
            raise SelectionError(
                f"--slo {name}: no such SLO in the selected services; known: {', '.join(sorted(known_names))}"
            )
    return [slo for slo in chosen if not names or slo.name in names]


@dataclass(frozen=True)
class Step:
    slo: SLO
    draft: bool
    reason: str


def plan(model: Model, files: dict[str, DraftFile], selected: Iterable[SLO], force: bool) -> list[Step]:
    """Draft new and stale entries; keep reviewed, edited and current ones unless forced."""
    steps = []
    for slo in selected:
        loaded = files.get(slo.service)
        entry = loaded.doc.slos.get(slo.name) if loaded else None
        current = fingerprint(slo, model)
        if entry is None:
            steps.append(Step(slo, True, "no draft yet"))
        elif force:
            steps.append(Step(slo, True, "--force"))
        elif entry.reviewed:
            steps.append(Step(slo, False, "reviewed: kept (use --force to redraft)"))
        elif is_edited(entry):
            steps.append(Step(slo, False, "edited by people: kept (use --force to redraft)"))
        elif entry.fingerprint == current:
            steps.append(Step(slo, False, "up to date"))
        else:
            steps.append(Step(slo, True, "stale: the SLO changed since it was drafted"))
    return steps


@dataclass
class Report:
    drafted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rejected_slos: list[str] = field(default_factory=list)
    accepted_items: int = 0
    rejected_items: int = 0
    usage: Usage = field(default_factory=Usage)


def dry_run(steps: list[Step], model: Model, options: Options, console: Console) -> None:
    """What would be drafted and roughly how many tokens it costs; no network, no key needed."""
    prefix = shared_prefix_tokens()
    total_in = 0
    count = 0
    for step in steps:
        if not step.draft:
            console.print(f"skip   {step.slo.key}: {step.reason}")
            continue
        tokens = prefix + estimate_tokens(user_message(step.slo, model))
        total_in += tokens
        count += 1
        console.print(f"draft  {step.slo.key}: {step.reason}; ~{tokens} input tokens")
    console.print(
        f"dry run: would draft {count} SLO(s) with {options.model_id}: ~{total_in} input tokens "
        f"(~{prefix} of them per request are the cached system prompt and tool), "
        f"at most {count * options.max_tokens} output tokens (--max-tokens {options.max_tokens} each); "
        "estimates are characters/4. Nothing was sent or written."
    )


def run(steps: list[Step], model: Model, specs: Path, options: Options, console: Console) -> Report:
    report = Report()
    for step in steps:
        if not step.draft:
            console.print(f"skip   {step.slo.key}: {step.reason}")
    todo = [step.slo for step in steps if step.draft]
    if not todo:
        return report
    assert options.api_key is not None
    client = make_client(options.api_key, options.timeout, options.max_retries)
    lock = threading.Lock()
    stop = threading.Event()
    promtool_missing = threading.Event()

    def draft_one(slo: SLO) -> None:
        if stop.is_set():
            with lock:
                report.failed.append(slo.key)
                console.print(f"[red]failed[/red] {slo.key}: not sent after an earlier fatal error", markup=True)
            return
        try:
            answer = request_draft(client, options.model_id, slo, model, options.max_tokens)
        except FATAL_ERRORS as exc:
            stop.set()
            _failed(slo, describe_error(exc))
            return
        except Exception as exc:  # noqa: BLE001 - API and network errors are reported per SLO
            _failed(slo, describe_error(exc))
            return
        with lock:
            report.usage = report.usage + answer.usage
        if answer.problem:
            with lock:
                report.rejected_slos.append(slo.key)
                report.rejected_items += 1
                console.print(f"[yellow]rejected[/yellow] {slo.key}: {escape(answer.problem)}; skeleton text kept")
            return
        rules = checks.rules_for(slo, model)
        verdict = checks.judge(answer.data, rules)
        if not promtool_missing.is_set():
            try:
                apply_promtool(verdict)
            except ToolNotFound as exc:
                promtool_missing.set()
                console.print(f"warning: {escape(str(exc))}; drafted annotations were checked in-process only")
        with lock:
            report.accepted_items += verdict.accepted_items
            report.rejected_items += len(verdict.rejected)
            for reason in verdict.rejected:
                console.print(f"[yellow]rejected[/yellow] {slo.key}: {escape(reason)}; skeleton text kept")
            if not verdict.accepted_items:
                report.rejected_slos.append(slo.key)
                console.print(f"[yellow]rejected[/yellow] {slo.key}: nothing usable in the answer; no draft written")
                return
            entry = _entry(slo, model, options.model_id, verdict)
            problems = checks.check_entry(entry, rules)  # the check render applies to draft files
            if problems:
                report.rejected_slos.append(slo.key)
                for _, reason in problems:
                    console.print(f"[yellow]rejected[/yellow] {slo.key}: {escape(reason)}; no draft written")
                return
            try:
                path = _store(specs, slo, entry)
            except (SpecErrors, OSError) as exc:  # the draft file was broken or unwritable meanwhile
                report.failed.append(slo.key)
                console.print(f"[red]failed[/red] {slo.key}: cannot store the draft: {escape(str(exc))}")
                return
            report.drafted.append(slo.key)
            console.print(
                f"[green]drafted[/green] {slo.key} -> {path}: {verdict.accepted_items} item(s) accepted, "
                f"{len(verdict.rejected)} rejected",
                markup=True,
            )

    def _failed(slo: SLO, reason: str) -> None:
        with lock:
            report.failed.append(slo.key)
            console.print(f"[red]failed[/red] {slo.key}: {escape(reason)}", markup=True)

    columns = (TextColumn("drafting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress,
        ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool,
    ):
        task = progress.add_task("draft", total=len(todo))
        futures = [pool.submit(draft_one, slo) for slo in todo]
        try:
            for future in as_completed(futures):
                future.result()
                progress.advance(task)
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return report


def _entry(slo: SLO, model: Model, model_id: str, verdict: checks.Verdict) -> DraftEntry:
    entry = DraftEntry(
        reviewed=False,
        fingerprint=fingerprint(slo, model),
        model=model_id,
        alerts=verdict.alerts,
        runbook=verdict.runbook,
        rejected=verdict.rejected,
    )
    entry.text_hash = text_hash(entry)
    return entry


def _store(specs: Path, slo: SLO, entry: DraftEntry) -> Path:
    """Merge one entry into its service's draft file (read fresh, written atomically)."""
    path = draft_path(specs, slo.service)
    doc = read_draft_file(path, specs).doc if path.is_file() else new_document(slo.service)
    doc.slos[slo.name] = entry
    write_draft_file(path, doc)
    return path


def summary(report: Report) -> str:
    usage = report.usage
    return (
        f"draft: {len(report.drafted)} SLO(s) drafted, {len(report.rejected_slos)} rejected, "
        f"{len(report.failed)} failed; items: {report.accepted_items} accepted, {report.rejected_items} rejected; "
        f"tokens: {usage.input} input, {usage.output} output, {usage.cache_read} cache reads, "
        f"{usage.cache_write} cache writes"
    )
