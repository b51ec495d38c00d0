"""A workload's rollout strategy, readiness and termination timing -> :class:`Lifecycle`.

Read from ``spec.strategy`` and ``spec.minReadySeconds`` (Deployment) and from the pod template's
``terminationGracePeriodSeconds``, containers' ``lifecycle.preStop`` and ``readinessProbe``. Bad values
are errors in the API server's words (``pkg/apis/apps/validation/validation.go``
``ValidateRollingUpdateDeployment``, ``ValidatePositiveIntOrPercent``, ``IsNotMoreThan100Percent``).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from kverify.load.fields import Ctx, Path, invalid
from kverify.model.workload import Lifecycle

_PERCENT = re.compile(r"^(\d+)%$")
_PERCENT_MESSAGE = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)
#: An exec PreStop hook kverify can time: ``sleep N``, bare or under ``sh -c``.
_SLEEP = re.compile(r"^\s*(?:exec\s+)?sleep\s+(\d+)(?:s)?\s*$")


def lifecycle_from(ctx: Ctx, spec: dict[str, Any], pod: dict[str, Any], kind: str, pod_path: Path) -> Lifecycle:
    """The workload's :class:`Lifecycle` (defaults where a field is absent)."""
    surge: int | str = "25%"
    unavailable: int | str = "25%"
    recreate = False
    min_ready = 0
    if kind == "Deployment":
        strategy = ctx.mapping(spec, "strategy", ("spec",))
        kind_word = strategy.get("type", "RollingUpdate")
        if kind_word not in ("RollingUpdate", "Recreate"):
            ctx.error(
                ("spec", "strategy", "type"),
                f'Unsupported value: {kind_word!r}: supported values: "Recreate", "RollingUpdate"',
            )
        recreate = kind_word == "Recreate"
        rolling = ctx.mapping(strategy, "rollingUpdate", ("spec", "strategy"))
        rpath: Path = ("spec", "strategy", "rollingUpdate")
        if recreate and rolling:
            ctx.error(rpath, "Forbidden: may not be specified when strategy `type` is 'Recreate'")
        surge = _int_or_percent(ctx, rolling, "maxSurge", rpath, surge)
        unavailable = _int_or_percent(ctx, rolling, "maxUnavailable", rpath, unavailable)
        if isinstance(unavailable, str) and int(unavailable[:-1]) > 100:
            ctx.error((*rpath, "maxUnavailable"), invalid(unavailable, "must not be greater than 100%"))
        if not recreate and _zero(surge) and _zero(unavailable):
            ctx.error((*rpath, "maxUnavailable"), invalid(unavailable, "may not be 0 when `maxSurge` is 0"))
        min_ready = _seconds(ctx, spec, "minReadySeconds", ("spec",), 0)
    on_delete = False
    if kind == "DaemonSet":
        strategy = ctx.mapping(spec, "updateStrategy", ("spec",))
        kind_word = strategy.get("type", "RollingUpdate")
        if kind_word not in ("RollingUpdate", "OnDelete"):
            ctx.error(
                ("spec", "updateStrategy", "type"),
                f'Unsupported value: {kind_word!r}: supported values: "OnDelete", "RollingUpdate"',
            )
        on_delete = kind_word == "OnDelete"
        rolling = ctx.mapping(strategy, "rollingUpdate", ("spec", "updateStrategy"))
        rpath = ("spec", "updateStrategy", "rollingUpdate")
        surge = _int_or_percent(ctx, rolling, "maxSurge", rpath, 0)
        unavailable = _int_or_percent(ctx, rolling, "maxUnavailable", rpath, 1)
        if not on_delete and _zero(surge) and _zero(unavailable):
            ctx.error((*rpath, "maxUnavailable"), invalid(unavailable, "may not be 0 when `maxSurge` is 0"))
        min_ready = _seconds(ctx, spec, "minReadySeconds", ("spec",), 0)
    grace = _seconds(ctx, pod, "terminationGracePeriodSeconds", pod_path, 30)
    containers = [c for c in ctx.list_of(pod, "containers", pod_path) if type(c) is dict]
    serving = [c for c in containers if c.get("ports")] or containers  # the containers that take traffic
    pre_stops = [_pre_stop(ctx, c, (*pod_path, "containers", containers.index(c))) for c in serving]
    pre_stop: int | None = 0
    if pre_stops:
        pre_stop = None if any(p is None for p in pre_stops) else min(p for p in pre_stops if p is not None)
    ready_after = max([_ready_after(ctx, c, (*pod_path, "containers", containers.index(c))) for c in containers] or [0])
    return Lifecycle(
        max_surge=surge,
        max_unavailable=unavailable,
        recreate=recreate,
        on_delete=on_delete,
        min_ready_seconds=min_ready,
        termination_grace_seconds=grace,
        pre_stop_seconds=pre_stop,
        ready_after_seconds=ready_after,
    )


def _zero(value: int | str) -> bool:
    return value == 0 or value == "0%"


def _int_or_percent(ctx: Ctx, m: dict[str, Any], key: str, path: Path, default: int | str) -> int | str:
    value = m.get(key)
    if value is None:
        return default
    if type(value) is int and value >= 0:
        return value
    if type(value) is str and _PERCENT.match(value):
        return value
    message = "must be greater than or equal to 0" if type(value) is int else _PERCENT_MESSAGE
    ctx.error((*path, key), invalid(value, message))
    return default


def _seconds(ctx: Ctx, m: dict[str, Any], key: str, path: Path, default: int) -> int:
    value = m.get(key)
    if value is None:
        return default
    if type(value) is not int or value < 0:
        ctx.error((*path, key), invalid(value, "must be greater than or equal to 0"))
        return default
    return value


def _pre_stop(ctx: Ctx, container: dict[str, Any], path: Path) -> int | None:
    """Seconds the container's PreStop hook keeps it serving: its sleep; 0 without a hook; None when
    the hook is something else (an HTTP call, a script): its duration is not known."""
    hook = ctx.mapping(ctx.mapping(container, "lifecycle", path), "preStop", (*path, "lifecycle"))
    if not hook:
        return 0
    hpath: Path = (*path, "lifecycle", "preStop")
    sleep = ctx.mapping(hook, "sleep", hpath)
    if sleep:
        seconds = sleep.get("seconds")
        if type(seconds) is not int or seconds < 0:
            ctx.error((*hpath, "sleep", "seconds"), invalid(seconds, "must be greater than or equal to 0"))
            return 0
        return seconds
    command = ctx.strings(ctx.mapping(hook, "exec", hpath), "command", (*hpath, "exec"))
    if command:
        words = command
        if len(command) == 3 and command[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash") and command[1] == "-c":
            try:
                words = shlex.split(command[2])
            except ValueError:
                return None
        text = " ".join([words[0].rsplit("/", 1)[-1], *words[1:]]) if words else ""
        match = _SLEEP.match(text)
        return int(match.group(1)) if match else None
    return None


def _ready_after(ctx: Ctx, container: dict[str, Any], path: Path) -> int:
    """``initialDelaySeconds`` + (``successThreshold`` - 1) x ``periodSeconds`` of the readiness probe
    (API defaults: 0, 1 and 10, ``pkg/apis/core/v1/defaults.go`` SetDefaults_Probe)."""
    probe = ctx.mapping(container, "readinessProbe", path)
    if not probe:
        return 0
    ppath: Path = (*path, "readinessProbe")
    delay = _seconds(ctx, probe, "initialDelaySeconds", ppath, 0)
    period = _seconds(ctx, probe, "periodSeconds", ppath, 10)
    success = _seconds(ctx, probe, "successThreshold", ppath, 1)
    return delay + max(success - 1, 0) * period
