"""``kverify prove`` for people."""

from __future__ import annotations

from collections.abc import Sequence

from kverify.prove.claims import AddressClaim, Claim, SpreadClaim
from kverify.report.trace_text import outcome_line
from kverify.verdicts import Proved, Refuted, Unknown, Verdict


def render(results: Sequence[tuple[Claim | AddressClaim | SpreadClaim, Verdict, str]]) -> str:
    """``results``: (claim, verdict, expected) triples, in library order."""
    lines: list[str] = []
    current = None
    for claim, verdict, expected in results:
        if claim.id != current:
            current = claim.id
            lines.append(f"{claim.id}: {claim.statement}")
        matches = (verdict.verdict == "proved") == (expected == "holds") and not isinstance(verdict, Unknown)
        mark = "" if matches else f"   <-- expected it to {'hold' if expected == 'holds' else 'be refuted'}"
        dp = verdict.dataplane.spelling
        if isinstance(verdict, Proved):
            lines.append(f"  PROVED   {dp:12} {verdict.scope}{mark}")
            # What this proof leaves out because kverify does not model it (kverify.prove.run: the encoding
            # excludes it); the assumptions every proof makes are in the docs, not repeated on each line.
            lines.extend(f"             {a}" for a in verdict.assumptions if "not covered" in a)
        elif isinstance(verdict, Refuted):
            cx = verdict.counterexample
            lines.append(
                f"  REFUTED  {dp:12} counterexample {cx.id}: {cx.nodes} node(s), {cx.endpoints} endpoint(s){mark}"
            )
            lines.append(f"             {outcome_line(cx.outcome)}")
            if cx.detail:
                lines.append(f"             {cx.detail}")
            lines.extend(f"               {hop}" for hop in cx.outcome.hops)
            lines.append(f"             reproduce: {cx.command}")
        else:
            lines.append(f"  UNKNOWN  {dp:12} {verdict.reason}{mark}")
    proved = sum(isinstance(v, Proved) for _, v, _ in results)
    refuted = sum(isinstance(v, Refuted) for _, v, _ in results)
    unknown = sum(isinstance(v, Unknown) for _, v, _ in results)
    surprising = sum((v.verdict == "proved") != (e == "holds") or isinstance(v, Unknown) for _, v, e in results)
    lines.append(
        f"{len(results)} verdict{'' if len(results) == 1 else 's'}: "
        f"{proved} proved, {refuted} refuted, {unknown} unknown; "
        f"{surprising} differ from the library's expectation"
    )
    return "\n".join(lines)
