"""``kverify check`` for a terminal: results grouped by input and Service, then one summary line.

Passing results take one line; a failing or unknown one shows its counterexample's outcome, its
hops with every address, and the command that reproduces it. Colour only when asked (a TTY).
"""

from __future__ import annotations

from itertools import groupby

from kverify.check.findings import BUILT_IN, CheckResult, CheckRun
from kverify.report.trace_text import outcome_line
from kverify.verdicts import Proved, Refuted, Unknown

_COLOURS = {"ok": "32", "fail": "31;1", "unknown": "33;1", "dim": "2"}
_LABEL = {"ok": "ok", "fail": "FAIL", "unknown": "UNKNOWN"}


def _paint(text: str, colour: str, on: bool) -> str:
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m" if on else text


def verdict_words(result: CheckResult) -> str:
    """E.g. ``refuted, as expected`` or ``proved, expected refuted``."""
    v = result.verdict
    word = v.verdict
    if isinstance(v, Unknown):
        return f"unknown{', allowed by the spec' if result.allow_unknown else ''}: {v.reason}"
    expected = "holds" if isinstance(v, Proved) else "refuted"
    return (
        f"{word}, as expected"
        if expected == result.expected
        else f"{word}, expected it to {'hold' if result.expected == 'holds' else 'be refuted'}"
    )


def result_lines(r: CheckResult, colour: bool = False, verbose: bool = False) -> list[str]:
    """One result: its label and statement, then (failing, or ``verbose``) its scope or counterexample
    with every hop and the command that reproduces it. Used by the report and the pytest plugin."""
    status = r.status  # a property: asked once (a check of a snapshot lists hundreds of results)
    label = _paint(f"{_LABEL[status]:8}", status, colour)
    lines = [f"    {label}{r.claim}: {r.statement}  [{verdict_words(r)}]"]
    v = r.verdict
    if isinstance(v, Proved) and (verbose or status != "ok"):
        lines.append(f"             scope: {v.scope}")
    if isinstance(v, Proved) and v.assumptions and (verbose or r.statement.startswith("during ")):
        # A change's proof carries its figures (worst-case seconds dropped, the health-check window).
        lines.extend(f"             {a}" for a in (v.assumptions if verbose else v.assumptions[:1]))
    if isinstance(v, Refuted):
        cx = v.counterexample
        lines.append(f"             counterexample {cx.id}: {outcome_line(cx.outcome)}")
        if cx.detail:
            lines.append(f"             {cx.detail}")
        if status != "ok" or verbose:
            if r.context:
                lines.append(f"             {r.context}")
            lines.extend(_paint(f"               {hop}", "dim", colour) for hop in cx.trace_lines())
            lines.append(f"             reproduce: {cx.command}")
    return lines


def render(run: CheckRun, *, colour: bool = False, verbose: bool = False) -> str:
    lines: list[str] = []
    for origin, group in groupby(run.results, key=lambda r: r.origin):
        results = list(group)
        title = "built-in checks" if origin == BUILT_IN else f"spec {origin}"
        lines.append(_paint(title, "dim", colour) if not colour else f"\x1b[1m{title}\x1b[0m")
        for service, in_service in groupby(sorted(results, key=lambda r: r.service), key=lambda r: r.service):
            items = list(in_service)
            where = items[0].service_location
            lines.append(f"  {service}" + (f"  ({where})" if where else ""))
            if values := run.allocated_for(service):
                lines.append(_paint(f"    {allocated_line(values)}", "dim", colour))
            if lb := run.load_balancer_of(service):
                lines.append(_paint(f"    load balancer: {lb[0]} ({lb[1]})", "dim", colour))
            for r in items:
                lines.extend(result_lines(r, colour, verbose))
    lines.append(summary_line(run))
    return "\n".join(lines)


def allocated_line(values: tuple[tuple[str, str], ...]) -> str:
    """``allocated at apply time (not in the manifests): spec.clusterIP 10.104.3.7, ...``"""
    return "allocated at apply time (not in the manifests): " + ", ".join(f"{p} {v}" for p, v in values)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def idle_words(run: CheckRun) -> str:
    """``3 Services had nothing to check (2 ClusterIP only, 1 no endpoints and no workload)``, or ``""``."""
    from kverify.check.idle import tally

    pairs = tally(reason for reason, count in run.nothing_to_check for _ in range(count))
    total = sum(count for _, count in pairs)
    if not total:
        return ""
    why = ", ".join(f"{count} {reason}" for reason, count in pairs)
    return f"{_count(total, 'Service')} had nothing to check ({why})"


def summary_line(run: CheckRun) -> str:
    """What the run did, in one line a reviewer skimming CI logs cannot misread: the verdicts, then how
    many Services were looked at, how many checks applied and found something, and why the others had
    nothing to check. A run that checked nothing says so first. The same words go into Markdown and JSON."""
    s = run.summary()
    parts = [f"{_count(s['services_checked'], 'Service')} looked at"]
    if s["claims"]:
        parts.append(f"{_count(s['claims'], 'spec claim')} decided")
    if s["builtin_services"] and not s["builtin_applied"]:
        parts.append("built-in checks: none applied")
    elif s["builtin_services"]:
        # An Unknown result is listed with the findings, but it found nothing: it could not decide.
        undecided = sum(r.origin == BUILT_IN and r.status == "unknown" for r in run.results)
        could_not = f"{undecided} could not be decided, " if undecided else ""
        parts.append(
            f"built-in checks: {s['builtin_applied']} applied, {s['builtin_found'] - undecided} found something, "
            f"{could_not}{s['builtin_passed']} found nothing wrong"
        )
    if idle := idle_words(run):
        parts.append(idle)
    detail = "; ".join(parts)
    if run.nothing_checked:
        return (
            f"NOTHING CHECKED: no spec claim and no built-in check applied; {detail}. "
            "Not a pass (--allow-nothing-checked accepts it)."
        )
    verdicts = f"{_count(s['results'], 'result')}: {s['ok']} as expected, {s['failed']} failed, {s['unknown']} unknown"
    return f"{verdicts}; {detail}."
