"""Whether the proxy captures a packet, which endpoint set it uses, and DROP versus REJECT."""

from __future__ import annotations

from kverify.model.enums import ClientKind, Dataplane, Destination, ServiceType
from kverify.semantics import dataplane as dp
from kverify.semantics.endpoints import any_usable, cluster_endpoints, local_endpoints
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import (
    external_policy_local,
    is_external_destination,
    policy_local,
    short_circuit_host,
    short_circuit_pod,
    source_is_this_host,
)
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

K8S = "kubernetes/kubernetes"
CILIUM_DOC = "cilium/cilium Documentation/network/kubernetes/kubeproxy-free.rst"


@rule(
    "lb-ip-mode-proxy",
    title="A LoadBalancer ingress IP with ipMode Proxy gets no proxy rules: packets go to the real load balancer.",
    source=f"{K8S} pkg/proxy/serviceport.go newBaseServiceInfo (skips !IsVIPMode); "
    "nftables/proxier_test.go TestLoadBalancerIngressRouteTypeProxy; KEP-1860",
    since="v1.30 (LoadBalancerIPMode beta)",
)
def ip_mode_proxy(ops: Ops, s: Situation) -> Term:
    return ops.and_(ops.eq(s.destination, Destination.LOAD_BALANCER), s.dst_ip_mode_proxy)


@rule(
    "cilium-no-external-cluster-ip",
    title="Cilium drops packets from outside the cluster to a ClusterIP (bpf.lbExternalClusterIP=false, the default; "
    "with true the ClusterIP frontend is routable and load-balanced like a NodePort).",
    source=f"{CILIUM_DOC} 'External Access To ClusterIP Services'; bpf/lib/nodeport.h nodeport_lb4 "
    "(DROP_IS_CLUSTER_IP); pkg/loadbalancer/reconciler/bpf_reconciler.go (isRoutable)",
    since="Cilium v1.9",
    dataplanes="cilium-snat, cilium-dsr",
)
def cilium_external_cluster_ip(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        dp.is_cilium(ops, s),
        ops.not_(s.cilium_external_cluster_ip),
        ops.eq(s.client, ClientKind.EXTERNAL),
        ops.eq(s.destination, Destination.CLUSTER_IP),
    )


def intercepted(ops: Ops, s: Situation) -> Term:
    """The proxy on the handling node captures the packet (see the classification rules)."""
    return ops.and_(
        ops.or_(
            s.address_captured,
            iptables_nodeport_reject_every_address(ops, s),
            iptables_nodeport_drop_every_address(ops, s),
        ),
        ops.not_(ip_mode_proxy(ops, s)),
        ops.not_(source_range_marked_only(ops, s)),
        ops.not_(cilium_no_backend_passes(ops, s)),
    )


@rule(
    "iptables-nodeport-reject-every-address",
    title="iptables: a NodePort whose service port has no endpoints is REJECTed on every local address of the "
    "node, also on addresses outside --nodeport-addresses (whose NodePorts the nat rules do not capture): the "
    "filter rule matches `-m addrtype --dst-type LOCAL` and the port, not the NodePort addresses.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules, 'Capture nodeports' (no endpoints: "
    "`-A KUBE-EXTERNAL-SERVICES ... -m addrtype --dst-type LOCAL ... --dport <nodePort> -j REJECT`, only the "
    "KUBE-SERVICES jump to KUBE-NODEPORTS is limited to the NodePort addresses); proxier_test.go "
    "TestHealthCheckNodePort at v1.24 (nodePortAddresses 127.0.0.0/8, the REJECT rule still on every LOCAL "
    "address); the same filter rule (`if !hasExternalEndpoints`) read at ~v1.34",
    since="v1.24 (read at v1.24 and ~v1.34; older than both)",
    dataplanes="iptables",
)
def iptables_nodeport_reject_every_address(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.IPTABLES),
        ops.eq(s.destination, Destination.NODE_PORT),
        s.has_node_port,
        ops.not_(any_usable(ops, s)),
    )


@rule(
    "iptables-nodeport-drop-every-address",
    title="iptables from v1.25: a NodePort of an eTP Local Service with usable endpoints, none of them on this "
    "node, is DROPped on every local address of the node, also on addresses outside --nodeport-addresses (which "
    "the nat rules do not capture, so no short-circuit applies and every client is dropped, pods and the host "
    "included). Before v1.25 the 'no local endpoints' drop was a KUBE-MARK-DROP in the nat chain reached from "
    "KUBE-NODEPORTS, so a NodePort on an address outside --nodeport-addresses was not intercepted.",
    source=f"{K8S} PR #110290 'Don't use KUBE-MARK-DROP for \"no local endpoints\"' (KEP-3178: 'a filter "
    "table rule that calls -j DROP, exactly like the way we call -j REJECT when there are no endpoints at "
    "all'; listed with #110289 among the alpha code PRs of kubernetes/enhancements#3178, alpha target 1.25); "
    "pkg/proxy/iptables/proxier.go syncProxyRules at kubernetes@531be812 (~v1.34): `hasExternalEndpoints` is "
    "false when ExternalPolicyLocal() and no local endpoints, and 'Capture nodeports' writes `-A "
    "KUBE-EXTERNAL-SERVICES ... -m addrtype --dst-type LOCAL ... --dport <nodePort> -j DROP` (the target is "
    "DROP, REJECT only with no endpoints at all), the chain jumped from INPUT and FORWARD for NEW connections; "
    "proxier_test.go TestOverallIPTablesRulesWithMultipleServices (ns2/svc2: 'has no local endpoints' "
    "--dst-type LOCAL --dport 3001 -j DROP) in the ~v1.28 and ~v1.31-v1.33 copies; at v1.24 "
    "(uccps-samples/kubernetes@041f707c) the same service has only KUBE-SVL 'has no local endpoints' -j "
    "KUBE-MARK-DROP in the nat table",
    since="v1.25",
    dataplanes="iptables",
    history=(
        (
            "v1.24",
            "eTP Local without local endpoints: KUBE-MARK-DROP in the nat chain behind KUBE-NODEPORTS; addresses "
            "outside --nodeport-addresses not intercepted",
            "kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go at v1.24",
        ),
        (
            "v1.25",
            "a filter-table DROP on every local address (`-m addrtype --dst-type LOCAL`)",
            "kubernetes/kubernetes#110290",
        ),
    ),
)
def iptables_nodeport_drop_every_address(ops: Ops, s: Situation) -> Term:
    # kube-proxy's hasExternalEndpoints: usable endpoints exist (else the REJECT rule above), but the
    # external policy is Local and the local set (ready, else serving-terminating) is empty.
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.IPTABLES),
        ops.not_(ops.lt(s.k8s_minor, 25)),
        ops.eq(s.destination, Destination.NODE_PORT),
        s.has_node_port,
        any_usable(ops, s),
        external_policy_local(ops, s),
        ops.not_(ops.any_(local_endpoints(ops, s, s.handling_node))),
    )


def nodeport_filtered_uncaptured(ops: Ops, s: Situation) -> Term:
    """A NodePort packet that the nat rules did not capture, dropped by the filter table's every-address rule."""
    return ops.and_(ops.not_(s.address_captured), iptables_nodeport_drop_every_address(ops, s))


@rule(
    "cilium-no-backend-passes",
    title="Cilium v1.12: a pod's or host's packet to a Service with no usable backend is not translated (the "
    "service lookup skips a frontend without backends) and leaves the node un-DNATed; from v1.13 it is "
    "dropped (rejected from v1.15, see cilium-no-backend-reject).",
    source="cilium/cilium#21453 ('lb4_lookup_service() returns NULL for a SVC with 0 backends, so we skip all "
    "subsequent service processing'); PR #22388 'Fix behavior where packets leave node if there are no "
    "backends (v2)' (release note 'Traffic addressed to a service IP is dropped, if no backend is available', "
    "v1.13); the v1.12 backport #22466 was closed unmerged",
    since="Cilium v1.13",
    dataplanes="cilium-snat, cilium-dsr",
    history=(
        (
            "Cilium v1.12",
            "east-west packets to a Service without backends leave the node un-DNATed",
            "cilium/cilium#21453",
        ),
        ("Cilium v1.13", "dropped (DROP_NO_SERVICE)", "cilium/cilium#22388"),
    ),
)
def cilium_no_backend_passes(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        dp.is_cilium(ops, s),
        ops.lt(s.cilium_minor, 13),
        dp.in_cluster_client(ops, s),
        ops.not_(any_usable(ops, s)),
    )


@rule(
    "lb-source-ranges",
    title="Traffic to a LoadBalancer IP from outside loadBalancerSourceRanges is dropped "
    "(kube-proxy: every client; Cilium: external clients only, the check runs in nodeport_lb4 on packets "
    "arriving from outside). NodePorts are not filtered (Cilium: see cilium-source-ranges-all-types).",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules (KUBE-FW / KUBE-PROXY-FIREWALL); "
    f"nftables/proxier_test.go TestLoadBalancer; {CILIUM_DOC} 'LoadBalancer Source Ranges Checks' ('When "
    "accessing the service from inside a cluster, the kube-proxy replacement will ignore the field'); "
    "cilium/cilium bpf/lib/nodeport.h nodeport_lb4 (`if (!lb4_src_range_ok(svc, ip4->saddr)) return "
    "DROP_NOT_IN_SRC_RANGE`, the only caller)",
    since="v1.22",
)
def source_range_drop(ops: Ops, s: Situation) -> Term:
    applies = ops.ite(dp.is_cilium(ops, s), ops.eq(s.client, ClientKind.EXTERNAL), ops.true)
    guarded = ops.or_(ops.eq(s.destination, Destination.LOAD_BALANCER), cilium_ranges_on_all_types(ops, s))
    return ops.and_(guarded, applies, ops.not_(s.src_allowed_by_ranges))


@rule(
    "cilium-source-ranges-all-types",
    title="Cilium with bpf.lbSourceRangeAllTypes=true (from v1.17) checks loadBalancerSourceRanges on every "
    "frontend of the Service, not only its LoadBalancer IP: the NodePort, the externalIPs and the ClusterIP "
    "(which external clients reach only with bpf.lbExternalClusterIP=true); in-cluster clients are still not "
    "checked. v1.18.0 to v1.18.5 did so by default (a regression of the new services control plane).",
    source="cilium/cilium PR #35512 'support service source ranges also for other types' (v1.17; "
    f"{CILIUM_DOC} 'LoadBalancer Source Ranges Checks': '``NodePort`` as well as ``ClusterIP`` (if externally "
    "accessible ...) also filter traffic'); pkg/loadbalancer/service.go GetSourceRangesEnabled (`if "
    "lbSourceRangeAllTypes { return len(svc.SourceRanges) > 0 }`, else LoadBalancer only), "
    "pkg/loadbalancer/reconciler/bpf_reconciler.go (checkSourceRange -> SVC_FLAG_SOURCE_RANGE); "
    "pkg/loadbalancer/tests/testdata/source-ranges-all.txtar (ClusterIP+check source-range), "
    "source-ranges-dfl.txtar (LoadBalancer only); cilium/cilium#42334 (v1.18.2: 'drop (Denied by LB src range "
    "check)' on a NodePort), fixed by PR #42351 (v1.19) and its backport #43575 (v1.18.6 release notes)",
    since="Cilium v1.17 (#35512)",
    dataplanes="cilium-snat, cilium-dsr",
    history=(
        (
            "Cilium v1.17",
            "bpf.lbSourceRangeAllTypes added (default false): ranges on NodePort, externalIP and ClusterIP too",
            "cilium/cilium#35512",
        ),
        (
            "Cilium v1.18.0",
            "regression: ranges checked on every frontend type by default (v1.18.0 to v1.18.5)",
            "cilium/cilium#42334",
        ),
        ("Cilium v1.18.6", "fixed: LoadBalancer frontends only unless the option is set", "cilium/cilium#43575"),
    ),
)
def cilium_ranges_on_all_types(ops: Ops, s: Situation) -> Term:
    other_frontend = ops.or_(
        ops.eq(s.destination, Destination.NODE_PORT),
        ops.eq(s.destination, Destination.EXTERNAL_IP),
        ops.eq(s.destination, Destination.CLUSTER_IP),
    )
    return ops.and_(dp.is_cilium(ops, s), s.cilium_source_ranges_all_types, other_frontend)


@rule(
    "iptables-firewall-needs-endpoints",
    title="iptables installs the loadBalancerSourceRanges firewall only for a service port with endpoints: "
    "with none, a blocked client is REJECTed like any other (nftables and ipvs DROP it first).",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules "
    "(`usesFWChain := hasEndpoints && len(svcInfo.LoadBalancerVIPs()) > 0 && len(...LoadBalancerSourceRanges()) > 0`; "
    "'has no endpoints' REJECT in the filter table)",
    since="v1.22 (read at ~v1.28 and ~v1.34)",
    dataplanes="iptables",
)
def iptables_firewall_skipped(ops: Ops, s: Situation) -> Term:
    return ops.and_(ops.eq(s.dataplane, Dataplane.IPTABLES), ops.not_(any_usable(ops, s)))


@rule(
    "iptables-mark-drop-forwarded",
    title="iptables before v1.25: a packet that enters the node (an external client's, or a pod's) and that the nat "
    "rules send to KUBE-MARK-DROP on a LoadBalancer IP (KUBE-FW, source outside loadBalancerSourceRanges; or "
    "eTP Local's 'has no local endpoints' for a client that is not short-circuited) is only marked and left "
    "un-DNATed: kubelet's KUBE-FIREWALL, which drops the mark, hooks INPUT and OUTPUT but not FORWARD, and in "
    "iptables mode the LB IP is not a local address of the node, so the packet is forwarded on un-DNATed (not "
    "intercepted). A host-network client's packet passes OUTPUT and is dropped. From v1.25 kube-proxy drops "
    "both itself, in filter chains hooked from FORWARD too.",
    source=f"{K8S} proxier_test.go at v1.24 (uccps-samples/kubernetes@041f707c: KUBE-FW ends in -j "
    "KUBE-MARK-DROP, KUBE-SVL in 'has no local endpoints' -j KUBE-MARK-DROP; no filter rule for either); "
    "kubelet pkg/kubelet/kubelet_network_linux.go syncNetworkUtil at kubernetes@02c82103 (pre-v1.25: "
    "KUBE-FIREWALL prepended to INPUT and OUTPUT only, 'Marked connection will be drop on INPUT/OUTPUT Chain "
    "in filter table'); kubernetes/kubernetes#85572 (danwinship: forwarded marked traffic is not dropped by "
    "the KUBE-MARK-DROP rules); PR #110289 'Don't use KUBE-MARK-DROP for LoadBalancerSourceRanges' (v1.25, "
    "KEP-3178: KUBE-PROXY-FIREWALL hooked from INPUT, FORWARD and OUTPUT) and PR #110290 (v1.25: "
    "KUBE-EXTERNAL-SERVICES 'has no local endpoints' -d <LB IP> -j DROP, hooked from INPUT and FORWARD); "
    "kubernetes/kubernetes#109575 (report: in-cluster clients denied since v1.25)",
    since="v1.25",
    dataplanes="iptables",
    history=(
        (
            "v1.24",
            "external and pod traffic marked for drop on an LB IP passes kube-proxy un-DNATed and is forwarded",
            "kubelet KUBE-FIREWALL (INPUT/OUTPUT only)",
        ),
        (
            "v1.25",
            "dropped by kube-proxy's filter rules (source ranges; eTP Local without local endpoints)",
            "kubernetes/kubernetes#110289, #110290",
        ),
    ),
)
def iptables_mark_only(ops: Ops, s: Situation) -> Term:
    # The packet is handled in PREROUTING (not OUTPUT, where KUBE-FIREWALL would drop it) and routed on
    # towards the LB IP, which kube-proxy's iptables mode never puts on the node.
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.IPTABLES),
        ops.lt(s.k8s_minor, 25),
        ops.eq(s.destination, Destination.LOAD_BALANCER),
        ops.not_(source_is_this_host(ops, s)),
    )


def source_range_marked_only(ops: Ops, s: Situation) -> Term:
    """Before v1.25: outside loadBalancerSourceRanges, marked by KUBE-FW and forwarded un-DNATed."""
    return ops.and_(iptables_mark_only(ops, s), source_range_drop(ops, s), ops.not_(iptables_firewall_skipped(ops, s)))


def no_local_marked_only(ops: Ops, s: Situation, chosen: tuple[Term, ...]) -> Term:
    """Before v1.25: eTP Local without local endpoints, marked by KUBE-SVL and forwarded un-DNATed."""
    return ops.and_(iptables_mark_only(ops, s), drops_no_local(ops, s, chosen))


@rule(
    "ipvs-filter-etp-local-external-ip",
    title="ipvs v1.26 to v1.28: a new connection to an externalIP of an eTP Local Service is REJECTed by "
    "KUBE-IPVS-FILTER (filter INPUT, before IPVS), whose RETURN list lacked the KUBE-EXTERNAL-IP-LOCAL set; "
    "external clients and pods are refused, host-network clients (translated by IPVS on output) are not.",
    source=f"{K8S} PR #108460 (KUBE-IPVS-FILTER, v1.26); PR #121919 'kube-proxy: Fix etp:Local for externalIPs' "
    "(fixes #121909; release note 'Fixes a 1.26.0+ regression ... externalIPs work with externalTrafficPolicy: "
    "Local'), backported to release-1.29 by #122323; pkg/proxy/ipvs/proxier.go writeIptablesRules "
    "(`-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN`, then "
    "`--ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT`)",
    since="v1.29 (fix backported to a v1.29 patch release; v1.30 in master)",
    dataplanes="ipvs",
    history=(
        ("v1.26", "regression: eTP Local externalIPs REJECTed by KUBE-IPVS-FILTER", "kubernetes/kubernetes#108460"),
        (
            "v1.29",
            "fixed by the backport #122323 in a v1.29 patch release (kverify models v1.29 as fixed; v1.29.0 "
            "behaves as v1.28)",
            "kubernetes/kubernetes#121919",
        ),
    ),
)
def ipvs_filter_rejects(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        dp.is_ipvs(ops, s),
        ops.not_(ops.lt(s.k8s_minor, 26)),
        ops.lt(s.k8s_minor, 29),
        ops.eq(s.destination, Destination.EXTERNAL_IP),
        s.etp_local_spec,
        ops.not_(ops.eq(s.client, ClientKind.NODE)),
    )


@rule(
    "nftables-source-ranges-after-dnat",
    title="nftables v1.29 (alpha): loadBalancerSourceRanges are not enforced for packets that enter the node (from "
    "outside or from a pod): firewall-check ran only from the input, forward and output hooks, after "
    "nat-prerouting had DNATed the packet, so its destination no longer matched the LoadBalancer IP. A "
    "host-network client is still filtered: filter-output (priority -101) runs before nat-output (-100).",
    source=f"{K8S} PR #122614 'kube-proxy: fix LoadBalancerSourceRanges not working for nftables mode' ('the "
    "firewall-check chain was run in input, forward, and output hook but not prerouting hook. When the "
    "LoadBalancer traffic arrived at input or forward hook, it had been DNATed to endpoint IP and port'; "
    "release note listed in CHANGELOG-1.30 under 'Changelog since v1.29.0', v1.30.0-alpha.1; no v1.29 "
    "backport found); PR #122296 (diff of proxier_test.go at v1.29's layout: filter-forward and filter-input "
    "at priority -101 jumping to firewall-check); pkg/proxy/nftables/proxier_test.go at v1.29 passed its "
    "'blocked external to LB' DROP rows only because its tracer ran base chains by priority, whatever "
    "their hook (fixed in #122614's helpers_test.go)",
    since="v1.30 (fix); v1.29 affected",
    dataplanes="nftables",
    history=(
        ("v1.29", "nftables alpha: source ranges apply only to host-network clients", "kubernetes/kubernetes#122296"),
        ("v1.30", "firewall-check runs from filter-prerouting, before DNAT", "kubernetes/kubernetes#122614"),
    ),
)
def nftables_firewall_after_dnat(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.NFTABLES),
        ops.lt(s.k8s_minor, 30),
        ops.not_(ops.eq(s.client, ClientKind.NODE)),
    )


def filtered(ops: Ops, s: Situation) -> Term:
    """Dropped before endpoint selection (source ranges; Cilium's external ClusterIP guard; an uncaptured
    iptables NodePort without local endpoints)."""
    ranges = ops.and_(
        source_range_drop(ops, s),
        ops.not_(iptables_firewall_skipped(ops, s)),
        ops.not_(nftables_firewall_after_dnat(ops, s)),
    )
    return ops.or_(ranges, cilium_external_cluster_ip(ops, s), nodeport_filtered_uncaptured(ops, s))


@rule(
    "cilium-socket-lb-etp-local",
    title="Cilium: in-cluster clients of an eTP Local service reach all backends (socket-LB, no SNAT).",
    source=f"{CILIUM_DOC} 'Client Source IP Preservation', 'Internal Traffic Policy' (table); "
    "pkg/loadbalancer/reflectors/conversions.go convertService (two scopes when eTP and iTP differ)",
    since="Cilium v1.10",
    dataplanes="cilium-snat, cilium-dsr",
)
def cilium_in_cluster_uses_all(ops: Ops, s: Situation) -> Term:
    return dp.cilium_socket_lb(ops, s)


def uses_local_set(ops: Ops, s: Situation) -> Term:
    """The flow is served from the handling node's local endpoints (else the Cluster set)."""
    is_cluster_ip = ops.eq(s.destination, Destination.CLUSTER_IP)
    short_circuited = ops.ite(
        dp.is_cilium(ops, s),
        ops.and_(ops.not_(is_cluster_ip), cilium_in_cluster_uses_all(ops, s)),
        ops.and_(
            ops.not_(dp.is_ipvs(ops, s)),
            ops.or_(short_circuit_pod(ops, s), short_circuit_host(ops, s)),
        ),
    )
    return ops.and_(policy_local(ops, s), ops.not_(short_circuited))


@rule(
    "ipvs-etp-local-fallback",
    title="ipvs: an eTP Local virtual server holds the node's local endpoints for every source (no pod "
    "short-circuit, no masquerade); with none it holds all endpoints, so external clients reach remote pods "
    "unmasqueraded and their replies are lost.",
    source="kubernetes/kubernetes pkg/proxy/ipvs/proxier.go syncEndpoint (onlyNodeLocalEndpoints, PR #97081), "
    "writeIptablesRules (KUBE-NODE-PORT-LOCAL / KUBE-LOAD-BALANCER-LOCAL RETURN before KUBE-MARK-MASQ)",
    since="v1.21",
    dataplanes="ipvs",
)
def ipvs_local_fallback(ops: Ops, s: Situation, local: tuple[Term, ...]) -> Term:
    """In ipvs mode with eTP Local: the local set is empty, so use the cluster set."""
    return ops.and_(dp.is_ipvs(ops, s), is_external_destination(ops, s), ops.not_(ops.any_(local)))


@rule(
    "ipvs-itp-local-fallback",
    title="ipvs: an iTP Local ClusterIP virtual server on a node without local endpoints falls back to the "
    "Cluster set, which kube-proxy computes only for a Service that is externally accessible (so traffic "
    "reaches every endpoint); for a ClusterIP-only Service that set is empty and the virtual server has no "
    "real servers.",
    source=f"{K8S} pkg/proxy/ipvs/proxier.go syncProxyRules (`internalNodeLocal` -> syncEndpoint), syncEndpoint "
    "(`if len(localEndpoints) > 0 {...} else { endpoints = clusterEndpoints }`, PR #97081); "
    "pkg/proxy/topology.go CategorizeEndpoints (`if !svcInfo.UsesClusterEndpoints()`); "
    "pkg/proxy/serviceport.go UsesClusterEndpoints (`!internalPolicyLocal || ExternallyAccessible()`)",
    since="v1.22 (iTP Local beta); read at ~v1.33",
    dataplanes="ipvs",
)
def ipvs_itp_local_fallback(ops: Ops, s: Situation, local: tuple[Term, ...]) -> Term:
    return ops.and_(dp.is_ipvs(ops, s), ops.eq(s.destination, Destination.CLUSTER_IP), ops.not_(ops.any_(local)))


def uses_cluster_endpoints(ops: Ops, s: Situation) -> Term:
    """kube-proxy computes the Cluster set (``UsesClusterEndpoints``): iTP Cluster or externally accessible."""
    accessible = ops.or_(
        ops.eq(s.service_type, ServiceType.NODE_PORT),
        ops.eq(s.service_type, ServiceType.LOAD_BALANCER),
        s.has_external_ips,
    )
    return ops.or_(ops.not_(s.itp_local_spec), accessible)


def chosen_endpoints(ops: Ops, s: Situation) -> tuple[Term, ...]:
    """Per endpoint: whether the proxy may DNAT this flow to it."""
    local = local_endpoints(ops, s, s.handling_node)
    cluster = cluster_endpoints(ops, s)
    fallback = ops.or_(ipvs_local_fallback(ops, s, local), ipvs_itp_local_fallback(ops, s, local))
    use_local = ops.and_(uses_local_set(ops, s), ops.not_(fallback))
    # An ipvs fallback reads the Cluster set kube-proxy computed, which is nil unless UsesClusterEndpoints.
    cluster_known = ops.or_(ops.not_(dp.is_ipvs(ops, s)), uses_cluster_endpoints(ops, s))
    return tuple(ops.ite(use_local, lo, ops.and_(cluster_known, cl)) for lo, cl in zip(local, cluster, strict=True))


@rule(
    "nftables-no-endpoint-services-pre-dnat",
    title="nftables before the #132456 fix: traffic from the node itself (a host-network process) to an eTP Local "
    "Service's LoadBalancer IP or externalIP is dropped on a node without local endpoints: filter-output checks "
    "the no-endpoint-services map before nat-output's DNAT, so the host short-circuit never runs. Pod traffic "
    "is not dropped: it is DNATed to the Cluster set in prerouting and the forward hook's check sees the "
    "endpoint's address.",
    source=f"{K8S} pkg/proxy/nftables/proxier.go nftablesBaseChains (filter-output: output hook, priority "
    "DNATPriority-10; nat-output: DNATPriority) and nftablesJumpChains (endpoints-check only from filter-input, "
    "filter-forward, filter-output), setupNFTables (endpoints-check: 'ip daddr . meta l4proto . th dport vmap "
    "@no-endpoint-services', the packet's current address), syncProxyRules (external chain 'short-circuit pod "
    "traffic' goto the cluster chain), read at openshift/kubernetes@84a2e12f (v1.30) and aroradaman/kubernetes"
    "@15ac54fe (service-endpoints-check, v1.32-v1.33); PR #122614 ('When the LoadBalancer traffic arrived at "
    "input or forward hook, it had been DNATed'); PR #132456 (fix: filter-output-pre-dnat holds only "
    "firewall-check, filter chains at priority 0; its description: the pre-DNAT filtering 'is only used in "
    "filter-prerouting and filter-output', subjecting 'locally originated traffic' to the external policy); "
    "PR #133969 (backport to release-1.33). kubernetes/kubernetes#131765 and the release note say pods; the "
    "rules drop only host traffic (a host-network pod is host traffic)",
    since="v1.29 (nftables alpha); fixed in v1.34 and a v1.33 patch release",
    dataplanes="nftables",
    history=(
        (
            "v1.33",
            "fixed by the backport #133969 in a v1.33 patch release (kverify models v1.33 as fixed; earlier "
            "v1.33 patches behave as v1.32)",
            "kubernetes/kubernetes#133969",
        ),
        (
            "v1.34",
            "fixed: traffic from the node to external addresses short-circuits like iptables",
            "kubernetes/kubernetes#132456",
        ),
    ),
)
def nftables_pre_dnat_drop(ops: Ops, s: Situation) -> Term:
    # Only the output hook runs a filter chain before DNAT on the same hook; a pod's packet reaches
    # filter-forward after nat-prerouting rewrote its destination, so the map (keyed by the LB IP or
    # externalIP) no longer matches. Host traffic is dropped whatever its source address: filter-output
    # (priority -110) runs before nat-output (-100), where either short-circuit would apply.
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.NFTABLES),
        ops.lt(s.k8s_minor, 33),
        source_is_this_host(ops, s),
        ops.or_(ops.eq(s.destination, Destination.LOAD_BALANCER), ops.eq(s.destination, Destination.EXTERNAL_IP)),
        external_policy_local(ops, s),
        ops.not_(ops.any_(local_endpoints(ops, s, s.handling_node))),
    )


@rule(
    "reject-no-endpoints",
    title="A service port with no usable endpoint anywhere REJECTs (ICMP unreachable / TCP reset).",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules ('has no endpoints' REJECT); "
    "nftables/proxier_test.go TestNoEndpointsReject",
    since="v1.22",
)
def rejects(ops: Ops, s: Situation) -> Term:
    return ops.not_(any_usable(ops, s))


def rejected(ops: Ops, s: Situation) -> Term:
    """REJECTed before endpoint selection: no usable endpoint (unless Cilium drops those), or ipvs'
    KUBE-IPVS-FILTER regression."""
    no_backend = ops.and_(rejects(ops, s), ops.not_(cilium_drops_no_backend(ops, s)))
    return ops.or_(no_backend, ipvs_filter_rejects(ops, s))


def cilium_drops_no_backend(ops: Ops, s: Situation) -> Term:
    """Cilium drops (rather than rejects) traffic to a frontend without backends."""
    return ops.and_(dp.is_cilium(ops, s), ops.not_(cilium_rejects_no_backend(ops, s)))


def cilium_no_backend_dropped(ops: Ops, s: Situation) -> Term:
    """No usable backend anywhere, on a Cilium that drops such traffic."""
    return ops.and_(rejects(ops, s), cilium_drops_no_backend(ops, s))


@rule(
    "drop-no-local-endpoints",
    title="A Local policy with usable endpoints elsewhere but none on this node DROPs silently.",
    source=f"{K8S} pkg/proxy/iptables/proxier.go syncProxyRules ('has no local endpoints' DROP); "
    "nftables/proxier_test.go TestExternalTrafficPolicyLocal, TestInternalTrafficPolicy",
    since="v1.22",
)
def drops_no_local(ops: Ops, s: Situation, chosen: tuple[Term, ...]) -> Term:
    return ops.and_(any_usable(ops, s), ops.not_(ops.any_(chosen)))


@rule(
    "ipvs-empty-virtual-server-reject",
    title="ipvs: a virtual server with no real servers answers ICMP port unreachable (a reject, TCP or UDP), "
    "where iptables/nftables would DROP for 'no local endpoints'.",
    source="torvalds/linux net/netfilter/ipvs/ip_vs_core.c ip_vs_leave ('ICMP_PORT_UNREACH is sent here no matter "
    "it is TCP/UDP'); kubernetes/kubernetes#72534 (ipvs needs no REJECT rule)",
    since="v1.11 (ipvs GA)",
    dataplanes="ipvs",
)
def ipvs_empty_rejects(ops: Ops, s: Situation) -> Term:
    return dp.is_ipvs(ops, s)


@rule(
    "cilium-no-backend-reject",
    title="Cilium answers a frontend with no (local) backend with ICMP port-unreachable "
    "(serviceNoBackendResponse=reject, the default from v1.15) instead of dropping; with drop, and before "
    "v1.15, the packet is dropped.",
    source="cilium/cilium bpf/lib/lb.h tail_no_service_ipv4 (ICMP port unreachable); "
    "bpf/tests/tc_nodeport_lb4_no_backend.c tc_nodeport_no_backend; flag service-no-backend-response "
    "(default reject; pkg/datapath/linux/config/config.go: SERVICE_NO_BACKEND_RESPONSE only for reject); "
    "PR cilium/cilium#28157 'Respond with ICMP reply for traffic to services without backends'",
    since="Cilium v1.15",
    dataplanes="cilium-snat, cilium-dsr",
    history=(
        ("Cilium v1.13", "a frontend without backends drops (DROP_NO_SERVICE)", "cilium/cilium#22388"),
        (
            "Cilium v1.15",
            "serviceNoBackendResponse, default reject: ICMP port unreachable instead of the drop",
            "cilium/cilium#28157",
        ),
    ),
)
def cilium_rejects_no_backend(ops: Ops, s: Situation) -> Term:
    return ops.and_(dp.is_cilium(ops, s), ops.not_(ops.lt(s.cilium_minor, 15)), s.cilium_no_backend_reject)
