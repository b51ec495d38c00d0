"""The theorem library: beliefs about Service routing, each stated once for both engines.

A claim says: for every cluster and every flow satisfying ``assume``, every outcome satisfies
``require``. Each claim lists, per dataplane, the verdict Kubernetes' behaviour leads us to expect
and why (``expected``); the tests check the solver reaches that verdict, so a claim whose verdict
changes is a finding, never silently accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from kverify.model import ClientKind, Cni, Dataplane, Destination, DropKind, Interface, LoadBalancerProfile
from kverify.semantics.load_balancer import fails_open
from kverify.semantics.ops import Term
from kverify.semantics.unallocated import AddressWorld
from kverify.semantics.world import World

HOLDS, REFUTED = "holds", "refuted"
KUBE_PROXY = (Dataplane.IPTABLES, Dataplane.NFTABLES, Dataplane.IPVS)
ALL_DATAPLANES = tuple(Dataplane)


@attrs.frozen(kw_only=True)
class Claim:
    id: str
    statement: str
    assume: Callable[[World], Term]
    require: Callable[[World], Term]
    expected: Mapping[Dataplane, str]
    why: str
    load_balancer: LoadBalancerProfile = LoadBalancerProfile.NO_HEALTH_CHECK
    #: Replay counterexamples letting the load balancer pick the node (else at the handling node).
    via_load_balancer: bool = False
    #: The claim is about which nodes the load balancer sends to: the counterexample shows, and its command
    #: traces, the flow with the load balancer picking the node (replayed at the handling node all the same).
    shows_load_balancer_pick: bool = False
    #: The smallest counterexample Kubernetes' behaviour implies, as (nodes, endpoints), where known.
    minimal: Mapping[Dataplane, tuple[int, int]] = attrs.field(factory=dict)
    #: The pod network the claim is about; ``None``: the one the run names (``prove --cni``, default generic).
    cni: Cni | None = None

    @property
    def dataplanes(self) -> tuple[Dataplane, ...]:
        return tuple(self.expected)


def _external_flow(w: World) -> Term:
    """An external client (its address outside the cluster CIDR) to a NodePort, externalIP or LB IP.

    A client inside the cluster CIDR is pod traffic to kube-proxy's LocalTrafficDetector, whatever
    its real location: see the claim ``external-client-in-cluster-cidr-stays-local``.
    """
    return w.ops.and_(
        w.client_is(ClientKind.EXTERNAL),
        w.source_outside_cluster_cidr(),
        w.external_destination(),
        w.ops.not_(w.through_ip_target()),
    )


def _lb_flow(w: World) -> Term:
    """External client to a VIP-mode LoadBalancer IP, on a node the load balancer may pick."""
    return w.ops.and_(
        w.client_is(ClientKind.EXTERNAL),
        w.source_outside_cluster_cidr(),
        w.destination_is(Destination.LOAD_BALANCER),
        w.ip_mode_vip(),
        w.allowed_by_source_ranges(),
        w.lb_may_pick_node,
    )


CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="etp-local-external-stays-local",
        statement="eTP Local, external client: a delivered packet reaches an endpoint on the node it arrived at, "
        "and the endpoint sees the client IP.",
        assume=lambda w: w.ops.and_(_external_flow(w), w.etp_local()),
        require=lambda w: w.ops.implies(w.delivered(), w.ops.and_(w.endpoint_on_handling_node(), w.client_ip_kept())),
        expected={
            Dataplane.IPTABLES: HOLDS,
            Dataplane.NFTABLES: HOLDS,
            Dataplane.IPVS: REFUTED,
            Dataplane.CILIUM_SNAT: HOLDS,
            Dataplane.CILIUM_DSR: HOLDS,
        },
        why="kube-proxy iptables/nftables use only the Local set for external sources (EXT chain); ipvs falls back "
        "to all endpoints on a node without local ones (pkg/proxy/ipvs/proxier.go syncEndpoint, PR #97081).",
        minimal={Dataplane.IPVS: (2, 1)},
    ),
    Claim(
        id="etp-cluster-delivers",
        statement="eTP Cluster, external client allowed by the source ranges: if any usable endpoint exists "
        "anywhere, the packet is delivered.",
        assume=lambda w: w.ops.and_(
            _external_flow(w),
            w.ops.not_(w.etp_local()),
            w.address_captured(),
            w.ip_mode_vip(),
            w.allowed_by_source_ranges(),
            w.any_usable_endpoint(),
        ),
        require=lambda w: w.delivered(),
        expected=dict.fromkeys(ALL_DATAPLANES, HOLDS),
        why="the Cluster set falls back to serving-terminating endpoints and is empty only when none is usable "
        "(pkg/proxy/topology.go CategorizeEndpoints).",
    ),
    Claim(
        id="etp-local-health-checked-lb-delivers",
        statement="eTP Local behind a health-checked load balancer, steady state: every packet the load balancer "
        "sends is delivered when a node it targets has a Ready endpoint.",
        assume=lambda w: w.ops.and_(
            _lb_flow(w), w.etp_local(), w.ops.not_(fails_open(w.ops, w.situation)), w.endpoints_on_known_nodes()
        ),
        require=lambda w: w.delivered(),
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), HOLDS),
        why="the LB probes healthCheckNodePort, which answers 200 only on nodes with a local Ready endpoint "
        "(pkg/proxy/healthcheck/service_health.go), and those nodes' Local set is non-empty.",
        load_balancer=LoadBalancerProfile.HEALTH_CHECKED,
        via_load_balancer=True,
    ),
    Claim(
        id="etp-local-health-checked-lb-delivers-any-ready",
        statement="eTP Local behind a health-checked load balancer, steady state: every packet the load balancer "
        "sends is delivered, and its reply comes back, when any Ready endpoint exists, wherever it runs.",
        assume=lambda w: w.ops.and_(_lb_flow(w), w.etp_local(), w.any_ready_endpoint(), w.endpoints_on_known_nodes()),
        require=lambda w: w.ops.and_(w.delivered(), w.reply_ok()),
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), REFUTED),
        why="when every Ready pod runs on nodes labelled node.kubernetes.io/exclude-from-external-load-balancers, "
        "no target passes the probe and the LB fails open to its targets, which have no local endpoint "
        "(kubernetes/cloud-provider nodeIncludedPredicate; rules lb-exclude-label, lb-fail-open): kube-proxy "
        "DROPs (iptables, nftables), ipvs forwards to the remote pod unmasqueraded and the reply is lost, Cilium "
        "rejects.",
        load_balancer=LoadBalancerProfile.HEALTH_CHECKED,
        via_load_balancer=True,
        minimal=dict.fromkeys(KUBE_PROXY, (2, 1)),
    ),
    Claim(
        id="external-client-in-cluster-cidr-stays-local",
        statement="eTP Local keeps an external client on its arrival node even when the client's address "
        "falls inside the cluster CIDR (e.g. an on-premises 10.0.0.0/8 network).",
        assume=lambda w: w.ops.and_(
            w.client_is(ClientKind.EXTERNAL),
            w.ops.not_(w.source_outside_cluster_cidr()),
            w.external_destination(),
            w.ops.not_(w.through_ip_target()),
            w.etp_local(),
        ),
        require=lambda w: w.ops.implies(w.delivered(), w.endpoint_on_handling_node()),
        expected={Dataplane.IPTABLES: REFUTED, Dataplane.NFTABLES: REFUTED, Dataplane.CILIUM_SNAT: HOLDS},
        why="kube-proxy's LocalTrafficDetector (ClusterCIDR mode) classifies by source address only, so such a "
        "client is short-circuited to the Cluster set like a pod (pkg/proxy/util/localdetector.go).",
        minimal={Dataplane.IPTABLES: (2, 1), Dataplane.NFTABLES: (2, 1)},
    ),
    Claim(
        id="etp-local-always-delivers",
        statement="eTP Local always delivers external traffic, and its reply comes back, when the Service has "
        "Ready endpoints (load balancer without health checks).",
        assume=lambda w: w.ops.and_(_lb_flow(w), w.etp_local(), w.any_ready_endpoint()),
        require=lambda w: w.ops.and_(w.delivered(), w.reply_ok()),
        expected={
            Dataplane.IPTABLES: REFUTED,
            Dataplane.NFTABLES: REFUTED,
            Dataplane.IPVS: REFUTED,
            Dataplane.CILIUM_SNAT: REFUTED,
            Dataplane.CILIUM_DSR: REFUTED,
        },
        why="a node without a local endpoint DROPs (kube-proxy) or REJECTs (Cilium) eTP Local external "
        "traffic, and an LB without health checks still sends to it; ipvs instead forwards it to a remote pod "
        "unmasqueraded and the reply is lost (pkg/proxy/ipvs/proxier.go syncEndpoint: 'the reply will have the "
        "POD address and will be discarded'). Until issue 9 this claim required delivery only and so held on "
        "ipvs while every such connection timed out.",
        load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK,
        via_load_balancer=True,
        minimal={Dataplane.IPTABLES: (2, 1), Dataplane.NFTABLES: (2, 1), Dataplane.IPVS: (2, 1)},
    ),
    Claim(
        id="etp-cluster-preserves-client-ip",
        statement="eTP Cluster preserves the client IP for external clients.",
        assume=lambda w: w.ops.and_(_external_flow(w), w.ops.not_(w.etp_local())),
        require=lambda w: w.ops.implies(w.delivered(), w.client_ip_kept()),
        expected=dict.fromkeys(KUBE_PROXY, REFUTED)
        | {Dataplane.CILIUM_SNAT: REFUTED, Dataplane.CILIUM_DSR: HOLDS, Dataplane.DNAT_ONLY: HOLDS},
        why="kube-proxy masquerades all eTP Cluster external traffic (EXT chain KUBE-MARK-MASQ); Cilium SNATs "
        "only to remote backends; DSR keeps the client IP.",
        minimal={Dataplane.IPTABLES: (1, 1), Dataplane.NFTABLES: (1, 1), Dataplane.CILIUM_SNAT: (2, 1)},
    ),
    Claim(
        id="etp-local-in-cluster-stays-local",
        statement="eTP Local never crosses nodes, for in-cluster clients too.",
        assume=lambda w: w.ops.and_(w.in_cluster_client(), w.external_destination(), w.etp_local()),
        require=lambda w: w.ops.implies(w.delivered(), w.endpoint_on_handling_node()),
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), REFUTED),
        why="pod and host traffic to an eTP Local address is short-circuited to the Cluster set "
        "(iptables EXT chain; Cilium socket-LB); ipvs falls back to all endpoints without local ones.",
        minimal=dict.fromkeys(KUBE_PROXY, (2, 1)),
    ),
    Claim(
        id="itp-local-delivers",
        statement="iTP Local always delivers pod -> ClusterIP traffic when the Service has usable endpoints.",
        assume=lambda w: w.ops.and_(
            w.client_is(ClientKind.POD),
            w.destination_is(Destination.CLUSTER_IP),
            w.itp_local(),
            w.any_usable_endpoint(),
        ),
        require=lambda w: w.delivered(),
        expected=dict.fromkeys(KUBE_PROXY, REFUTED) | {Dataplane.CILIUM_SNAT: REFUTED, Dataplane.CILIUM_DSR: REFUTED},
        why="iTP Local uses only the client node's endpoints and DROPs without them "
        "(nftables/proxier_test.go TestInternalTrafficPolicy). ipvs instead falls back to the Cluster set, which "
        "kube-proxy computes only for an externally accessible Service: for a ClusterIP-only Service the virtual "
        "server is empty and answers ICMP port unreachable (pkg/proxy/ipvs/proxier.go syncEndpoint; "
        "pkg/proxy/topology.go CategorizeEndpoints, UsesClusterEndpoints).",
        minimal=dict.fromkeys(KUBE_PROXY, (2, 1)),
    ),
    Claim(
        id="hairpin-preserves-client-ip",
        statement="A pod reaching itself through its Service's ClusterIP sees its own IP as the source.",
        assume=lambda w: w.ops.and_(
            w.client_is(ClientKind.POD), w.destination_is(Destination.CLUSTER_IP), w.endpoint_is_client()
        ),
        require=lambda w: w.ops.implies(w.delivered(), w.client_ip_kept()),
        expected=dict.fromkeys(KUBE_PROXY, REFUTED) | {Dataplane.CILIUM_SNAT: HOLDS, Dataplane.CILIUM_DSR: HOLDS},
        why="the endpoint chain masquerades packets whose source is the endpoint itself "
        "(nftables/proxier_test.go TestClusterIPGeneral 'hairpin to cluster IP'); Cilium's socket-LB connects "
        "the pod straight to its own IP. Restricted to the ClusterIP in issue 9, so that a NodePort or LB "
        "flow's own masquerade (eTP Cluster) cannot be what refutes it.",
        minimal=dict.fromkeys(KUBE_PROXY, (1, 1)),
    ),
    Claim(
        id="external-reply-ok",
        statement="Every delivered external connection's reply reaches the client from the address it contacted.",
        assume=_external_flow,
        require=lambda w: w.ops.implies(w.delivered(), w.reply_ok()),
        expected={
            Dataplane.IPTABLES: HOLDS,
            Dataplane.NFTABLES: HOLDS,
            Dataplane.IPVS: REFUTED,
            Dataplane.CILIUM_SNAT: HOLDS,
            Dataplane.CILIUM_DSR: HOLDS,
            Dataplane.DNAT_ONLY: REFUTED,
        },
        why="a cross-node hop without SNAT lets the reply bypass the translating node (why eTP Cluster SNATs); "
        "ipvs eTP Local forwards external traffic without SNAT when it has no local endpoint "
        "(pkg/proxy/ipvs/proxier.go: 'the reply will have the POD address and will be discarded').",
        minimal={Dataplane.DNAT_ONLY: (2, 1), Dataplane.IPVS: (2, 1)},
    ),
)


#: Claims added in issue 9 (what users asked about in GitHub threads; the review's corrections).
REVIEW_CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="in-cluster-reply-ok",
        statement="Every delivered connection from a pod or a host-network process gets its reply back from the "
        "address it contacted.",
        assume=lambda w: w.in_cluster_client(),
        require=lambda w: w.ops.implies(w.delivered(), w.reply_ok()),
        expected={
            Dataplane.IPTABLES: REFUTED,
            Dataplane.NFTABLES: REFUTED,
            Dataplane.IPVS: REFUTED,
            Dataplane.CILIUM_SNAT: HOLDS,
            Dataplane.CILIUM_DSR: HOLDS,
        },
        why="a pod reaching another node's NodePort under eTP Local is pod traffic there (LocalTrafficDetector): "
        "short-circuited to the Cluster set without masquerade, so a third node's endpoint replies straight to "
        "the pod, bypassing the node that translated it (pkg/proxy/iptables/proxier.go EXT chain); ipvs also "
        "loses a host's reply through its own LB IP (kubernetes#93456). Cilium's socket-LB translates at the "
        "client's connect(), so the reply is always un-NATed there. A CNI that SNATs pod -> node traffic "
        "changes the kube-proxy verdicts: see in-cluster-reply-ok-flannel.",
    ),
    Claim(
        id="pod-cluster-ip-keeps-pod-ip",
        statement="A pod (inside the cluster CIDR) reaching a ClusterIP is seen by the endpoint with its own IP, "
        "unless it reaches itself (hairpin) or the proxy runs with --masquerade-all.",
        assume=lambda w: w.ops.and_(
            w.client_is(ClientKind.POD),
            w.destination_is(Destination.CLUSTER_IP),
            w.ops.not_(w.source_outside_cluster_cidr()),
            w.ops.not_(w.endpoint_is_client()),
            w.ops.not_(w.masquerade_all()),
        ),
        require=lambda w: w.ops.implies(w.delivered(), w.client_ip_kept()),
        expected=dict.fromkeys(ALL_DATAPLANES, HOLDS),
        why="kube-proxy masquerades ClusterIP traffic only from sources that are not pod traffic, with "
        "--masquerade-all, or on hairpin (pkg/proxy/iptables/proxier.go syncProxyRules; nftables/proxier_test.go "
        "TestInternalExternalMasquerade 'pod to ClusterIP'); Cilium's socket-LB does not NAT the source.",
    ),
    Claim(
        id="nodeport-ignores-source-ranges",
        statement="loadBalancerSourceRanges do not guard the NodePort: an external client outside them still "
        "reaches the Service through any node's NodePort (eTP Cluster, usable endpoints).",
        assume=lambda w: w.ops.and_(
            _external_flow(w),
            w.destination_is(Destination.NODE_PORT),
            w.address_captured(),
            w.ops.not_(w.allowed_by_source_ranges()),
            w.ops.not_(w.etp_local()),
            w.any_usable_endpoint(),
        ),
        require=lambda w: w.delivered(),
        expected=dict.fromkeys(ALL_DATAPLANES, HOLDS),
        why="kube-proxy filters only the LoadBalancer IP ('nodeports are not subject to loadBalancerSourceRanges', "
        "nftables/proxier_test.go TestLoadBalancer 'nodePort bypasses LoadBalancerSourceRanges'); Cilium checks "
        "ranges on NodePorts only with bpf.lbSourceRangeAllTypes=true (from v1.17) and, by a regression, in "
        "v1.18.0-v1.18.5 (cilium/cilium#42334): prove it with --cilium-set or --cilium-version 1.18.2 to see it "
        "refuted (rule cilium-source-ranges-all-types). The claim holding is the finding: ranges alone do not "
        "close a Service to the world.",
    ),
    Claim(
        id="etp-local-no-endpoint-times-out",
        statement="eTP Local, external client, node without a local endpoint while others have one: the packet is "
        "silently dropped (the client times out) rather than refused.",
        assume=lambda w: w.ops.and_(
            _external_flow(w),
            w.etp_local(),
            w.address_captured(),
            w.allowed_by_source_ranges(),
            w.ip_mode_vip(),
            w.any_usable_endpoint(),
            w.ops.not_(w.delivered()),
        ),
        require=lambda w: w.dropped_as(DropKind.DROP),
        expected={
            Dataplane.IPTABLES: HOLDS,
            Dataplane.NFTABLES: HOLDS,
            Dataplane.IPVS: HOLDS,
            Dataplane.CILIUM_SNAT: REFUTED,
            Dataplane.CILIUM_DSR: REFUTED,
        },
        why="kube-proxy writes DROP for 'has no local endpoints' and REJECT only for 'has no endpoints' "
        "(pkg/proxy/iptables/proxier.go syncProxyRules; nftables/proxier_test.go TestExternalTrafficPolicyLocal); "
        "ipvs never drops here, it forwards (the claim holds vacuously); Cilium answers ICMP port unreachable "
        "(service-no-backend-response=reject).",
        minimal={Dataplane.CILIUM_SNAT: (2, 1), Dataplane.CILIUM_DSR: (2, 1)},
    ),
    Claim(
        id="health-check-503-means-no-delivery",
        statement="A node whose healthCheckNodePort answers 503 never delivers eTP Local external traffic.",
        assume=lambda w: w.ops.and_(_external_flow(w), w.etp_local(), w.health_check_fails_here()),
        require=lambda w: w.ops.not_(w.delivered()),
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), REFUTED),
        why="the health check counts only Ready local endpoints (pkg/proxy/endpoints.go LocalReadyEndpoints) while "
        "the Local set falls back to serving-terminating ones (pkg/proxy/topology.go CategorizeEndpoints; "
        "nftables/proxier_test.go TestHealthCheckNodePortWhenTerminating): a node with only terminating pods "
        "answers 503 and still forwards what reaches it (ipvs additionally forwards to remote endpoints).",
        minimal=dict.fromkeys((Dataplane.IPTABLES, Dataplane.NFTABLES), (1, 1)),
    ),
)


#: Claims about the load balancer in front (issue 9, item 3): what the pod receives through it.
LB_CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="proxy-protocol-header-on-every-path",
        statement="When the Service's load balancer sends PROXY protocol headers, every connection to the "
        "LoadBalancer address that reaches a pod carries one, from external and in-cluster clients alike.",
        assume=lambda w: w.ops.and_(w.lb_sends_proxy_protocol(), w.destination_is(Destination.LOAD_BALANCER)),
        require=lambda w: w.ops.implies(w.delivered(), w.proxy_header()),
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), REFUTED),
        why="kube-proxy captures a VIP-mode LoadBalancer IP on every node and sends a pod's or a host's connection "
        "straight to an endpoint (iptables/nftables KUBE-SERVICES / service-ips; ipvs binds it to kube-ipvs0; Cilium's "
        "socket-LB translates at connect()), so it never passes the load balancer and carries no header: the "
        "'broken header' reports (kubernetes/ingress-nginx#3996, kubernetes/kubernetes#66607).",
        load_balancer=LoadBalancerProfile.HEALTH_CHECKED,
        minimal=dict.fromkeys(KUBE_PROXY, (1, 1)),
    ),
    Claim(
        id="proxy-protocol-header-with-ip-mode-proxy",
        statement="With ipMode Proxy in the Service's status, every connection to the LoadBalancer address that "
        "reaches a pod through kube-proxy carries the load balancer's PROXY protocol header (in-cluster clients go "
        "out to the load balancer).",
        assume=lambda w: w.ops.and_(
            w.lb_sends_proxy_protocol(), w.destination_is(Destination.LOAD_BALANCER), w.status_ip_mode_proxy()
        ),
        require=lambda w: w.ops.implies(w.delivered(), w.proxy_header()),
        expected=dict.fromkeys(KUBE_PROXY, HOLDS),
        why="kube-proxy writes no rule for an ingress IP with ipMode Proxy (pkg/proxy/serviceport.go "
        "newBaseServiceInfo, KEP-1860), so in-cluster connections leave for the load balancer, which adds the "
        "header; before v1.30 the LoadBalancerIPMode gate is off by default and the claim is refuted "
        "(`kverify prove --all-versions` shows from which version it holds). Cilium's handling of ipMode is not "
        "verified, so only kube-proxy is claimed.",
        load_balancer=LoadBalancerProfile.HEALTH_CHECKED,
    ),
    Claim(
        id="metallb-announces-usable-endpoints",
        statement="eTP Cluster behind MetalLB (layer 2), no node labelled out of load balancers: while the Service "
        "has an endpoint the proxy uses (Ready, or serving while terminating), MetalLB announces its LoadBalancer "
        "address, from any node.",
        assume=lambda w: w.ops.and_(
            w.client_is(ClientKind.EXTERNAL),
            w.destination_is(Destination.LOAD_BALANCER),
            w.ops.not_(w.etp_local()),
            w.any_usable_endpoint(),
            w.no_node_labelled_out_of_lb(),
        ),
        require=lambda w: w.lb_may_pick_node,
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), HOLDS),
        why="from MetalLB v0.14.5 a speaker counts an endpoint that is Ready or serving (metallb/metallb "
        "internal/k8s/epslices EndpointCanServe, commit e2e07277), which covers every endpoint the proxy uses "
        "(pkg/proxy/topology.go CategorizeEndpoints). Refuted on older releases (`--metallb-version`): v0.13 counts "
        "Ready only (IsConditionReady), so a Service whose pods are all terminating but serving is not announced; "
        "v0.14.0-v0.14.4 read serving first (IsConditionServing, commit 1f0fdf34), so a publishNotReadyAddresses "
        "Service whose pods are not ready (Ready=true, serving=false) is not announced (rule lb-metallb-announce).",
        load_balancer=LoadBalancerProfile.METALLB_L2,
        shows_load_balancer_pick=True,
    ),
)


def _pod_to_itself(w: World) -> Term:
    """A pod connects to its own Service's ClusterIP and the proxy sends the connection to that pod."""
    return w.ops.and_(
        w.client_is(ClientKind.POD),
        w.destination_is(Destination.CLUSTER_IP),
        w.endpoint_is_client(),
        w.sent_to_endpoint(),
    )


#: Claims about the pod network (issue 9, the CNI): each names the CNI profile it is proved on.
CNI_CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="pod-reaches-itself",
        statement="A pod whose connection to its Service's ClusterIP is sent back to itself gets it (hairpin).",
        assume=_pod_to_itself,
        require=lambda w: w.delivered(),
        expected=dict.fromkeys(ALL_DATAPLANES, HOLDS),
        why="kube-proxy masquerades the hairpin connection (SEP chain '-s <endpoint IP> -j KUBE-MARK-MASQ') and, "
        "on a CNI whose bridge hairpins (flannel, k3s: hairpinMode true) or that routes (Calico, AWS VPC CNI), "
        "the packet comes back to the pod; Cilium's socket-LB connects the pod straight to itself.",
    ),
    Claim(
        id="pod-reaches-itself-bridge-cni",
        statement="On the CNI bridge plugin with its defaults (hairpinMode false, bridge netfilter on), a pod whose "
        "connection to its Service's ClusterIP is sent back to itself gets it.",
        assume=_pod_to_itself,
        require=lambda w: w.delivered(),
        expected={
            Dataplane.IPTABLES: REFUTED,
            Dataplane.NFTABLES: REFUTED,
            Dataplane.IPVS: HOLDS,
            Dataplane.DNAT_ONLY: REFUTED,
        },
        why="the DNAT back to the pod runs while the packet is bridged, and a bridge sends a frame back out of the "
        "port it came in by only in hairpin mode (torvalds/linux net/bridge/br_forward.c should_deliver); "
        "measured in docs/research/kernel-ground-truth.md ('Hairpin': off + bridge-nf-call-iptables=1 times "
        "out); kubernetes/kubernetes#43966. ipvs translates after the packet was routed to the host "
        "(inferred from the source, not measured).",
        minimal=dict.fromkeys((Dataplane.IPTABLES, Dataplane.NFTABLES, Dataplane.DNAT_ONLY), (1, 1)),
        cni=Cni.BRIDGE,
    ),
    Claim(
        id="masquerade-source-is-node-ip",
        statement="On flannel VXLAN (k3s' default), a masqueraded packet reaches the pod with its node's IP as the "
        "source.",
        assume=lambda w: w.ops.and_(w.delivered(), w.masqueraded(), w.ops.not_(w.through_ip_target())),
        require=lambda w: w.masquerade_leaves_by(Interface.NODE),
        expected=dict.fromkeys(KUBE_PROXY, REFUTED),
        why="MASQUERADE takes the address of the interface the packet leaves by (torvalds/linux "
        "net/netfilter/nf_nat_masquerade.c nf_nat_masquerade_ipv4): cni0's towards a pod on the same node "
        "(k3s users see 10.42.0.1, k3s-io/k3s#7798), flannel.1's towards a pod on another node; measured in "
        "docs/research/kernel-ground-truth.md. The node's IP only leaves by the NIC (flannel host-gw to another "
        "node, Calico BGP, AWS VPC CNI).",
        minimal=dict.fromkeys(KUBE_PROXY, (1, 1)),
        cni=Cni.FLANNEL_VXLAN,
    ),
    Claim(
        id="in-cluster-reply-ok-flannel",
        statement="On flannel VXLAN, every delivered connection from a pod or a host-network process to a Service "
        "whose endpoints are pods (each names its node) gets its reply back from the address it contacted.",
        assume=lambda w: w.ops.and_(w.in_cluster_client(), w.endpoints_on_known_nodes()),
        require=lambda w: w.ops.implies(w.delivered(), w.reply_ok()),
        expected=dict.fromkeys(KUBE_PROXY, HOLDS),
        why="flannel masquerades a pod's packets to another node's address (--ip-masq: pkg/trafficmngr/iptables "
        "MasqRules), so that node's kube-proxy does not short-circuit them as pod traffic and keeps eTP Local "
        "on its own endpoints; and it masquerades off-pod-network sources to pods on other nodes, which repairs "
        "ipvs' host -> VIP replies. Compare in-cluster-reply-ok (generic CNI), refuted.",
        cni=Cni.FLANNEL_VXLAN,
    ),
)


def claim(claim_id: str) -> Claim:
    for c in CLAIMS + REVIEW_CLAIMS + LB_CLAIMS + CNI_CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(claim_id)


@attrs.frozen(kw_only=True)
class SpreadClaim:
    """A claim about how one external flow's connections spread over pods (all nodes at once)."""

    id: str
    statement: str
    etp_local: bool
    expected: Mapping[Dataplane, str]
    why: str
    load_balancer: LoadBalancerProfile = LoadBalancerProfile.HEALTH_CHECKED
    minimal: Mapping[Dataplane, tuple[int, int]] = attrs.field(factory=dict)

    @property
    def dataplanes(self) -> tuple[Dataplane, ...]:
        return tuple(self.expected)


SPREAD_CLAIMS: tuple[SpreadClaim, ...] = (
    SpreadClaim(
        id="etp-local-even-spread",
        statement="eTP Local spreads external load evenly over the pods (behind a health-checked load balancer).",
        etp_local=True,
        expected=dict.fromkeys((*KUBE_PROXY, Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR), REFUTED),
        why="the load balancer splits traffic per node, and each node splits its share over its local pods only: "
        "a pod alone on its node gets more than pods that share one (Kubernetes docs, 'Caveats and limitations "
        "when preserving source IPs').",
        minimal=dict.fromkeys(KUBE_PROXY, (2, 3)),
    ),
)


@attrs.frozen(kw_only=True)
class AddressClaim:
    """A claim about packets to addresses that belong to no Service: for every cluster and such a packet
    satisfying ``assume``, its outcome satisfies ``require``. Decided by its own solver query
    (:mod:`kverify.symbolic.address`): the per-Service encodings have no place for a packet of no Service."""

    id: str
    statement: str
    assume: Callable[[AddressWorld], Term]
    require: Callable[[AddressWorld], Term]
    expected: Mapping[Dataplane, str]
    why: str
    #: The smallest counterexample Kubernetes' behaviour implies, as (nodes, endpoints), where known.
    minimal: Mapping[Dataplane, tuple[int, int]] = attrs.field(factory=dict)

    @property
    def dataplanes(self) -> tuple[Dataplane, ...]:
        return tuple(self.expected)


ADDRESS_CLAIMS: tuple[AddressClaim, ...] = (
    AddressClaim(
        id="unallocated-service-ip-dropped",
        statement="A new connection to an address inside a service CIDR that no Service holds (an unallocated "
        "ClusterIP) is dropped by the first node's proxy, never routed on to the node's network.",
        assume=lambda w: w.ops.and_(w.situation.in_service_cidr, w.ops.not_(w.situation.held_by_service)),
        require=lambda w: w.dropped,
        expected={Dataplane.IPTABLES: REFUTED, Dataplane.NFTABLES: HOLDS, Dataplane.IPVS: REFUTED},
        why="nftables kube-proxy drops new connections to the ServiceCIDRs' unallocated addresses (cluster-ips-check, "
        "PR #122692, v1.30) once it watches ServiceCIDR objects (MultiCIDRServiceAllocator, on by default from "
        "v1.33): `kverify prove --all-versions` shows it holds from v1.33, and on v1.30-v1.32 only with "
        "`--feature-gates MultiCIDRServiceAllocator=true`. iptables and ipvs install nothing for such an address "
        "(their OnServiceCIDRsChanged is empty), so the packet follows the node's routes (rule "
        "nftables-unallocated-service-ip).",
        minimal={Dataplane.IPTABLES: (1, 0), Dataplane.IPVS: (1, 0)},
    ),
)

ALL_CLAIMS: tuple[Claim | AddressClaim | SpreadClaim, ...] = (
    CLAIMS + REVIEW_CLAIMS + LB_CLAIMS + CNI_CLAIMS + ADDRESS_CLAIMS + SPREAD_CLAIMS
)


def find_claim(claim_id: str) -> Claim | AddressClaim | SpreadClaim:
    for c in ALL_CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(claim_id)
