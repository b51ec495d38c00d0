"""``kverify diff`` reports: text for people, JSON for tools, Markdown for a pull-request comment
(with a Mermaid sequence diagram of each outcome that appears or disappears)."""

from __future__ import annotations

import json
from typing import Any

from kverify.diff.behaviour import Kind, Observed, Witness
from kverify.diff.compare import BehaviourChange, ClaimChange, Diff
from kverify.report.markdown import sequence_diagram
from kverify.report.trace_text import outcome_line

MARKER = "<!-- kverify-diff -->"  # lets a CI job find and update its own comment


def summary_line(d: Diff) -> str:
    services = len({c.probe.service for c in d.changes})
    flipped = len(d.verdicts_changed)
    return (
        f"{services} Service(s) change behaviour on {len(d.changes)} path(s); {flipped} spec claim(s) change verdict; "
        f"{d.services_compared} Service(s) compared, {d.services_unchanged} with unchanged inputs"
    )


def _side(o: Observed | None) -> list[str]:
    if o is None:
        return ["(no such entry point)"]
    lines = [k.phrase() for k in o.kinds]
    if o.unknown:
        lines.append(f"UNKNOWN: {o.unknown}")
    return lines or ["(no outcome)"]


def _where(w: Witness) -> str:
    if w.placement is not None and w.outcome.node:
        return f"at {w.outcome.node}, placement {w.placement}"
    return w.where()


def _witnessed(change: BehaviourChange) -> list[tuple[str, Kind, Witness]]:
    """(sign, kind, witness): ``+`` for each kind only after, ``-`` for each kind only before."""
    out: list[tuple[str, Kind, Witness]] = []
    if change.after is not None:
        out += [("+", k, change.after.witness(k)) for k in change.gained]
    if change.before is not None:
        out += [("-", k, change.before.witness(k)) for k in change.lost]
    return out


def _mode(change: BehaviourChange) -> str:
    sides = [o for o in (change.before, change.after) if o is not None]
    if all(o.design_time for o in sides):
        return "over every placement"
    if not any(o.design_time for o in sides):
        return "on the snapshot"
    return "placements before, snapshot after" if change.before and change.before.design_time else "snapshot before"


def render_text(d: Diff, *, hops: bool = True) -> str:
    lines = [f"kverify diff {d.old} -> {d.new}"]
    for key in d.added_services:
        lines.append(f"  + Service {key} (new)")
    for key in d.removed_services:
        lines.append(f"  - Service {key} (removed)")
    service = None
    for change in d.changes:
        p = change.probe
        if p.service != service:
            service = p.service
            lines += ["", p.service + (f"  ({change.service_line})" if change.service_line else "")]
        lines.append(f"  {p.entry} from {p.client_word}  [{_mode(change)}]")
        lines += [f"    {h}" for h in change.headlines()]
        lines += [f"    before: {s}" for s in _side(change.before)]
        lines += [f"    after:  {s}" for s in _side(change.after)]
        for sign, kind, w in _witnessed(change):
            lines.append(f"    {sign} {kind.phrase()}: {_where(w)}")
            lines.append(f"        {outcome_line(w.outcome)}")
            if hops:
                lines += [f"          {hop}" for hop in w.hop_lines()]
    if d.claims:
        lines += ["", "spec claims"]
        for c in d.claims:
            flag = "CHANGED" if c.verdict_changed else "       "
            lines.append(f"  {flag} {c.origin}/{c.claim} ({c.service}): {c.before_word} -> {c.after_word}{_expect(c)}")
            lines.append(f"           {c.statement}")
    lines += ["", summary_line(d)]
    return "\n".join(lines)


def _expect(c: ClaimChange) -> str:
    """Whether the new verdict is the one the spec expects."""
    if c.after is None:
        return ""
    return f"  [expected: {c.after.expected}, {'as expected' if c.after.passed else 'now FAILS'}]"


def _observed_json(o: Observed | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {
        "design_time": o.design_time,
        "scope": o.scope,
        "unknown": o.unknown,
        "kinds": [k.to_json() for k in o.kinds],
        "share_ratio": None if o.share_ratio is None else str(o.share_ratio),
        "dropped_share": None if o.dropped_share is None else str(o.dropped_share),
        "share_placement": o.share_placement,
    }


def _witness_json(sign: str, kind: Kind, w: Witness) -> dict[str, Any]:
    return {
        "change": "appears" if sign == "+" else "disappears",
        "kind": kind.to_json(),
        "nodes": list(w.nodes),
        "node_count": w.node_count,
        "placement": w.placement,
        "allocated": sorted(w.allocated),
        "outcome": w.outcome.to_json(),
    }


def _claim_json(c: ClaimChange) -> dict[str, Any]:
    return {
        "origin": c.origin,
        "claim": c.claim,
        "service": c.service,
        "statement": c.statement,
        "before": c.before_word,
        "after": c.after_word,
        "verdict_changed": c.verdict_changed,
        "expected": (c.after or c.before).expected,  # type: ignore[union-attr]
        "passes_now": None if c.after is None else c.after.passed,
    }


#: The document's schema: ``kverify/data/diff-report.schema.json`` (a copy is published in docs/).
SCHEMA = "https://kverify.io/schemas/diff-report-v1.json"


def render_json(d: Diff) -> str:
    document = {
        "$schema": SCHEMA,
        "version": 1,
        "old": d.old,
        "new": d.new,
        "summary": {
            "paths_changed": len(d.changes),
            "services_changed": len({c.probe.service for c in d.changes}),
            "claims_changed_verdict": len(d.verdicts_changed),
            "services_compared": d.services_compared,
            "services_unchanged": d.services_unchanged,
        },
        "added_services": list(d.added_services),
        "removed_services": list(d.removed_services),
        "changes": [
            {
                "service": c.probe.service,
                "entry_point": c.probe.destination.spelling,
                "client": c.probe.client_word,
                "port": c.probe.port,
                "protocol": c.probe.protocol.spelling,
                "service_location": c.service_line,
                "headlines": c.headlines(),
                "before": _observed_json(c.before),
                "after": _observed_json(c.after),
                "witnesses": [_witness_json(*t) for t in _witnessed(c)],
            }
            for c in d.changes
        ],
        "claims": [_claim_json(c) for c in d.claims],
    }
    return json.dumps(document, indent=2)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


#: GitHub refuses comments over 65,536 characters.
COMMENT_LIMIT = 65_000


def _section(c: BehaviourChange) -> list[str]:
    """One changed path: the headlines, before and after side by side, and a Mermaid diagram of each
    outcome that appears (those that disappear are folded)."""
    p = c.probe
    where = f" (`{c.service_line}`)" if c.service_line else ""
    lines = ["", f"### `{p.service}` {p.entry} from {p.client_word}"]
    lines += ["", f"{'; '.join(c.headlines())}{where}; decided {_mode(c)}.", ""]
    lines += ["| Before | After |", "|---|---|"]
    before, after = _side(c.before), _side(c.after)
    for i in range(max(len(before), len(after))):
        left = _cell(before[i]) if i < len(before) else ""
        right = _cell(after[i]) if i < len(after) else ""
        lines.append(f"| {left} | {right} |")
    for sign, kind, w in _witnessed(c):
        diagram = [f"`{_cell(outcome_line(w.outcome))}`"]
        if w.outcome.hops:  # a health check's answer has no path to draw
            diagram += ["", "```mermaid", sequence_diagram(w.outcome), "```"]
        if sign == "+":
            lines += ["", f"**Now: {kind.phrase()}** — {_cell(_where(w))}", "", *diagram]
        else:
            summary = f"No longer: {kind.phrase()} — {_cell(_where(w))}"
            lines += ["", f"<details><summary>{summary}</summary>", "", *diagram, "", "</details>"]
    return lines


def render_markdown(d: Diff) -> str:
    lines = [MARKER, f"## kverify diff `{d.old}` → `{d.new}`", "", summary_line(d) + "."]
    if d.claims:
        lines += ["", "| | Spec / claim | Service | Before | After | Statement |", "|---|---|---|---|---|---|"]
        for c in d.claims:
            icon = "❗" if c.verdict_changed else "➕" if c.before is None else "➖"
            lines.append(
                f"| {icon} | `{_cell(c.origin)}/{_cell(c.claim)}` | `{c.service}` | {c.before_word} "
                f"| {c.after_word}{_cell(_expect(c))} "
                f"| {_cell(c.statement)} |"
            )
    if d.added_services or d.removed_services:
        lines += [""] + [f"- new Service `{k}`" for k in d.added_services]
        lines += [f"- removed Service `{k}`" for k in d.removed_services]
    if d.changes:
        lines += ["", "| Service | Entry point | Client | What changes |", "|---|---|---|---|"]
        for change in d.changes:
            p = change.probe
            lines.append(f"| `{p.service}` | {p.entry} | {p.client_word} | {_cell('; '.join(change.headlines()))} |")
    sections = [_section(c) for c in d.changes]
    budget = COMMENT_LIMIT - sum(len(line) + 1 for line in lines) - 500
    for i, section in enumerate(sections):
        size = sum(len(line) + 1 for line in section)
        if size > budget:
            lines += ["", f"*{len(sections) - i} more path(s) left out to fit a comment: see the text or JSON report.*"]
            break
        budget -= size
        lines += section
    if not d.changes and not d.claims:
        lines += ["", "No change in behaviour."]
    return "\n".join(lines) + "\n"
