"""What changes between two revisions: behaviour per (Service, entry point, client kind, port), and
the verdicts of the specs' claims.

Only Services whose inputs differ (:func:`~kverify.diff.revision.shared_inputs`,
:func:`~kverify.diff.revision.service_inputs`) are decided again, so
the work grows with the size of the change, not of the manifests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from kverify.check.findings import CheckResult
from kverify.diff.behaviour import Kind, Observed, Probe, observe, probes
from kverify.diff.revision import Revision, service_inputs, shared_inputs
from kverify.model import Service


@attrs.frozen(kw_only=True)
class BehaviourChange:
    """One probe whose kinds of outcome differ (``before``/``after`` None: the entry point is absent)."""

    probe: Probe
    before: Observed | None
    after: Observed | None
    service_line: str | None = None  # where the Service is defined on the new side (else the old)

    @property
    def gained(self) -> tuple[Kind, ...]:
        old = set(self.before.kinds) if self.before else set()
        return tuple(k for k in (self.after.kinds if self.after else ()) if k not in old)

    @property
    def lost(self) -> tuple[Kind, ...]:
        new = set(self.after.kinds) if self.after else set()
        return tuple(k for k in (self.before.kinds if self.before else ()) if k not in new)

    def headlines(self) -> list[str]:
        """The changes in a reviewer's words, one per attribute that changed."""
        if self.before is None:
            return ["new entry point"]
        if self.after is None:
            return ["entry point removed"]
        out: list[str] = []
        b, a = self.before, self.after
        if b.unknown and a.unknown:  # nothing decided on either side: say so, never "unchanged"
            if b.unknown == a.unknown:
                return [f"unknown before and now: {a.unknown}"]
            return [f"unknown before ({b.unknown}) and now ({a.unknown})"]
        if (b.unknown or None) != (a.unknown or None):
            out.append(f"unknown before: {b.unknown}" if b.unknown else f"unknown now: {a.unknown}")
        drops_b, drops_a = _values(b.kinds, "drop"), _values(a.kinds, "drop")
        for drop in sorted(drops_a - drops_b):
            kind = Kind(delivered=False, drop=drop)
            out.append(f"now {kind.phrase()} {a.witness(kind).short()}")
        for drop in sorted(drops_b - drops_a):
            out.append(f"no longer {Kind(delivered=False, drop=drop).phrase()}")
        health_b, health_a = _values(b.kinds, "health"), _values(a.kinds, "health")
        for status in sorted(health_a - health_b):
            kind = Kind(delivered=True, health=status)
            out.append(f"now: {kind.phrase()} {a.witness(kind).short()}")
        for status in sorted(health_b - health_a):
            out.append(f"no longer: {Kind(delivered=True, health=status).phrase()}")
        if health_a or health_b:
            return out or ["the kinds of outcome differ"]
        delivered_b, delivered_a = any(k.delivered for k in b.kinds), any(k.delivered for k in a.kinds)
        if delivered_b != delivered_a:
            out.append("now delivered" if delivered_a else "never delivered now")
        for attribute, subject, words in _ATTRIBUTES:
            before, after = _values(b.kinds, attribute), _values(a.kinds, attribute)
            if before and after and before != after:
                out.append(f"{subject}: {_words(before, words)} -> {_words(after, words)}")
        if b.dropped_share != a.dropped_share and b.dropped_share is not None and a.dropped_share is not None:
            out.append(f"connections not delivered: {_percent(b.dropped_share)} -> {_percent(a.dropped_share)}")
        if b.share_ratio != a.share_ratio and not b.design_time and not a.design_time:
            out.append(f"largest/smallest pod share: {_ratio(b)} -> {_ratio(a)}")
        if b.design_time and a.design_time and _worst(b) != _worst(a) and b.share_placement and a.share_placement:
            out.append(
                f"worst largest/smallest pod share over placements: {_worst(b)} -> {_worst(a)} "
                f"(placement: {a.share_placement})"
            )
        return out or ["the kinds of outcome differ"]


def _values(kinds: Iterable[Kind], attribute: str) -> set[Any]:
    return {getattr(k, attribute) for k in kinds if getattr(k, attribute) is not None}


#: (Kind attribute, subject, (word when always true, always false, either)).
_ATTRIBUTES = (
    ("client_ip_kept", "client IP", ("kept", "replaced", "kept on some paths, replaced on others")),
    ("crosses_nodes", "path", ("always crosses nodes", "stays on the arrival node", "sometimes crosses nodes")),
    ("reply_ok", "reply", ("reaches the client", "does not reach the client", "reaches the client on some paths")),
)


def _words(values: set[Any], words: tuple[str, str, str]) -> str:
    if values == {True}:
        return words[0]
    return words[1] if values == {False} else words[2]


def _worst(o: Observed) -> str:
    if o.share_placement is None:
        return "not decided"
    return "infinite (a Ready pod gets nothing)" if o.share_ratio is None else f"{float(o.share_ratio):.2f}"


def _percent(x: object) -> str:
    return f"{float(x) * 100:.0f}%"  # type: ignore[arg-type]


def _ratio(o: Observed) -> str:
    if o.share_ratio is not None:
        return f"{float(o.share_ratio):.2f}"
    return "n/a (no Ready pod)" if o.no_ready_pod else "n/a (a Ready pod gets nothing)"


@attrs.frozen(kw_only=True)
class ClaimChange:
    """A spec claim whose verdict differs (or that exists on one side only)."""

    origin: str
    claim: str
    service: str
    statement: str
    before: CheckResult | None
    after: CheckResult | None

    @property
    def verdict_changed(self) -> bool:
        return self.before is not None and self.after is not None and _word(self.before) != _word(self.after)

    @property
    def before_word(self) -> str:
        return _word(self.before) if self.before else "absent"

    @property
    def after_word(self) -> str:
        return _word(self.after) if self.after else "absent"


def _word(result: CheckResult) -> str:
    return result.verdict.verdict


@attrs.frozen(kw_only=True)
class Diff:
    """Everything ``kverify diff`` found."""

    old: str
    new: str
    changes: tuple[BehaviourChange, ...] = ()
    claims: tuple[ClaimChange, ...] = ()
    added_services: tuple[str, ...] = ()
    removed_services: tuple[str, ...] = ()
    services_compared: int = 0
    services_unchanged: int = 0

    @property
    def verdicts_changed(self) -> tuple[ClaimChange, ...]:
        return tuple(c for c in self.claims if c.verdict_changed)


def diff(old: Revision, new: Revision, progress: Callable[[int, int], None] | None = None) -> Diff:
    """Compare two revisions (see the module docstring)."""
    old_keys, new_keys = set(old.service_keys), set(new.service_keys)
    keys = sorted(old_keys | new_keys)
    changes: list[BehaviourChange] = []
    unchanged = 0
    shared_same: bool | None = None  # whether the inputs every Service shares are equal: asked once
    for i, key in enumerate(keys):
        if progress is not None:
            progress(i, len(keys))
        before_service, after_service = old.service(key), new.service(key)
        if before_service is not None and after_service is not None:
            assert old.design is not None and new.design is not None
            if shared_same is None:
                shared_same = shared_inputs(old.design) == shared_inputs(new.design)
            if shared_same and service_inputs(old.design, before_service) == service_inputs(new.design, after_service):
                unchanged += 1
                continue
        before = {p: p for p in probes(before_service)} if before_service is not None else {}
        after = {p: p for p in probes(after_service)} if after_service is not None else {}
        line = new.service_lines.get(key) or old.service_lines.get(key)
        for probe in sorted(set(before) | set(after)):
            b = _observe(old, before_service, probe, before)
            a = _observe(new, after_service, probe, after)
            if b is not None and a is not None and _same(b, a):
                continue
            changes.append(BehaviourChange(probe=probe, before=b, after=a, service_line=line))
    if progress is not None:
        progress(len(keys), len(keys))
    return Diff(
        old=old.label,
        new=new.label,
        changes=tuple(changes),
        claims=tuple(_claim_changes(old.claims, new.claims)),
        added_services=tuple(sorted(new_keys - old_keys)),
        removed_services=tuple(sorted(old_keys - new_keys)),
        services_compared=len(keys),
        services_unchanged=unchanged,
    )


def _observe(side: Revision, service: Service | None, probe: Probe, offered: dict[Probe, Probe]) -> Observed | None:
    if probe not in offered or side.design is None or service is None:
        return None
    return observe(side.design, service, probe)


def _same(b: Observed, a: Observed) -> bool:
    """Equal kinds of outcome (and, when both sides are snapshots, equal shares). Undecided on both
    sides is never the same: the reviewer is told kverify could not say, not that nothing changed."""
    if set(b.kinds) != set(a.kinds) or b.unknown is not None or a.unknown is not None:
        return False
    if b.design_time and a.design_time:  # the worst share over placements, where both were decided
        return not (b.share_placement and a.share_placement and _worst(b) != _worst(a))
    if b.design_time or a.design_time:
        return True  # a snapshot's shares and a design's worst share are not comparable
    return (b.share_ratio, b.dropped_share) == (a.share_ratio, a.dropped_share)


def _claim_changes(old: Iterable[CheckResult], new: Iterable[CheckResult]) -> list[ClaimChange]:
    def key(r: CheckResult) -> tuple[str, str, str]:
        return (r.origin, r.claim, r.service)

    before = {key(r): r for r in old}
    after = {key(r): r for r in new}
    out: list[ClaimChange] = []
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        if b is not None and a is not None and _word(b) == _word(a):
            continue
        statement = (a or b).statement  # type: ignore[union-attr]
        out.append(ClaimChange(origin=k[0], claim=k[1], service=k[2], statement=statement, before=b, after=a))
    return out
