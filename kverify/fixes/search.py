"""The smallest sets of changes that make a refuted claim hold, each decided again by the same engine
that refuted it (the solver over every placement, or every outcome of a snapshot).

Single changes first; pairs only when no single change works, and only pairs with no single-change
fix inside them (so every set shown is minimal). A fix is shown only when its verdict is Proved:
Refuted and Unknown are not fixes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs

from kverify.check.findings import HOLDS
from kverify.check.specfile.model import Spec, SpecClaim
from kverify.fixes import edits
from kverify.fixes.candidates import Change, changes_for, shown_path
from kverify.fixes.goals import Goal, goal_for_claim
from kverify.verdicts import Proved, Refuted, Verdict

#: At most this many changes in one fix.
MAX_SET = 2


@attrs.frozen(kw_only=True)
class Fix:
    """A set of changes, the verdict of the claim with them made (Proved), and the patch."""

    changes: tuple[Change, ...]
    verdict: Verdict
    patch: str = ""
    #: Why part of the fix has no patch (inline topology, a file kverify cannot edit).
    no_patch: tuple[str, ...] = ()
    #: Commands that make the changes without a patch (``kubectl label node ...``).
    commands: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ClaimFixes:
    """The fixes found for one refuted claim or built-in finding, and the changes tried."""

    spec: str  # the spec's name, or "built-in" for manifests checked without a spec
    goal: Goal
    verdict: Verdict
    fixes: tuple[Fix, ...] = ()
    tried: tuple[str, ...] = ()


def _combined(spec: Spec, changes: Sequence[Change]) -> Spec:
    """The spec with every change of ``changes`` made (each was built on ``spec`` alone)."""
    if len(changes) == 1:
        return changes[0].spec
    out = spec
    for change in changes:
        out = attrs.evolve(
            out,
            cluster=_merge_cluster(spec.cluster, out.cluster, change.spec.cluster),
            workloads=tuple(
                n if n != o else w for w, o, n in zip(out.workloads, spec.workloads, change.spec.workloads, strict=True)
            ),
            node_pools=change.spec.node_pools if change.spec.node_pools != spec.node_pools else out.node_pools,
        )
    return out


def _merge_cluster(base, current, changed):  # type: ignore[no-untyped-def]
    """``current`` with what ``changed`` changed relative to ``base`` (services, nodes, proxy, load balancer)."""
    services = tuple(
        c if c != b else s for s, b, c in zip(current.services, base.services, changed.services, strict=True)
    )
    return attrs.evolve(
        current,
        services=services,
        nodes=changed.nodes if changed.nodes != base.nodes else current.nodes,
        proxy=changed.proxy if changed.proxy != base.proxy else current.proxy,
        load_balancer=changed.load_balancer if changed.load_balancer != base.load_balancer else current.load_balancer,
        load_balancer_explicit=changed.load_balancer_explicit or current.load_balancer_explicit,
    )


def _patch(changes: Sequence[Change], sources: edits.SourceTexts) -> tuple[str, tuple[str, ...]]:
    """The patch that makes ``changes`` in the user's files, and why any part of them has none.
    Each edit rewrites the YAML document of its object; the patch is the diff of those documents."""
    documents: dict[str, dict[int, tuple[int, str]]] = {}  # file -> begin -> (end, the document's text now)
    missing: list[str] = []
    for change in changes:
        if not change.edits:
            missing.append(f"{change.id}: {change.no_patch}")
        for edit in change.edits:
            try:
                source = sources.get(edit.file)
                begin, end = source.editable_document(edit.line)
                edited = documents.get(edit.file, {})
                text = edited[begin][1] if begin in edited else "".join(source.lines[begin:end])
                text = edit.apply(text, max(1, edit.line - begin))
            except edits.EditError as error:
                missing.append(f"{change.title}: {shown_path(edit.file)}: {error}")
                continue
            documents.setdefault(edit.file, edited)[begin] = (end, text)
    patch = "".join(sources.get(file).unified(shown_path(file), edited) for file, edited in documents.items())
    return patch, tuple(missing)


def fixes_for(spec: Spec, claim: SpecClaim, verdict: Verdict, sources: edits.SourceTexts | None = None) -> ClaimFixes:
    """The minimal sets of changes (up to MAX_SET) that make ``claim`` hold on ``spec`` (``sources``:
    the files read so far in this run, shared by the fixes of every claim)."""
    if claim.expect != HOLDS:
        return ClaimFixes(spec=spec.name, goal=goal_for_claim(claim), verdict=verdict)
    return fixes_for_goal(spec, goal_for_claim(claim), verdict, sources)


def fixes_for_goal(spec: Spec, goal: Goal, verdict: Verdict, sources: edits.SourceTexts | None = None) -> ClaimFixes:
    """The minimal sets of changes (up to MAX_SET) after which ``goal`` is decided Proved (``sources``:
    as for :func:`fixes_for`)."""
    sources = edits.SourceTexts() if sources is None else sources
    if not isinstance(verdict, Refuted):
        return ClaimFixes(spec=spec.name, goal=goal, verdict=verdict)
    candidates = changes_for(spec, goal.service)
    found: list[Fix] = []
    working: list[frozenset[str]] = []
    for size in range(1, MAX_SET + 1):
        for group in itertools.combinations(candidates, size):
            if len({c.target for c in group}) < size:
                continue  # two changes to one thing
            ids = frozenset(c.id + c.target for c in group)
            if any(w <= ids for w in working):
                continue  # a smaller fix is inside this set
            result = goal.decide(_combined(spec, group))
            if isinstance(result, Proved):
                working.append(ids)
                patch, missing = _patch(group, sources)
                commands = tuple(command for change in group for command in change.commands)
                found.append(Fix(changes=group, verdict=result, patch=patch, no_patch=missing, commands=commands))
        if found:
            break
    return ClaimFixes(
        spec=spec.name, goal=goal, verdict=verdict, fixes=tuple(found), tried=tuple(c.title for c in candidates)
    )
