"""Nodes labelled ``node.kubernetes.io/exclude-from-external-load-balancers``: not modelled, said so.

Most load balancers leave such nodes out of their targets, and kubeadm puts the label on every
control-plane node, so a snapshot of a kubeadm cluster has them. Which nodes a load balancer sends to
is a rule of the table (``lb-health-checked`` and its siblings) that does not read node labels yet;
rather than send traffic to a node the load balancer never picks (a false DROP under eTP Local), a
flow through such a load balancer is Unknown, with this reason.

How each load balancer reads the label, at its source:

- the cloud service controller (every cloud LB, the ``health-checked`` and ``no-health-check``
  profiles): kubernetes/cloud-provider ``controllers/service/controller.go`` ``nodeIncludedPredicate``
  (at 46666112f47d): a value that ``strconv.ParseBool`` reads as false keeps the node, any other
  value (true, empty, not a boolean) leaves it out;
- AWS Load Balancer Controller, instance targets (``aws-nlb-instance``): ``pkg/backend``
  ``defaultTrafficProxyNodeLabelSelector`` requires the label not to exist (any value leaves out);
- MetalLB, L2 and BGP: ``internal/k8s/nodes/nodes.go`` ``IsNodeExcludedFromBalancers`` (presence of
  the label, any value), read by ``speaker/layer2_controller.go`` and ``speaker/bgp_controller.go``
  ``ShouldAnnounce`` unless the speaker runs with ``--ignore-exclude-lb`` (at 7938d3f89b8b);
- kube-vip: its source does not read the label (kube-vip/kube-vip, whole tree): not concerned;
- k3s ServiceLB: ``k3s-io/k3s pkg/cloudprovider/servicelb.go`` (at 0821db5a) lists the nodes running a Ready
  svclb pod (``podIPs``); the DaemonSet selects nodes by ``svccontroller.k3s.cattle.io/enablelb`` and
  ``lbpool`` only and tolerates the control-plane taints: not concerned;
- Cilium L2/BGP: not verified at their source, so concerned;
- IP targets: the load balancer sends to pods, not nodes: not concerned.
"""

from __future__ import annotations

from kverify.concrete.index import index_of
from kverify.model import Cluster, LoadBalancerProfile, Service
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL

#: The cloud providers' service controller (k8s.io/cloud-provider) chooses the nodes; the AWS cloud provider's
#: Classic ELB is one of them.
_CLOUD = (
    LoadBalancerProfile.HEALTH_CHECKED,
    LoadBalancerProfile.NO_HEALTH_CHECK,
    LoadBalancerProfile.AWS_CLASSIC_ELB,
)
_BY_PRESENCE = (
    LoadBalancerProfile.AWS_NLB_INSTANCE,
    LoadBalancerProfile.METALLB_L2,
    LoadBalancerProfile.METALLB_BGP,
)
_UNVERIFIED = (LoadBalancerProfile.CILIUM_L2, LoadBalancerProfile.CILIUM_BGP)
#: Go's strconv.ParseBool spellings of false.
_GO_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def excluded_nodes(cluster: Cluster, profile: LoadBalancerProfile) -> tuple[str, ...]:
    """The nodes ``profile`` leaves out of its targets (or may, where not verified), by their label."""
    if profile not in (*_CLOUD, *_BY_PRESENCE, *_UNVERIFIED):
        return ()
    # Asked once per load-balancer flow: the labelled nodes are found once per cluster (index_of).
    labelled = index_of(cluster).lb_exclusion_labels
    return tuple(name for name, value in labelled if not (profile in _CLOUD and value in _GO_FALSE))


#: k3s ServiceLB's node-selection label (``svccontroller.`` + version.Program + ``.cattle.io/enablelb``).
K3S_ENABLELB = "svccontroller.k3s.cattle.io/enablelb"


def k3s_unselected_nodes(cluster: Cluster) -> tuple[str, ...]:
    """Nodes k3s ServiceLB runs no svclb pod on: once any node carries the ``enablelb`` label, the DaemonSet's
    nodeSelector asks for ``enablelb=true`` (k3s-io/k3s pkg/cloudprovider/servicelb.go ``nodeHasDaemonSetLabel``,
    ``newDaemonSet``), so the other nodes are never listed as the Service's addresses."""
    values = [dict(node.labels).get(K3S_ENABLELB) for node in cluster.nodes]
    if all(value is None for value in values):
        return ()
    return tuple(node.name for node, value in zip(cluster.nodes, values, strict=True) if value != "true")


def exclusion_reason(cluster: Cluster, service: Service) -> str | None:
    """Why flows through ``service``'s load balancer are not decided, when a node carries the label (or, for
    k3s ServiceLB, is left out by its ``enablelb`` node selection)."""
    profile = cluster.load_balancer_for(service)
    if profile is LoadBalancerProfile.K3S_SERVICELB and (unselected := k3s_unselected_nodes(cluster)):
        more = f" (and {len(unselected) - 1} more)" if len(unselected) > 1 else ""
        return (
            f"node {unselected[0]}{more} is not labelled {K3S_ENABLELB}=true while other nodes carry the label, so "
            "k3s ServiceLB runs no svclb pod there and never lists it; the load balancer's choice of nodes does not "
            "read node labels yet"
        )
    names = excluded_nodes(cluster, profile)
    if not names:
        return None
    more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
    how = "may leave out (not verified at its source)" if profile in _UNVERIFIED else "leaves out of its targets"
    return (
        f"node {names[0]}{more} is labelled {EXCLUDE_FROM_LB_LABEL}, which the {profile.spelling} load balancer "
        f"{how}; the load balancer's choice of nodes does not read that label yet (kubeadm puts it on "
        "control-plane nodes)"
    )
