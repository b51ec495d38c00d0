"""The changes kverify tries when a claim is refuted, each with what it costs.

A candidate changes the spec's model (the Service, the workloads behind it, the environment) and says
how to make the same change in the user's files. Whether it fixes the claim is never assumed: the
search (:mod:`kverify.fixes.search`) decides the claim again on the changed model.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from kverify.check.specfile.model import Spec
from kverify.fixes import edits
from kverify.model import Dataplane, LoadBalancerProfile, ServiceType, TrafficPolicy
from kverify.model.workload import HOSTNAME_LABEL, LabelSelector, SpreadConstraint, Workload, WorkloadKind
from kverify.placement.design import at_design_time, selected_workloads

TextEdit = edits.TextEdit


@attrs.frozen(kw_only=True)
class Change:
    """One applicable change: the spec with it made, and the edits to the user's files."""

    id: str
    title: str  # what to change, in Kubernetes words
    trade_off: str
    spec: Spec
    #: The edits to the user's files; empty with ``no_patch`` saying why there is no patch.
    edits: tuple[TextEdit, ...] = ()
    no_patch: str = ""
    #: Changes that touch the same thing (one of a pair would undo the other).
    target: str = ""
    #: Commands that make the change on a live cluster, where a patch to files makes no sense (Node labels).
    commands: tuple[str, ...] = ()


def _service_edit(spec: Spec, key: str, field: str, value: str) -> tuple[tuple[TextEdit, ...], str]:
    where = spec.service_lines.get(key)
    if spec.manifests is None or where is None:
        return (), f"the Service is in the spec's inline topology: set {field}: {value} there"
    edit = TextEdit(where.file, where.line, lambda text, line: edits.set_field(text, line, ("spec",), field, value))
    return (edit,), ""


def _env_edit(spec: Spec, field: str, value: str) -> tuple[TextEdit, ...]:
    if not spec.file:
        return ()  # manifests checked without a spec: the environment is the command line's
    return (TextEdit(spec.file, 1, lambda text, line: edits.set_field(text, line, ("environment",), field, value)),)


def _env_no_patch(spec: Spec, flag: str) -> str:
    return "" if spec.file else f"a property of the cluster, not of the manifests: check them with {flag}"


def _workload_line(spec: Spec, w: Workload) -> tuple[str, int] | None:
    where = spec.object_lines.get(f"{w.kind.spelling} {w.namespace}/{w.name}") if spec.manifests else None
    return None if where is None else (where.file, where.line)


def _policy(spec: Spec, service_key: str) -> list[Change]:
    service = spec.cluster.service(service_key)
    if service is None or service.type is ServiceType.CLUSTER_IP:
        out: list[Change] = []
    else:
        local = service.external_traffic_policy is TrafficPolicy.LOCAL
        new = TrafficPolicy.CLUSTER if local else TrafficPolicy.LOCAL
        changed = attrs.evolve(service, external_traffic_policy=new)
        trade = (
            "the pod sees a node's address instead of the client's (SNAT), and a connection may cross nodes"
            if local
            else "a node without a Ready pod drops the traffic it receives unless the load balancer probes the "
            "healthCheckNodePort; pods on busy nodes get more of the load"
        )
        found, why = _service_edit(spec, service.key, "externalTrafficPolicy", new.spelling)
        out = [
            Change(
                id=f"external-traffic-policy-{new.spelling.lower()}",
                title=f"set externalTrafficPolicy: {new.spelling} on Service {service.key}",
                trade_off=trade,
                spec=_with_service(spec, changed),
                edits=found,
                no_patch=why,
                target="externalTrafficPolicy",
            )
        ]
    if service is not None and service.internal_traffic_policy is TrafficPolicy.LOCAL:
        changed = attrs.evolve(service, internal_traffic_policy=TrafficPolicy.CLUSTER)
        found, why = _service_edit(spec, service.key, "internalTrafficPolicy", "Cluster")
        out.append(
            Change(
                id="internal-traffic-policy-cluster",
                title=f"set internalTrafficPolicy: Cluster on Service {service.key}",
                trade_off="in-cluster traffic may leave the client's node",
                spec=_with_service(spec, changed),
                edits=found,
                no_patch=why,
                target="internalTrafficPolicy",
            )
        )
    return out


def _with_service(spec: Spec, service: object) -> Spec:
    services = tuple(service if s.key == service.key else s for s in spec.cluster.services)  # type: ignore[attr-defined]
    return attrs.evolve(spec, cluster=attrs.evolve(spec.cluster, services=services))


def _environment(spec: Spec, service_key: str) -> list[Change]:
    out: list[Change] = []
    cluster = spec.cluster
    if cluster.load_balancer_for(cluster.service(service_key)) is not LoadBalancerProfile.HEALTH_CHECKED:
        checked = attrs.evolve(cluster, load_balancer=LoadBalancerProfile.HEALTH_CHECKED, load_balancer_explicit=True)
        out.append(
            Change(
                id="health-checked-load-balancer",
                title="put the Service behind a load balancer that probes its healthCheckNodePort "
                "(the cloud default; spec: environment.loadBalancer: health-checked)",
                trade_off="until the probe fails (interval x unhealthy threshold), a node that lost its last "
                "Ready pod still receives traffic; hardware LBs and some annotations do not probe",
                spec=attrs.evolve(spec, cluster=checked),
                edits=_env_edit(spec, "loadBalancer", "health-checked"),
                no_patch=_env_no_patch(spec, "--load-balancer health-checked"),
                target="loadBalancer",
            )
        )
    if cluster.proxy.dataplane is not Dataplane.CILIUM_DSR:
        proxy = attrs.evolve(cluster.proxy, dataplane=Dataplane.CILIUM_DSR)
        out.append(
            Change(
                id="cilium-dsr",
                title="run Cilium's kube-proxy replacement in DSR mode (spec: environment.dataplane: cilium-dsr)",
                trade_off="keeps the client IP without eTP Local; needs native routing (or Geneve DSR) and a "
                "fabric that lets replies leave from the pod's node with the Service address",
                spec=attrs.evolve(spec, cluster=attrs.evolve(cluster, proxy=proxy)),
                edits=_env_edit(spec, "dataplane", "cilium-dsr"),
                no_patch=_env_no_patch(spec, "--dataplane cilium-dsr"),
                target="dataplane",
            )
        )
    return out


def _workloads(spec: Spec, service_key: str) -> list[Change]:
    service = spec.cluster.service(service_key)
    if service is None or not at_design_time(spec.design, service):
        return []
    out: list[Change] = []
    for w in selected_workloads(spec.design, service):
        if w.kind in (WorkloadKind.DAEMON_SET, WorkloadKind.POD):
            continue
        where = _workload_line(spec, w)
        daemon = attrs.evolve(w, kind=WorkloadKind.DAEMON_SET, replicas=None, replicas_source="one per node")
        found: tuple[TextEdit, ...] = ()
        if where is not None:
            file, line = where

            def to_daemonset(text: str, line: int) -> str:
                text = edits.set_field(text, line, (), "kind", "DaemonSet")
                for field in ("replicas", "strategy", "progressDeadlineSeconds", "paused"):
                    text = edits.delete_field(text, line, ("spec",), field)
                return text

            found = (TextEdit(file, line, to_daemonset),)
        out.append(
            Change(
                id="daemonset",
                title=f"run {w.kind.spelling} {w.namespace}/{w.name} as a DaemonSet",
                trade_off="one pod on every node it may run on: capacity follows the node count, not a replica "
                "count, and a rollout replaces pods node by node",
                spec=_with_workload(spec, w, daemon),
                edits=found,
                no_patch="" if found else "the workload is not in a manifest file kverify can edit",
                target=f"workload {w.key}",
            )
        )
        nodes = _fixed_node_count(spec)
        if nodes is not None and w.replicas is not None and w.replicas < nodes:
            # The Service's selector, not the template's labels: those often carry a version, which
            # would split old and new pods into two spreads during a rollout.
            pods = dict(service.selector or w.labels)
            spread = SpreadConstraint(max_skew=1, topology_key=HOSTNAME_LABEL, selector=LabelSelector.of(pods))
            scheduling = attrs.evolve(w.scheduling, spread=(*w.scheduling.spread, spread))
            more = attrs.evolve(w, replicas=nodes, replicas_source="spec.replicas", scheduling=scheduling)
            found = ()
            if where is not None:
                file, line = where
                labels = pods

                def raise_and_spread(text: str, line: int, n: int = nodes, labels: dict = labels) -> str:  # type: ignore[type-arg]
                    text = edits.set_field(text, line, ("spec",), "replicas", str(n))
                    return edits.add_spread(text, line, labels)

                found = (TextEdit(file, line, raise_and_spread),)
            out.append(
                Change(
                    id="replicas-per-node",
                    title=f"raise {w.kind.spelling} {w.namespace}/{w.name} to {nodes} replicas, spread one per node "
                    "(topologySpreadConstraints on kubernetes.io/hostname, maxSkew 1, DoNotSchedule)",
                    trade_off=f"{nodes} pods to run; a node added later has none until replicas are raised again "
                    "(a DaemonSet follows the nodes)",
                    spec=_with_workload(spec, w, more),
                    edits=found,
                    no_patch="" if found else "the workload is not in a manifest file kverify can edit",
                    target=f"workload {w.key}",
                )
            )
    return out


def _fixed_node_count(spec: Spec) -> int | None:
    """The largest number of nodes the spec allows, when it says (Nodes, or node pools)."""
    if spec.cluster.nodes:
        return len(spec.cluster.nodes)
    if spec.node_pools:
        return sum(p.max_count for p in spec.node_pools)
    return None


def _with_workload(spec: Spec, old: Workload, new: Workload) -> Spec:
    return attrs.evolve(spec, workloads=tuple(new if w == old else w for w in spec.workloads))


def candidates() -> tuple[Callable[[Spec, str], list[Change]], ...]:
    """The makers of changes, in the order fixes are shown."""
    from kverify.fixes import lb_changes  # built on Change: imported here, not at the top

    return (
        _policy,
        _environment,
        lb_changes.exclude_nodes_without_endpoints,
        lb_changes.switch_profile,
        _workloads,
    )


def changes_for(spec: Spec, service_key: str) -> list[Change]:
    """Every change that applies to this Service (namespace/name) of the spec."""
    return [c for make in candidates() for c in make(spec, service_key)]


def shown_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
