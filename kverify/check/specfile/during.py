"""A claim's ``during:`` field: the change its claim must hold through (:mod:`kverify.change`).

``during: rollout`` (the rolling update of the Deployment behind the Service), ``during: drain`` (one
node), ``during: node-failure`` (one node dies: NotReady), or a mapping: ``{rollout: {}}``,
``{drain: {nodes: 2, by: autoscaler}}``, ``{nodeFailure: {nodes: 2}}``, each with an optional
``healthCheck:`` (a profile name, ``gcp``, ``aws-nlb``, ``azure``, ``metallb``, or ``{intervalSeconds,
timeoutSeconds, healthyThreshold, unhealthyThreshold}``) for a health-checked load balancer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kverify.change.timing import HealthCheckTiming, timing_from
from kverify.errors import InputError
from kverify.load.fields import Ctx, Path, invalid, unsupported

if TYPE_CHECKING:
    from kverify.change.controllers import Change

_KEYS = ("rollout", "drain", "nodeFailure", "healthCheck", "podStartSeconds")
_BY = ("kubectl", "autoscaler")


@attrs.frozen(kw_only=True)
class During:
    """The change, and the load balancer's health-check timing if the spec names one."""

    change: Change
    health_check: HealthCheckTiming | None = None
    #: Seconds a new pod takes to start before its readiness probe (None: the worst case, see decide).
    start_seconds: float | None = None

    def phrase(self) -> str:
        return f"during {self.change.describe()}"


def during_from(ctx: Ctx, raw: object, path: Path) -> During | None:
    """The ``during`` field of a claim (None when absent or invalid, with problems recorded)."""
    if raw is None:
        return None
    # Imported here: kverify.change loads the Z3 engine, which a spec without ``during`` (and every
    # ``kverify check`` of manifests, which reads this module) need not pay for at start-up.
    from kverify.change.controllers import Change

    if raw == "rollout":
        return During(change=Change(kind="rollout"))
    if raw == "drain":
        return During(change=Change(kind="drain", nodes=1))
    if raw == "node-failure":
        return During(change=Change(kind="failure", nodes=1))
    if type(raw) is not dict:
        ctx.error(path, unsupported(raw, ("rollout", "drain", "node-failure", "a mapping")))
        return None
    for key in raw:
        if key not in _KEYS:
            ctx.error((*path, str(key)), f"unknown field {key!r}: supported fields: {', '.join(_KEYS)}")
    kinds = [k for k in ("rollout", "drain", "nodeFailure") if k in raw]
    if len(kinds) != 1:
        ctx.error(path, "Required value: exactly one of `rollout`, `drain` or `nodeFailure`")
        return None
    change: Change | None = None
    if kinds[0] == "rollout":
        body = raw["rollout"]
        if body not in (None, {}):
            ctx.error((*path, "rollout"), invalid(body, "must be empty ({}): the rollout of the Service's Deployment"))
        change = Change(kind="rollout")
    elif kinds[0] == "nodeFailure":
        change = _failure(ctx, raw["nodeFailure"], (*path, "nodeFailure"))
        if change is None:
            return None
    else:
        body = raw["drain"] if raw["drain"] is not None else {}
        if type(body) is not dict:
            ctx.error((*path, "drain"), invalid(body, "must be a mapping"))
            return None
        for key in body:
            if key not in ("nodes", "by"):
                ctx.error((*path, "drain", str(key)), f"unknown field {key!r}: supported fields: nodes, by")
        nodes = body.get("nodes", 1)
        if type(nodes) is not int or nodes < 1:
            ctx.error((*path, "drain", "nodes"), invalid(nodes, "must be a whole number >= 1"))
            return None
        by = body.get("by", "kubectl")
        if by not in _BY:
            ctx.error((*path, "drain", "by"), unsupported(by, _BY))
            return None
        change = Change(kind="drain", nodes=nodes, by=by)
    timing = None
    if "healthCheck" in raw:
        try:
            timing = timing_from(raw["healthCheck"])
        except InputError as error:
            for p in error.problems:
                ctx.error((*path, "healthCheck"), p.message)
            return None
    start = raw.get("podStartSeconds")
    if start is not None and (type(start) not in (int, float) or not 0 <= start < 10**6):
        ctx.error((*path, "podStartSeconds"), invalid(start, "must be a number of seconds >= 0"))
        return None
    return During(change=change, health_check=timing, start_seconds=start)


def _failure(ctx: Ctx, raw: object, path: Path) -> Change | None:
    """``nodeFailure: {nodes: k}``: up to ``k`` nodes die at once (1 when empty)."""
    body = raw if raw is not None else {}
    if type(body) is not dict:
        ctx.error(path, invalid(body, "must be a mapping"))
        return None
    for key in body:
        if key != "nodes":
            ctx.error((*path, str(key)), f"unknown field {key!r}: supported fields: nodes")
    nodes = body.get("nodes", 1)
    if type(nodes) is not int or nodes < 1:
        ctx.error((*path, "nodes"), invalid(nodes, "must be a whole number >= 1"))
        return None
    from kverify.change.controllers import Change  # loads Z3: see during_from

    return Change(kind="failure", nodes=nodes)
