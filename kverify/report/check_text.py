"""``kverify check`` for a terminal: results grouped by input and Service, then one summary line.

Passing results take one line; a failing or unknown one shows its counterexample's outcome, its
hops with every address, and the command that reproduces it. Colour only when asked (a TTY).
"""

from __future__ import annotations

from itertools import groupby

from kverify.findings import BUILT_IN, CheckResult, CheckRun
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
    label = _paint(f"{_LABEL[r.status]:8}", r.status, colour)
    lines = [f"    {label}{r.claim}: {r.statement}  [{verdict_words(r)}]"]
    v = r.verdict
    if isinstance(v, Proved) and (verbose or r.status != "ok"):
        lines.append(f"             scope: {v.scope}")
    if isinstance(v, Refuted):
        cx = v.counterexample
        lines.append(f"             counterexample {cx.id}: {outcome_line(cx.outcome)}")
        if cx.detail:
            lines.append(f"             {cx.detail}")
        if r.status != "ok" or verbose:
            if r.context:
                lines.append(f"             {r.context}")
            lines.extend(_paint(f"               {hop}", "dim", colour) for hop in cx.outcome.hops)
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
            for r in items:
                lines.extend(result_lines(r, colour, verbose))
    lines.append(summary_line(run))
    return "\n".join(lines)


def allocated_line(values: tuple[tuple[str, str], ...]) -> str:
    """``allocated at apply time (not in the manifests): spec.clusterIP 10.104.3.7, ...``"""
    return "allocated at apply time (not in the manifests): " + ", ".join(f"{p} {v}" for p, v in values)


def summary_line(run: CheckRun) -> str:
    s = run.summary()
    return (
        f"{s['results']} result(s): {s['ok']} as expected, {s['failed']} failed, {s['unknown']} unknown; "
        f"built-in checks: {s['builtin_passed']} check(s) without findings over {s['services_checked']} service(s)"
    )
