"""``kverify check --format markdown``: a verdict table for a design review, and for each
counterexample a Mermaid sequence diagram of its hops with the addresses at every step, and, when the
caller wrote them (:func:`kverify.report.picture.write_pictures`), its picture as an SVG image."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kverify.check.findings import CheckResult, CheckRun
from kverify.report.check_text import allocated_line, summary_line, verdict_words
from kverify.report.placement_diagram import placement_diagram, placement_summary
from kverify.report.trace_text import is_reply, outcome_line
from kverify.results import Hop, Outcome
from kverify.verdicts import Refuted

_ICON = {"ok": "✅", "fail": "❌", "unknown": "❓"}
# Mermaid reads ';' as a statement end and '#' as an entity code; '<'/'>' could open HTML.
_UNSAFE = re.compile(r"[;#<>]")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _label(text: str) -> str:
    """``text`` safe in a Mermaid label: rewrites keep their arrow (``DNAT a → b``), the rest of
    ``;#<>`` becomes a comma."""
    return _UNSAFE.sub(",", text.replace("->", "→")).replace('"', "'").strip()


def sequence_diagram(outcome: Outcome) -> str:
    """The hops as a Mermaid ``sequenceDiagram``: one arrow per hop (dashed for the reply), a note for
    each rewrite, and the drop at the end when the packet is not delivered."""
    participants: dict[str, str] = {}

    def alias(place: str) -> str:
        if place not in participants:
            participants[place] = f"P{len(participants)}"
        return participants[place]

    body: list[str] = []
    hops: tuple[Hop, ...] = outcome.hops
    for i, hop in enumerate(hops):
        source = alias(hop.at)
        if hop.to == "(end)":
            body.append(f"    Note over {source}: {_label(hop.note or 'dropped')}")
            continue
        target = alias(hop.to)
        arrow = "-->>" if is_reply(outcome, i) else "->>"
        body.append(f"    {source}{arrow}{target}: src {_label(hop.src)} dst {_label(hop.dst)}")
        if hop.note:
            over = source if source == target else f"{source},{target}"
            body.append(f"    Note over {over}: {_label(hop.note)}")
    head = ["sequenceDiagram"] + [f"    participant {a} as {_label(place)}" for place, a in participants.items()]
    return "\n".join(head + body)


def _row(r: CheckResult) -> str:
    cx = r.verdict.counterexample.id if isinstance(r.verdict, Refuted) else ""
    link = f"[{cx}](#{cx})" if cx else ""
    return (
        f"| {_ICON[r.status]} | {_cell(r.origin)} | `{_cell(r.service)}` | {_cell(r.claim)}: {_cell(r.statement)} "
        f"| {r.expected} | {_cell(verdict_words(r))} | {link} |"
    )


def render(run: CheckRun, *, title: str = "kverify check", pictures: Mapping[str, str] | None = None) -> str:
    """The report; ``pictures`` maps a counterexample id to the link of its SVG picture (relative to
    where the report is read), shown under its sequence diagram."""
    lines = [f"# {title}", "", summary_line(run), ""]
    lines += ["| | Origin | Service | Claim | Expected | Verdict | Counterexample |", "|---|---|---|---|---|---|---|"]
    lines += [_row(r) for r in run.results]
    for r in run.results:
        if not isinstance(r.verdict, Refuted):
            continue
        cx = r.verdict.counterexample
        lines += ["", f'<a id="{cx.id}"></a>', f"## {cx.id}: {r.claim} ({r.service})", ""]
        lines.append(f"{r.statement} — **{verdict_words(r)}**.")
        lines += ["", f"- outcome: {outcome_line(cx.outcome)}"]
        if cx.detail:
            lines.append(f"- why: {cx.detail}")
        if r.context:
            lines.append(f"- context: {r.context}")
        if r.service_location:
            lines.append(f"- Service defined at `{r.service_location}`")
        if values := run.allocated_for(r.service):
            lines.append(f"- {allocated_line(values)}")
        if lb := run.load_balancer_of(r.service):
            lines.append(f"- load balancer: {lb[0]} ({lb[1]})")
        lines += [f"- reproduce: `{cx.command}`", "", "```mermaid", sequence_diagram(cx.outcome), "```"]
        if pictures and cx.id in pictures:
            lines += ["", f"![{cx.id}: the packet's path, with the addresses at every hop]({pictures[cx.id]})"]
        if cx.placement:  # design time: where the scheduler put the pods in this counterexample
            lines += ["", f"Placement: {placement_summary(cx)}", "", "```mermaid", placement_diagram(cx), "```"]
        if cx.manifest and f"{cx.id}.yaml" in cx.command:  # an inline topology: the command's manifest
            lines += [
                "",
                f"<details><summary>{cx.id}.yaml</summary>",
                "",
                "```yaml",
                cx.manifest.rstrip(),
                "```",
                "</details>",
            ]
    return "\n".join(lines) + "\n"
