"""Explanations of a concrete decision: the rule ids that decided it, and its hops."""

from __future__ import annotations

from kverify.concrete import classify
from kverify.model import ClientKind, Cluster, Cni, Destination, DropKind, Endpoint, Flow, Interface, ReplyPath
from kverify.model.enums import CLIENT_EXTERNAL, NOT_INTERCEPTED, TO_LOAD_BALANCER, TO_NODE_PORT
from kverify.results import Hop
from kverify.semantics import cni, delivery, endpoints, nat, nftables_nodeports, policy, reply, socket_lb
from kverify.semantics import dataplane as dp
from kverify.semantics.decide import Decision, ip_target_blocks, via_ip_target
from kverify.semantics.ops import CONCRETE as C


def explain(
    h: classify.Handling, decision: Decision, index: int | None, common: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    """The ids of the rules whose condition held for this outcome, in the order they apply.

    ``common`` is :func:`explain_decision` of the same handling and decision: the rules that fired
    for every outcome of the handling. Computing it looks at every endpoint (the local set), so a
    caller explaining many outcomes of one handling computes it once and passes it, and the cost of
    each outcome's explanation no longer grows with the number of endpoints (issue 11: ``trace`` was
    quadratic in endpoints).
    """
    if common is None:
        common = explain_decision(h, decision)
    if index is None or h.reduced.destination == Destination.HEALTH_CHECK_NODE_PORT:
        return common
    if decision.drop_kind == DropKind.NOT_INTERCEPTED and not via_ip_target(C, h.reduced):
        return common
    return _explain_endpoint(h, decision, index, list(common))


def explain_decision(h: classify.Handling, decision: Decision) -> tuple[str, ...]:
    """The rules that fired for the handling as a whole (before any endpoint is picked)."""
    s = h.reduced
    fired: list[str] = []

    def when(rule_id: str, condition: object) -> None:
        if condition:
            fired.append(rule_id)

    if s.destination == Destination.HEALTH_CHECK_NODE_PORT:
        return ("health-check-node-port-allocated", "health-check-status")
    when("cni-pod-to-node-snat", h.pod_ip is not None)
    if via_ip_target(C, s):
        fired.append("ip-target-lb")
        when("ip-target-lb-source-ranges", ip_target_blocks(C, s))
    else:
        if s.destination == Destination.NODE_PORT:
            fired.append("nodeport-addresses")
        if s.destination == Destination.EXTERNAL_IP:
            fired.append("external-ips-every-node")
        when("lb-ip-mode-proxy", delivery.ip_mode_proxy(C, s))
        # Before v1.25 a KUBE-MARK-DROP on an LB IP only marks what enters the node: it leaves un-DNATed.
        marked_no_local = delivery.no_local_marked_only(C, s, delivery.chosen_endpoints(C, s))
        when("iptables-mark-drop-forwarded", delivery.source_range_marked_only(C, s) or marked_no_local)
        when("drop-no-local-endpoints", marked_no_local)
        when("cilium-no-backend-passes", delivery.cilium_no_backend_passes(C, s))
        if decision.drop_kind == DropKind.NOT_INTERCEPTED:
            return tuple(dict.fromkeys(fired))  # nothing past classification applied
        ranges = delivery.source_range_drop(C, s)
        when("lb-source-ranges", decision.drop_kind == DropKind.DROP and ranges)
        when(
            "cilium-source-ranges-all-types",
            decision.drop_kind == DropKind.DROP and ranges and delivery.cilium_ranges_on_all_types(C, s),
        )
        when("iptables-firewall-needs-endpoints", ranges and delivery.iptables_firewall_skipped(C, s))
        when("nftables-source-ranges-after-dnat", ranges and delivery.nftables_firewall_after_dnat(C, s))
        when("cilium-no-external-cluster-ip", delivery.cilium_external_cluster_ip(C, s))
        uncaptured_node_port = not s.address_captured and s.destination == Destination.NODE_PORT
        when(
            "iptables-nodeport-reject-every-address",
            uncaptured_node_port and delivery.iptables_nodeport_reject_every_address(C, s),
        )
        when("iptables-nodeport-drop-every-address", delivery.nodeport_filtered_uncaptured(C, s))
        when("ipvs-filter-etp-local-external-ip", delivery.ipvs_filter_rejects(C, s))
        when("reject-no-endpoints", decision.drop_kind == DropKind.REJECT and delivery.rejects(C, s))
        when("cilium-no-backend-reject", delivery.rejects(C, s) and dp.is_cilium(C, s))
        fired.append("policy-for-destination")
        when("external-policy-local", policy.external_policy_local(C, s) and policy.is_external_destination(C, s))
        iptables_like = not (dp.is_cilium(C, s) or dp.is_ipvs(C, s))  # ipvs and Cilium do not short-circuit
        # Dropped by nftables' filter-output before nat-output: no external chain, no endpoint set ran.
        dropped = decision.drop_kind == DropKind.DROP and not delivery.filtered(C, s)
        services_pre_dnat = dropped and delivery.nftables_pre_dnat_drop(C, s)
        nodeports_pre_dnat = dropped and nftables_nodeports.output_drop(C, s)
        pre_dnat = services_pre_dnat or nodeports_pre_dnat
        when("etp-local-short-circuit-pod", iptables_like and policy.short_circuit_pod(C, s))
        when("etp-local-short-circuit-host", iptables_like and policy.short_circuit_host(C, s) and not pre_dnat)
        when("cilium-socket-lb-host-namespace-only", socket_lb.pod_per_packet(C, s))
        when(
            "cilium-socket-lb-etp-local",
            delivery.cilium_in_cluster_uses_all(C, s)
            and policy.policy_local(C, s)
            and s.destination != Destination.CLUSTER_IP,
        )
        local = endpoints.local_endpoints(C, s, s.handling_node)
        etp_fallback = decision.uses_local_set and delivery.ipvs_local_fallback(C, s, local)
        itp_fallback = decision.uses_local_set and delivery.ipvs_itp_local_fallback(C, s, local)
        fallback = etp_fallback or itp_fallback
        when("ipvs-etp-local-fallback", etp_fallback)
        uses_local = decision.uses_local_set and not fallback
        if not pre_dnat:
            fired.append("local-endpoints" if uses_local else "cluster-endpoints")
        if not (uses_local or pre_dnat) and not endpoints.cilium_ignores_hints(C, s) and endpoints.hints_enabled(C, s):
            when("topology-prefer-same-node", endpoints.prefer_same_node(C, s))
            when("topology-prefer-same-zone", endpoints.prefer_same_zone(C, s))
        no_local = (
            not pre_dnat
            and decision.drop_kind in (DropKind.DROP, DropKind.REJECT)
            and not delivery.filtered(C, s)
            and delivery.drops_no_local(C, s, decision.chosen)
            and not delivery.rejected(C, s)
        )
        when("drop-no-local-endpoints", no_local)
        when("nftables-no-endpoint-services-pre-dnat", services_pre_dnat)
        when(nftables_nodeports.RULE_ID, nodeports_pre_dnat)
        when("ipvs-itp-local-fallback", itp_fallback)
        when("ipvs-empty-virtual-server-reject", no_local and dp.is_ipvs(C, s))
    return tuple(dict.fromkeys(fired))


def _explain_endpoint(h: classify.Handling, decision: Decision, index: int, fired: list[str]) -> tuple[str, ...]:
    """The rules that fired for the outcome delivered to endpoint ``index``: constant time."""
    s = h.reduced

    def when(rule_id: str, condition: object) -> None:
        if condition:
            fired.append(rule_id)

    e = s.endpoints[index]
    when("endpoint-serving-terminating", not e.ready)
    masqueraded = decision.masqueraded[index]
    node_wide = _node_wide(h)
    # kube-proxy's masquerade rules; Cilium's per-packet hairpin SNAT is its own rule.
    per_packet_hairpin = socket_lb.per_packet_hairpin(C, s, e)
    for rule_id, condition in node_wide[0]:
        when(rule_id, condition and masqueraded and not per_packet_hairpin)
    when("masquerade-hairpin", nat.masquerade_hairpin(C, s, e) and masqueraded and not dp.is_cilium(C, s))
    when("cilium-per-packet-hairpin", per_packet_hairpin and masqueraded)
    when("cilium-snat-remote-backend", nat.cilium_snat_remote(C, s, e) and masqueraded)
    by_kube_proxy = nat.kube_proxy_masquerade(C, s) or nat.masquerade_hairpin(C, s, e)
    when("flannel-masquerade-to-remote-pods", cni.flannel_masquerades(C, s, e) and masqueraded and not by_kube_proxy)
    if masqueraded and not decision.lb_rewrote_source and s.cni != Cni.GENERIC:
        fired.append("masquerade-interface-address")
        interface = decision.snat_interface[index]
        when("cni-bridge-gateway", interface == Interface.BRIDGE)
        when("cni-overlay-tunnel", interface == Interface.TUNNEL)
        when("cni-routed-veth", cni.routed_veth(C, s) and endpoints.is_local(C, e, s.handling_node))
    when("dnat-only", node_wide[1])
    when("ipvs-host-vip-source", node_wide[2] and decision.reply_path[index] == 1)
    fired.append("reply-path")
    return tuple(dict.fromkeys(fired))


_NodeWide = tuple[tuple[tuple[str, object], ...], object, object]
_node_wide_cache: dict[int, tuple[classify.Handling, _NodeWide]] = {}


def _node_wide(h: classify.Handling) -> _NodeWide:
    """The per-outcome rules that do not depend on the endpoint, evaluated once per handling (the
    last handling's are kept: outcomes are explained handling by handling)."""
    cached = _node_wide_cache.get(0)
    if cached is not None and cached[0] is h:
        return cached[1]
    s = h.reduced
    value: _NodeWide = (
        (
            ("masquerade-etp-cluster", nat.masquerade_etp_cluster(C, s)),
            ("masquerade-cluster-ip-off-cluster", nat.masquerade_cluster_ip_off_cluster(C, s)),
            ("masquerade-all", nat.masquerade_all(C, s)),
            ("masquerade-localhost-nodeport", nat.masquerade_localhost(C, s)),
        ),
        nat.no_snat(C, s),
        reply.ipvs_host_vip_source(C, s),
    )
    _node_wide_cache[0] = (h, value)
    return value


# Made once, not per call (hops_for runs for every outcome reported): reading an enum member through its
# class takes Python 3.11's hooked attribute lookup, hundreds of instructions a read.
_CLIENT_WORDS = {ClientKind.EXTERNAL: "client", ClientKind.POD: "pod", ClientKind.NODE: "host"}
#: Reply paths whose reply leaves with the service address as its source.
_REPLY_FROM_SERVICE_ADDRESS = (ReplyPath.VIA_TRANSLATING_NODE, ReplyPath.DIRECT_SERVER_RETURN)


def hops_for(
    cluster: Cluster,
    flow: Flow,
    h: classify.Handling,
    decision: Decision,
    index: int | None,
    seen: str | None,
    endpoint: Endpoint | None = None,
) -> tuple[Hop, ...]:
    """The packet's journey with every address rewrite visible, then the reply's. ``decision`` is the
    rule table on :attr:`~kverify.concrete.classify.Handling.reduced`; ``index`` is the class of
    ``endpoint`` (``None``: not delivered)."""
    port = h.port
    dst_port = port.node_port if flow.destination is TO_NODE_PORT else port.port
    dst = f"{h.dst_ip}:{dst_port}"
    client = _CLIENT_WORDS[flow.client]
    if h.client_node is not None:
        client = f"{client}@{h.client_node.name}"
    node = h.node.name if h.node else None
    hops: list[Hop] = []
    first_stop = node or "load-balancer"
    # A load balancer in front of nodes that rewrites the source (a Classic ELB, an NLB without client IP
    # preservation) does so before the node: the node's proxy sees the LB's address.
    arriving_src = "load-balancer" if node and decision.lb_rewrote_source else h.client_ip
    if flow.client is CLIENT_EXTERNAL and flow.destination is TO_LOAD_BALANCER:
        hops.append(Hop(at=client, to="load-balancer", src=h.client_ip, dst=dst))
        if node:
            proxies = (
                "; it proxies the connection: the source becomes its address" if arriving_src != h.client_ip else ""
            )
            hops.append(
                Hop(
                    at="load-balancer",
                    to=node,
                    src=arriving_src,
                    dst=dst,
                    note=f"{h.reduced.load_balancer} picks {node}{proxies}",
                )
            )
    elif node and (h.client_node is None or h.client_node != h.node):
        if h.pod_ip is not None and h.client_node is not None:
            hops.append(
                Hop(
                    at=client,
                    to=h.client_node.name,
                    src=h.pod_ip,
                    dst=dst,
                    note=f"SNAT {h.pod_ip} -> {h.client_ip} on {h.client_node.name} by the CNI "
                    "(rule cni-pod-to-node-snat)",
                )
            )
            client = h.client_node.name
        hops.append(Hop(at=client, to=node, src=h.client_ip, dst=dst))
    else:
        hops.append(
            Hop(
                at=client,
                to=f"{first_stop} (proxy)",
                src=h.client_ip,
                dst=dst,
                note="local delivery to the node's proxy",
            )
        )
    if index is None:
        kind = DropKind(decision.drop_kind) if decision.drop_kind else None
        if kind is NOT_INTERCEPTED:
            note = f"no proxy rule matches on {first_stop}: routed on unchanged"
        else:
            note = f"{kind.spelling.upper() if kind else 'not delivered'} by the proxy on {first_stop}"
        hops.append(Hop(at=first_stop, to="(end)", src=arriving_src, dst=dst, note=note))
        return tuple(hops)
    assert endpoint is not None  # a delivered outcome names its endpoint
    target_port = endpoint.target_port(port.name) or (
        port.target_port if isinstance(port.target_port, int) else port.port
    )
    new_dst = f"{endpoint.ip}:{target_port}"
    src_now = seen or h.client_ip
    rewrites = [f"DNAT {dst} -> {new_dst}"]
    if decision.masqueraded[index]:
        rewrites.append(f"SNAT {arriving_src} -> {src_now}")
    elif decision.lb_rewrote_source and not node:
        rewrites = [f"LB proxies to {new_dst}, source becomes the LB's address"]
    where = endpoint.node_name or "an unknown node"
    hops.append(Hop(at=first_stop, to=where, src=src_now, dst=new_dst, note="; ".join(rewrites) + f" on {first_stop}"))
    hops.append(Hop(at=where, to=endpoint.pod or f"pod {endpoint.ip}", src=src_now, dst=new_dst))
    path = ReplyPath(decision.reply_path[index])
    reply_src = dst if path in _REPLY_FROM_SERVICE_ADDRESS else new_dst
    reply_note = {
        ReplyPath.VIA_TRANSLATING_NODE: f"reply un-NATed on {first_stop}",
        ReplyPath.DIRECT_SERVER_RETURN: f"DSR: {where} rewrites the reply's source to the service address",
        ReplyPath.DIRECT_FROM_ENDPOINT_NODE: (
            f"reply leaves {where} directly, not un-NATed: the client expected {dst} and drops it"
        ),
        ReplyPath.FROM_LOAD_BALANCER: "reply returns through the load balancer",
    }[path]
    pod = endpoint.pod or f"pod {endpoint.ip}"
    if arriving_src != h.client_ip and path is ReplyPath.VIA_TRANSLATING_NODE:
        # A proxying LB owns the connection to the node: the reply goes back to it, and it answers the client.
        hops.append(Hop(at=pod, to="load-balancer", src=reply_src, dst="load-balancer", note=reply_note))
        hops.append(
            Hop(at="load-balancer", to=client, src=dst, dst=h.client_ip, note="the load balancer answers the client")
        )
        return tuple(hops)
    hops.append(Hop(at=pod, to=client, src=reply_src, dst=h.client_ip, note=reply_note))
    return tuple(hops)
