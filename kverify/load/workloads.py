"""Workloads (Deployments, StatefulSets, ReplicaSets, ReplicationControllers, DaemonSets, bare Pods) and
HPAs -> model values.

What is read is what the scheduler and the EndpointSlice controller read from a pod template: its
labels, its containers' ports, ``hostNetwork``, its replicas, and the scheduling terms
(:mod:`kverify.load.scheduling`). Bad values are errors in the API server's words
(``pkg/apis/core/validation/validation.go`` ``validateContainerPorts``; ``pkg/apis/apps/validation``
``ValidateDeploymentSpec``; ``pkg/apis/autoscaling/validation``) with the field's full path.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from kverify.load.fields import Ctx, Path, invalid
from kverify.load.lifecycle import lifecycle_from
from kverify.load.scheduling import ALL_NAMESPACES, label_selector, scheduling_from, string_map
from kverify.model.enums import Protocol
from kverify.model.workload import ContainerPort, PodAffinityTerm, Workload, WorkloadKind

KINDS = {k.spelling: k for k in WorkloadKind}
_IANA_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z")


@attrs.frozen
class HpaRecord:
    """An HPA's target (``Kind name``, in the HPA's namespace) and its ``minReplicas``."""

    namespace: str
    name: str
    target: str
    min_replicas: int


def workload_from(ctx: Ctx, obj: dict[str, Any], kind: str, namespace: str, name: str) -> Workload | None:
    """One workload; ``None`` (with problems recorded) when it is invalid."""
    before = len(ctx.problems)
    spec = ctx.mapping(obj, "spec", ())
    if kind == "Pod":
        base: Path = ()
        meta, pod = ctx.mapping(obj, "metadata", ()), spec
        replicas: int | None = 1
        source = "a bare Pod"
    else:
        base = ("spec", "template")
        template = ctx.mapping(spec, "template", ("spec",))
        if not template and not ctx.problems[before:]:
            ctx.error(("spec", "template"), "Required value")
        meta = ctx.mapping(template, "metadata", base)
        pod = ctx.mapping(template, "spec", base)
        replicas, source = _replicas(ctx, spec, kind)
    pod_path: Path = (*base, "spec")
    labels = string_map(ctx, meta, "labels", (*base, "metadata"))
    if kind == "ReplicationController":
        _check_rc_selector(ctx, spec, labels)
    elif kind != "Pod":
        _check_selector(ctx, spec, labels)
    ports = _container_ports(ctx, pod, pod_path)
    host_network = ctx.boolean(pod, "hostNetwork", pod_path) is True
    scheduling = scheduling_from(ctx, pod, pod_path, labels)
    lifecycle = lifecycle_from(ctx, spec, pod, kind, pod_path)
    if len(ctx.problems) != before:
        return None
    return Workload(
        kind=KINDS[kind],
        namespace=namespace,
        name=name,
        replicas=replicas,
        replicas_source=source,
        labels=tuple(labels.items()),
        ports=ports,
        host_network=host_network,
        scheduling=scheduling,
        lifecycle=lifecycle,
    )


def hpa_from(ctx: Ctx, obj: dict[str, Any], namespace: str, name: str) -> HpaRecord | None:
    """An HPA's ``scaleTargetRef`` and ``minReplicas`` (``ValidateHorizontalPodAutoscalerSpec``)."""
    before = len(ctx.problems)
    spec = ctx.mapping(obj, "spec", ())
    ref = ctx.mapping(spec, "scaleTargetRef", ("spec",))
    if not ref:
        ctx.error(("spec", "scaleTargetRef"), "Required value")
    kind = ctx.string(ref, "kind", ("spec", "scaleTargetRef"), required=bool(ref))
    target = ctx.string(ref, "name", ("spec", "scaleTargetRef"), required=bool(ref))
    low = _integer(ctx, spec, "minReplicas", ("spec",), default=1, minimum=1)
    high = _integer(ctx, spec, "maxReplicas", ("spec",), default=None, minimum=1)
    if spec.get("maxReplicas") is None:
        ctx.error(("spec", "maxReplicas"), "Required value")
    elif low is not None and high is not None and high < low:
        ctx.error(("spec", "maxReplicas"), invalid(high, "must be greater than or equal to `minReplicas`"))
    if len(ctx.problems) != before or kind is None or target is None or low is None:
        return None
    return HpaRecord(namespace=namespace, name=name, target=f"{kind} {target}", min_replicas=low)


def every_namespace(workload: Workload, namespaces: tuple[str, ...]) -> Workload:
    """Replace :data:`ALL_NAMESPACES` in the workload's pod-affinity terms by ``namespaces``."""
    s = workload.scheduling

    def fix(terms: tuple[PodAffinityTerm, ...]) -> tuple[PodAffinityTerm, ...]:
        return tuple(attrs.evolve(t, namespaces=namespaces) if ALL_NAMESPACES in t.namespaces else t for t in terms)

    if not any(ALL_NAMESPACES in t.namespaces for t in (*s.anti_affinity, *s.affinity)):
        return workload
    return attrs.evolve(
        workload, scheduling=attrs.evolve(s, anti_affinity=fix(s.anti_affinity), affinity=fix(s.affinity))
    )


# -- replicas, selector, ports ---------------------------------------------------------------------


def _integer(ctx: Ctx, m: dict[str, Any], key: str, path: Path, *, default: int | None, minimum: int) -> int | None:
    """An optional int32 field of at least ``minimum``."""
    value = m.get(key)
    if value is None:
        return default
    if type(value) is not int:
        ctx.error((*path, key), invalid(value, "must be an integer"))
    elif value < minimum:
        ctx.error((*path, key), invalid(value, f"must be greater than or equal to {minimum}"))
    elif value > 2**31 - 1:
        ctx.error((*path, key), invalid(value, "must be at most 2147483647"))
    else:
        return value
    return None


def _replicas(ctx: Ctx, spec: dict[str, Any], kind: str) -> tuple[int | None, str]:
    if kind == "DaemonSet":
        return None, "one per eligible node"
    if spec.get("replicas") is None:
        return 1, "default 1"
    return _integer(ctx, spec, "replicas", ("spec",), default=1, minimum=0), "spec.replicas"


def _check_selector(ctx: Ctx, spec: dict[str, Any], labels: dict[str, str]) -> None:
    """apps/v1 requires ``spec.selector``, and it must select the template's labels."""
    if spec.get("selector") is None:
        ctx.error(("spec", "selector"), "Required value")
        return
    selector = label_selector(ctx, spec, "selector", ("spec",))
    if selector is None:
        return
    if not selector.requirements:
        ctx.error(("spec", "selector"), invalid(spec["selector"], "empty selector is invalid for deployment"))
    elif not selector.matches(labels):
        ctx.error(
            ("spec", "template", "metadata", "labels"),
            invalid(labels, "`selector` does not match template `labels`"),
        )


def _check_rc_selector(ctx: Ctx, spec: dict[str, Any], labels: dict[str, str]) -> None:
    """A ReplicationController's ``spec.selector`` is a plain map, defaulted to the template's labels
    when empty (``pkg/apis/core/v1/defaults.go`` ``SetDefaults_ReplicationController``), then required
    and matching them (``pkg/apis/core/validation`` ``ValidateReplicationControllerSpec``)."""
    selector = string_map(ctx, spec, "selector", ("spec",)) or labels
    if not selector:
        ctx.error(("spec", "selector"), "Required value")
    elif any(labels.get(k) != v for k, v in selector.items()):
        ctx.error(
            ("spec", "template", "metadata", "labels"),
            invalid(labels, "`selector` does not match template `labels`"),
        )


def _container_ports(ctx: Ctx, pod: dict[str, Any], path: Path) -> tuple[ContainerPort, ...]:
    """Every container's ports (``FindPort`` looks through all containers of the pod)."""
    containers = ctx.list_of(pod, "containers", path)
    if not containers and pod.get("containers") in (None, []):
        ctx.error((*path, "containers"), "Required value")
    out: list[ContainerPort] = []
    for i, container in enumerate(containers):
        cpath: Path = (*path, "containers", i)
        if type(container) is not dict:
            ctx.error(cpath, invalid(container, "must be a mapping"))
            continue
        ctx.string(container, "name", cpath, required=True)
        names: set[str] = set()
        for j, port in enumerate(ctx.list_of(container, "ports", cpath)):
            ppath: Path = (*cpath, "ports", j)
            if type(port) is not dict:
                ctx.error(ppath, invalid(port, "must be a mapping"))
                continue
            number = ctx.port(port, "containerPort", ppath, required=True, zero_unset=False)
            protocol = ctx.enum(port, "protocol", ppath, Protocol, Protocol.TCP)
            name = ctx.string(port, "name", ppath) or ""
            if name and (message := _port_name_problem(name)):
                ctx.error((*ppath, "name"), invalid(name, message))
            elif name in names:
                ctx.error((*ppath, "name"), f'Duplicate value: "{name}"')
            if name:
                names.add(name)
            if number is not None:
                out.append(ContainerPort(name=name, port=number, protocol=protocol))
    return tuple(out)


def _port_name_problem(name: str) -> str | None:
    """``validation.IsValidPortName`` (IANA_SVC_NAME)."""
    if len(name) > 15:
        return "must be no more than 15 characters"
    if not _IANA_SVC_NAME.match(name):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if "--" in name:
        return "must not contain consecutive hyphens"
    if not re.search("[a-z]", name):
        return "must contain at least one letter (a-z)"
    return None
