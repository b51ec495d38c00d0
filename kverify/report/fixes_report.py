"""Fixes in the ``kverify check`` reports: each set of changes, its re-decided verdict, its trade-off,
and the patch against the user's files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kverify.fixes import ClaimFixes
from kverify.fixes.edits import apply_command


def _head(c: ClaimFixes) -> str:
    return f"{c.spec}/{c.goal.id} ({c.goal.service})"


def render_text(found: Sequence[ClaimFixes]) -> str:
    lines: list[str] = []
    for c in found:
        lines += ["", f"fixes for {c.goal.kind} {_head(c)}, refuted:"]
        if not c.fixes:
            lines.append(f"  none found among {len(c.tried)} change(s) tried (and pairs of them):")
            lines += [f"    - {t}" for t in c.tried]
            continue
        for i, fix in enumerate(c.fixes, 1):
            lines.append(f"  {i}. " + " AND ".join(ch.title for ch in fix.changes))
            lines.append(f"     proved again: {fix.verdict.scope}")  # type: ignore[union-attr]
            lines += [f"     trade-off: {ch.trade_off}" for ch in fix.changes]
            lines += [f"     no patch: {why}" for why in fix.no_patch]
            lines += [f"     run: {command}" for command in fix.commands]
            if fix.patch:
                lines.append(f"     patch (apply with {apply_command(fix.patch)}):")
            lines += [f"     {line}" for line in fix.patch.splitlines()]
    return "\n".join(lines)


def render_markdown(found: Sequence[ClaimFixes]) -> str:
    lines: list[str] = []
    if found:
        lines += ["", "## Fixes"]
    for c in found:
        lines += ["", f"### {_head(c)}", "", f"{c.goal.kind.capitalize()}: {c.goal.statement}", ""]
        if not c.fixes:
            lines.append(f"No change among these (alone or in pairs) makes it hold: {'; '.join(c.tried)}.")
            continue
        for i, fix in enumerate(c.fixes, 1):
            lines.append(
                f"{i}. **{' and '.join(ch.title for ch in fix.changes)}** — proved again over {fix.verdict.scope}."
            )  # type: ignore[union-attr]
            lines += [f"   - trade-off: {ch.trade_off}" for ch in fix.changes]
            lines += [f"   - no patch: {why}" for why in fix.no_patch]
            if fix.commands:
                lines += ["", "   ```sh", *[f"   {command}" for command in fix.commands], "   ```"]
            if fix.patch:
                lines += [
                    "",
                    f"   Apply with `{apply_command(fix.patch)}`:",
                    "",
                    "   ```diff",
                    *[f"   {line}" for line in fix.patch.splitlines()],
                    "   ```",
                ]
    return "\n".join(lines)


def to_json(found: Sequence[ClaimFixes]) -> list[dict[str, Any]]:
    """The fixes as ``kverify check --format json --fixes`` reports them (``fixes`` in the report)."""
    return [
        {
            "origin": c.spec,
            "kind": c.goal.kind,
            "claim": c.goal.id,
            "service": c.goal.service,
            "statement": c.goal.statement,
            "fixes": [
                {
                    "changes": [
                        {"id": ch.id, "title": ch.title, "trade_off": ch.trade_off, "target": ch.target}
                        for ch in fix.changes
                    ],
                    "verdict": fix.verdict.to_json(),
                    "patch": fix.patch,
                    "no_patch": list(fix.no_patch),
                    "commands": list(fix.commands),
                }
                for fix in c.fixes
            ],
            "tried": list(c.tried),
        }
        for c in found
    ]
