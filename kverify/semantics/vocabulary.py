"""What the rules read: a flow at one handling node, reduced to booleans and small integers.

Both engines build these views. Concretely (``kverify.concrete.classify``) every field is a Python
value computed from addresses; symbolically (``kverify.symbolic``) every field is a Z3 term, free or
constrained. Indexes: nodes are ``0..n-1``; ``NO_NODE`` (-1) stands for "no node": an endpoint
without ``nodeName`` or on a node absent from the input, or an external client's node.
"""

from __future__ import annotations

from typing import Any

import attrs

from kverify.model.cilium import NEWEST_CILIUM
from kverify.model.enums import Cni
from kverify.model.metallb import READY_OR_SERVING
from kverify.model.versions import NEWEST

NO_NODE = -1
NO_ZONE = -1
#: A node's ``node.kubernetes.io/exclude-from-external-load-balancers`` label, as the load balancers read
#: it (rule ``lb-exclude-label``): absent; a value Go's ``strconv.ParseBool`` reads as false; any other value.
LB_LABEL_NONE, LB_LABEL_FALSE, LB_LABEL_OTHER = 0, 1, 2
Term = Any


@attrs.frozen(kw_only=True)
class EndpointView:
    """One endpoint of the service port the flow addresses."""

    node: Term  # node index or NO_NODE
    ready: Term
    serving: Term
    terminating: Term
    zone_hints: Any  # container of zone indexes, for Ops.member
    has_zone_hints: Term
    node_hints: Any  # container of node indexes
    has_node_hints: Term
    is_client: Term  # the endpoint's IP is the client's IP (hairpin)
    present: Term = True  # False only for unused slots of the symbolic encoding


@attrs.frozen(kw_only=True)
class NodeView:
    zone: Term  # zone index or NO_ZONE
    draining: Term
    present: Term = True
    lb_label: Term = LB_LABEL_NONE  # the exclude-from-external-load-balancers label (LB_LABEL_*)


# Not slotted: the executable model builds one or two per handling of every flow it routes (a check of a
# snapshot: thousands), each of ~40 fields given as keywords, and a frozen slotted class sets each through
# object.__setattr__ where a dict class stores it in its __dict__. Its fields are read less often than it
# is built: the rule table's answers are kept per kind of handling (kverify.concrete.alike).
@attrs.frozen(kw_only=True, slots=False)
class Situation:
    """A flow's first packet, as the proxy on ``handling_node`` sees it."""

    dataplane: Term  # Dataplane value
    load_balancer: Term  # LoadBalancerProfile value
    # The service.
    service_type: Term  # ServiceType value
    etp_local_spec: Term  # spec.externalTrafficPolicy == Local
    itp_local_spec: Term  # spec.internalTrafficPolicy == Local
    has_external_ips: Term
    has_node_port: Term
    has_vip_ingress: Term  # some status.loadBalancer.ingress IP with ipMode VIP
    # The proxy.
    has_detector: Term  # a LocalTrafficDetector is configured
    masquerade_all: Term
    # The flow.
    client: Term  # ClientKind value
    destination: Term  # Destination value
    client_node: Term  # node index (NO_NODE for external clients)
    handling_node: Term  # node index: the node whose proxy first handles the packet
    handling_zone: Term
    address_captured: Term  # the proxy on handling_node captures dst IP:port (rule-specific meaning)
    dst_ip_mode_proxy: Term  # dst is an LB ingress IP with ipMode Proxy
    dst_is_localhost: Term  # dst is 127.0.0.1 (localhost NodePort)
    src_in_cluster_cidr: Term
    src_allowed_by_ranges: Term  # no loadBalancerSourceRanges, or the source is inside one
    endpoints: tuple[EndpointView, ...]
    nodes: tuple[NodeView, ...]
    # The Kubernetes version kube-proxy runs (minor: 34 for v1.34) and the feature gates that change
    # routing (kverify.model.versions). Cilium's own behaviour does not read them.
    k8s_minor: Term = NEWEST
    gate_terminating: Term = True  # ProxyTerminatingEndpoints
    gate_zone_hints: Term = True  # TopologyAwareHints or ServiceTrafficDistribution
    gate_node_hints: Term = True  # PreferSameTrafficDistribution
    gate_draining: Term = True  # KubeProxyDrainingTerminatingNodes
    hints_annotation: Term = False  # the Service's topology annotation asks for hints (as this version reads it)
    # The load balancer in front (kverify.semantics.load_balancer, lb_profiles).
    via_load_balancer: Term = False  # the packet was sent by the external load balancer (not by the client itself)
    proxy_protocol: Term = False  # the load balancer is configured to send a PROXY protocol header to its targets
    lb_preserves_client_ip: Term = True  # the load balancer keeps the client's address (AWS preserve_client_ip)
    dst_status_ip_mode_proxy: Term = False  # status.loadBalancer.ingress says ipMode Proxy for dst (gate or not)
    # The pod network (kverify.semantics.cni): masquerade source interface, CNI SNAT, hairpin mode.
    cni: Term = Cni.GENERIC
    # Cilium's version (minor: 16 for v1.16) and the Helm options that change routing (kverify.model.cilium).
    # kube-proxy's behaviour does not read them.
    cilium_minor: Term = NEWEST_CILIUM
    cilium_external_cluster_ip: Term = False  # bpf.lbExternalClusterIP
    cilium_no_backend_reject: Term = True  # serviceNoBackendResponse=reject (exists from v1.15)
    # loadBalancerSourceRanges also guard NodePort, externalIP and ClusterIP frontends: bpf.lbSourceRangeAllTypes
    # (from v1.17), or v1.18.0-v1.18.5 whatever the option (CiliumSettings.source_ranges_on_all_types).
    cilium_source_ranges_all_types: Term = False
    cilium_pod_socket_lb: Term = True  # pods' connect() goes through socket-LB (False: socketLB.hostNamespaceOnly)
    # Which endpoint conditions make MetalLB announce (kverify.model.metallb: READY_ONLY, SERVING, READY_OR_SERVING).
    metallb_counts: Term = READY_OR_SERVING
