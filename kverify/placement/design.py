"""What a design review reads: Services, the workloads behind them, and the nodes (if described).

Matching follows the EndpointSlice controller (``pkg/controller/endpointslice/reconciler.go``,
``pkg/api/v1/pod/util.go`` ``FindPort``): a Service selects the pods of workloads in its namespace
whose template labels carry every label of ``spec.selector``; a named ``targetPort`` resolves to the
container port of that name and protocol, and a pod with no such port gives the Service no endpoint
on that Service port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kverify.load.manifests import routed_as_snapshot
from kverify.model import Cluster, Node, Service, ServicePort

if TYPE_CHECKING:  # the workload model is imported where workloads are read: a snapshot's check has none
    from kverify.model.workload import NodePool, Workload


@attrs.frozen(kw_only=True)
class Design:
    """Manifests before apply: the cluster's Services (without endpoints), its Nodes if any were given,
    the proxy and load balancer; the workloads; the node pools a spec or the command line describes.

    With neither ``cluster.nodes`` nor ``node_pools``, claims are quantified over every cluster.
    """

    cluster: Cluster
    workloads: tuple[Workload, ...] = ()
    node_pools: tuple[NodePool, ...] = ()
    #: Services whose EndpointSlices the manifests give (a snapshot), even with no endpoint in them.
    endpoints_given: frozenset[str] = frozenset()
    #: Skipped objects that may create pods, as (kind, namespace, name) (:mod:`kverify.load.pod_sources`).
    pod_sources: tuple[tuple[str, str, str], ...] = ()

    @property
    def nodes_described(self) -> bool:
        return bool(self.cluster.nodes or self.node_pools)


def with_pool_nodes(design: Design) -> Cluster:
    """The cluster with one stand-in Node per node pool (its labels): what reads labels per node, such as
    the load balancer's exclusion label (rule ``lb-exclude-label``), sees the pools too."""
    pools = tuple(
        Node(name=f"pool {p.name}", addresses=("192.0.2.1",), labels=tuple(p.label_map(p.name).items()))
        for p in design.node_pools
    )
    return attrs.evolve(design.cluster, nodes=(*design.cluster.nodes, *pools))


def at_design_time(design: Design, service: Service) -> bool:
    """The Service is decided over placements: no EndpointSlice gives it endpoints, and either workloads
    are given or the cluster has no nodes (EndpointSlices, where given, win: that is a snapshot)."""
    if routed_as_snapshot(service, design.endpoints_given):
        return False
    return bool(design.workloads) or bool(design.node_pools) or not design.cluster.nodes


@attrs.frozen(kw_only=True)
class Backend:
    """A workload whose pods are endpoints of one Service port, at ``target_port`` on each pod."""

    workload: Workload
    target_port: int


def selected_workloads(design: Design, service: Service) -> tuple[Workload, ...]:
    """The workloads whose pods the Service's selector matches (none for a selector-less Service)."""
    if not service.selector:
        return ()  # no selector (or an empty one): the controller manages no endpoints for it
    from kverify.model.workload import WorkloadKind

    wanted = set(service.selector)
    matched = [w for w in design.workloads if w.namespace == service.namespace and wanted <= set(w.labels)]
    return tuple(w for w in matched if not (w.kind is WorkloadKind.REPLICA_SET and _owned_elsewhere(design, w)))


def _owned_elsewhere(design: Design, workload: Workload) -> bool:
    """A ReplicaSet listed beside a Deployment with the same template is that Deployment's: count it once."""
    from kverify.model.workload import WorkloadKind

    return any(
        w.kind is WorkloadKind.DEPLOYMENT and w.namespace == workload.namespace and w.labels == workload.labels
        for w in design.workloads
    )


def backends_of(design: Design, service: Service, port: ServicePort) -> tuple[Backend, ...]:
    """The workloads serving ``port`` of ``service``, with the port number their pods listen on."""
    found: list[Backend] = []
    for workload in selected_workloads(design, service):
        target = port.target_port if port.target_port is not None else port.port
        if isinstance(target, str):
            number = workload.named_port(target, port.protocol)
            if number is None:
                continue  # FindPort fails: the controller leaves this pod out of the port's endpoints
            target = number
        found.append(Backend(workload=workload, target_port=target))
    return tuple(found)
