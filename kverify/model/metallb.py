"""MetalLB versions: which endpoints make a speaker announce a Service (rule ``lb-metallb-announce``).

A version is ``(minor, patch)`` of MetalLB v0.minor.patch. What changed across the modelled releases
is only which EndpointSlice conditions count as an endpoint that can take traffic
(``internal/k8s/epslices/endpoint_slices.go``, read at each tag in metallb/metallb):

- v0.13: ``IsConditionReady``: Ready (unset counts as Ready);
- v0.14.0 (commit 1f0fdf34, issue #2074): ``IsConditionServing``: the serving condition when set,
  else Ready, so an endpoint that is Ready only because of ``publishNotReadyAddresses`` (serving false)
  no longer counted;
- v0.14.5 (commit e2e07277): ``EndpointCanServe``: Ready or serving.
"""

from __future__ import annotations

#: Oldest and newest modelled MetalLB releases (v0.13.0 .. v0.16.1).
OLDEST_METALLB, NEWEST_METALLB = (13, 0), (16, 1)

#: Which endpoints count (``Situation.metallb_counts``): Ready only; serving (Ready when serving is unset);
#: Ready or serving.
READY_ONLY, SERVING, READY_OR_SERVING = 0, 1, 2
#: The first release of each rule.
SERVING_SINCE, READY_OR_SERVING_SINCE = (14, 0), (14, 5)


def counts(version: tuple[int, int]) -> int:
    """Which endpoint conditions MetalLB ``version`` counts (READY_ONLY, SERVING or READY_OR_SERVING)."""
    if version < SERVING_SINCE:
        return READY_ONLY
    if version < READY_OR_SERVING_SINCE:
        return SERVING
    return READY_OR_SERVING


#: A release that behaves as each rule (what a decoded counterexample names).
EXAMPLE = {READY_ONLY: (13, 12), SERVING: (14, 0), READY_OR_SERVING: NEWEST_METALLB}


def spell_metallb(version: tuple[int, int]) -> str:
    return f"MetalLB v0.{version[0]}.{version[1]}"


def parse_metallb_version(text: str) -> tuple[int, int]:
    """``"0.14.5"`` or ``"v0.14.5"`` -> ``(14, 5)``; ``"0.13"`` -> ``(13, 0)``. v0.14 changed at a patch release,
    so it needs its patch. ``ValueError`` naming the modelled range."""
    parts = text.strip().removeprefix("v").split(".")
    oldest, newest = OLDEST_METALLB[0], NEWEST_METALLB[0]
    supported = f"supported values: 0.{oldest}.0 through 0.{newest}.x (the MetalLB versions kverify models)"
    if len(parts) not in (2, 3) or parts[0] != "0" or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"Unsupported value: {text!r}: {supported}")
    minor, patch = int(parts[1]), int(parts[2]) if len(parts) == 3 else 0
    if not OLDEST_METALLB[0] <= minor <= NEWEST_METALLB[0]:
        raise ValueError(f"Unsupported value: {text!r}: {supported}")
    if len(parts) == 2 and minor == SERVING_SINCE[0]:
        raise ValueError(
            f"Invalid value: {text!r}: give the patch release: MetalLB's endpoint conditions changed in v0.14.5 "
            "(e.g. 0.14.4 or 0.14.5)"
        )
    return minor, patch
