"""Nodes labelled ``node.kubernetes.io/exclude-from-external-load-balancers``: how each load balancer reads it.

Most load balancers leave such nodes out of their targets, and kubeadm puts the label on every
control-plane node, so a snapshot of a kubeadm cluster has them. The rule table decides it (rule
``lb-exclude-label`` in :mod:`kverify.semantics.load_balancer`, read by both engines): each node's
label is reduced to absent, a value Go reads as false, or any other value (:func:`label_class`).
How each load balancer reads the label, at its source:

- the cloud service controller (every cloud LB, the ``health-checked`` and ``no-health-check``
  profiles): kubernetes/cloud-provider ``controllers/service/controller.go`` ``nodeIncludedPredicate``
  (at 46666112f47d, from v1.34: kubernetes/kubernetes 310b395a): a value that ``strconv.ParseBool``
  reads as false keeps the node, any other value (true, empty, not a boolean) leaves it out; before
  v1.34 (at 49ed9cce) the label's presence left the node out whatever its value;
- AWS Load Balancer Controller, instance targets (``aws-nlb-instance``): ``pkg/backend/endpoint_utils.go``
  ``defaultTrafficProxyNodeLabelSelector`` requires the label not to exist (any value leaves out);
- MetalLB, L2 and BGP: ``internal/k8s/nodes/nodes.go`` ``IsNodeExcludedFromBalancers`` (presence of
  the label, any value), read by ``speaker/layer2_controller.go`` ``speakersForAds`` and
  ``speaker/bgp_controller.go`` unless the speaker runs with ``--ignore-exclude-lb`` (at 7938d3f89b8b);
- kube-vip: its source does not read the label (kube-vip/kube-vip, whole tree): not concerned;
- k3s ServiceLB: ``k3s-io/k3s pkg/cloudprovider/servicelb.go`` (at 0821db5a) lists the nodes running a Ready
  svclb pod (``podIPs``); the DaemonSet selects nodes by ``svccontroller.k3s.cattle.io/enablelb`` and
  ``lbpool`` only and tolerates the control-plane taints: not concerned;
- Cilium L2 announcements and BGP: Cilium does not read the label either. Which nodes take part is its
  own node selectors: ``pkg/l2announcer/l2announcer.go`` ``upsertPolicy``/``upsertLocalNode`` match a
  ``CiliumL2AnnouncementPolicy``'s ``nodeSelector`` against the node's labels (at 21d690e1), and BGP
  runs only on nodes a ``CiliumBGPPeeringPolicy`` (or ``CiliumBGPClusterConfig``) ``nodeSelector``
  selects, the service reconciler (``pkg/bgpv1/manager/reconciler/service.go``) reading endpoints,
  not node labels. kverify does not read those policies, and a common policy selects exactly the nodes
  without this label (``operator: DoesNotExist``), so a flow through Cilium's load balancer on a
  cluster with labelled nodes stays Unknown, with that reason;
- IP targets: the load balancer sends to pods, not nodes: not concerned.
"""

from __future__ import annotations

from kverify.concrete.index import index_of
from kverify.model import Cluster, LoadBalancerProfile, Service
from kverify.model.node_meta import EXCLUDE_FROM_LB_LABEL
from kverify.semantics.vocabulary import LB_LABEL_FALSE, LB_LABEL_NONE, LB_LABEL_OTHER

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
#: Load balancers that pick nodes by selectors of their own, which kverify does not read.
_OWN_SELECTORS = (LoadBalancerProfile.CILIUM_L2, LoadBalancerProfile.CILIUM_BGP)
#: Go's strconv.ParseBool spellings of false.
_GO_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def label_class(value: str | None) -> int:
    """The label's value as the rule table reads it: absent, a Go false, or anything else."""
    if value is None:
        return LB_LABEL_NONE
    return LB_LABEL_FALSE if value in _GO_FALSE else LB_LABEL_OTHER


def excluded_nodes(cluster: Cluster, profile: LoadBalancerProfile) -> tuple[str, ...]:
    """The nodes ``profile`` leaves out of its targets by their label (what rule ``lb-exclude-label`` decides,
    for reports), or, for Cilium, the labelled nodes its own selectors may leave out."""
    if profile not in (*_CLOUD, *_BY_PRESENCE, *_OWN_SELECTORS):
        return ()
    # The labelled nodes are found once per cluster (index_of).
    labelled = index_of(cluster).lb_exclusion_labels
    # kubernetes/cloud-provider e0d9f9a (v1.34): a value Go reads as false keeps the node.
    keeps_false = profile in _CLOUD and cluster.proxy.kubernetes_version >= 34
    return tuple(name for name, value in labelled if not (keeps_false and value in _GO_FALSE))


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
    if profile not in _OWN_SELECTORS or not (names := excluded_nodes(cluster, profile)):
        return None  # the other load balancers' reading of the label is rule lb-exclude-label
    more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
    return (
        f"node {names[0]}{more} is labelled {EXCLUDE_FROM_LB_LABEL}; {profile.spelling} does not read that label but "
        "picks nodes by its own policy's nodeSelector (CiliumL2AnnouncementPolicy, CiliumBGPPeeringPolicy or "
        "CiliumBGPClusterConfig), which kverify does not read and which often leaves out exactly the labelled nodes"
    )
