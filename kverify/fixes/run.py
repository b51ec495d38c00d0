"""Fixes for the failing claims of one ``kverify check`` run."""

from __future__ import annotations

from collections.abc import Sequence

from kverify.check.findings import HOLDS, CheckRun
from kverify.fixes.search import ClaimFixes, fixes_for


def fixes_in_run(paths: Sequence[str], run: CheckRun) -> list[ClaimFixes]:
    """For each spec claim of ``run`` that should hold and is refuted, the smallest fixes."""
    from kverify.check.session import split_inputs
    from kverify.check.specfile import load_spec
    from kverify.verdicts import Refuted

    failing = [r for r in run.failed if r.expected == HOLDS and isinstance(r.verdict, Refuted)]
    if not failing:
        return []
    spec_files, _ = split_inputs(paths)
    specs = {spec.name: spec for spec in (load_spec(f) for f in spec_files)}
    out: list[ClaimFixes] = []
    for result in failing:
        spec = specs.get(result.origin)
        claim = next((c for c in spec.claims if c.id == result.claim), None) if spec is not None else None
        if spec is not None and claim is not None:  # built-in checks have no spec claim to fix (yet)
            out.append(fixes_for(spec, claim, result.verdict))
    return out
