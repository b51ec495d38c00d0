"""The executable model: every possible outcome of a flow, concretely.

``route`` classifies the flow (``classify.py``), evaluates the shared rule table with Python values
(:func:`kverify.semantics.decide.decide` under ``ConcreteOps``) and turns the decision into
:class:`~kverify.results.Outcome` values with their hops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import TypeVar

import attrs

from kverify.concrete import classify, cni_addresses, nlb_hairpin, nodeport_split, unknown_lb
from kverify.concrete.alike import Decided, decided, renamed_views
from kverify.concrete.endpoint_set import EndpointSet
from kverify.concrete.explain import hops_for
from kverify.concrete.index import endpoint_set, index_of
from kverify.concrete.lb_exclusion import excluded_nodes, exclusion_reason
from kverify.errors import NO_NODES, InputError, NotModelled, Problem, names, quote
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    DropKind,
    Endpoint,
    Flow,
    Interface,
    IPMode,
    LoadBalancerProfile,
    Node,
    ReplyPath,
    Service,
    ServicePort,
)
from kverify.model.enums import (
    CLIENT_EXTERNAL,
    CLIENT_NODE,
    POD_TARGET_PROFILES,
    TO_EXTERNAL_IP,
    TO_HEALTH_CHECK_NODE_PORT,
    TO_LOAD_BALANCER,
    TO_NODE_PORT,
)
from kverify.model.node_meta import EXCLUDE_FROM_LB_LABEL
from kverify.results import HealthCheck, Hop, Outcome
from kverify.semantics.cni import snats_pod_to_node
from kverify.semantics.load_balancer import may_receive_given, none_passes, passes_probe
from kverify.semantics.ops import CONCRETE
from kverify.semantics.registry import declare, mark, recording
from kverify.semantics.reply import ipvs_host_vip_source
from kverify.semantics.vocabulary import NO_NODE, NO_ZONE, EndpointView, NodeView

UNKNOWN_PORT = declare(
    "service-port-unmatched",
    title="A packet to a Service address on a port/protocol the Service does not expose is not "
    "intercepted; nftables REJECTs it when the address is a ClusterIP.",
    source="kubernetes/kubernetes pkg/proxy/nftables/proxier_test.go TestClusterIPGeneral "
    "('TCP-only port does not match UDP traffic'); pkg/proxy/iptables/proxier_test.go TestClusterIPGeneral; "
    "pkg/proxy/nftables/proxier.go setupNFTables (cluster-ips-check: `ip daddr @cluster-ips reject`, "
    "'Reject traffic to invalid ports of ClusterIPs'), added by PR #122692 (v1.30)",
    since="v1.30 (nftables REJECT)",
    history=(
        (
            "v1.29",
            "nftables alpha: a ClusterIP's unexposed port is not intercepted (no cluster-ips set yet), as in iptables",
            "KEP-3866",
        ),
        ("v1.30", "nftables REJECTs traffic to unexposed ports of ClusterIPs", "kubernetes/kubernetes#122692"),
    ),
)


DUAL_STACK = declare(
    "ip-family",
    title="kube-proxy programs each IP family separately: a packet to an IPv4 (IPv6) Service address is "
    "sent only to IPv4 (IPv6) endpoints.",
    source="kubernetes/kubernetes cmd/kube-proxy/app/server_linux.go (one proxier per family, "
    "NewDualStackProxier); pkg/proxy/endpointslicecache.go (slices filtered by AddressType)",
    since="v1.20 (IPv6DualStack beta; GA v1.23)",
)


CILIUM = (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)

# Enum members read for every flow routed, as module globals: reading a member through its class takes
# Python 3.11's hooked attribute lookup (EnumType.__getattr__), hundreds of instructions a read.
_TO_NODE_PORTS = (Destination.NODE_PORT, Destination.HEALTH_CHECK_NODE_PORT)
_IP_MODE_VIP = IPMode.VIP
_IP_MODE_PROXY = IPMode.PROXY


def _family(ip: str) -> int:
    """4 or 6 (the address is valid: the model checked it)."""
    return 6 if ":" in ip else 4


PROXY_PROTOCOL = "lb-proxy-protocol"


def route(cluster: Cluster, flow: Flow) -> tuple[Outcome, ...]:
    """Every possible outcome of ``flow`` in ``cluster``, in a stable order."""
    return tuple(iter_route(cluster, flow))


def iter_route(cluster: Cluster, flow: Flow) -> Iterator[Outcome]:
    """The outcomes of :func:`route`, in the same order, built one at a time: a caller looking for
    the first outcome that breaks a claim stops paying for explanations and hops once it has it."""
    for group in _iter_groups(cluster, flow):
        if isinstance(group, Outcome):
            yield group
        else:
            yield from group.each()


def iter_outcome_groups(cluster: Cluster, flow: Flow) -> Iterator[OutcomeGroup]:
    """The outcomes of :func:`route`, grouped: per handling node, the outcomes alike but for their
    endpoint are one :class:`OutcomeGroup` (its first outcome, with hops, and every endpoint it stands
    for). The cost grows with the groups and their endpoints, never with endpoints x outcomes: what
    ``kverify trace`` prints when there are too many outcomes to list."""
    for group in _iter_groups(cluster, flow):
        if isinstance(group, Outcome):
            yield OutcomeGroup(outcome=group)
        else:
            yield from group.groups()


def iter_handling_groups(cluster: Cluster, flow: Flow) -> Iterator[tuple[OutcomeGroup, ...]]:
    """The groups of :func:`iter_outcome_groups`, one tuple per handling in route order, each tuple
    ordered by the first endpoint of its groups: the outcomes of a handling in :func:`route` run in
    endpoint order, so the first outcome of a handling with some property that every outcome of a
    group shares is the first outcome of the first group with it. Every group of one handling has
    its node."""
    for handled in _iter_groups(cluster, flow):
        if isinstance(handled, Outcome):
            yield (OutcomeGroup(outcome=handled),)
        else:
            yield tuple(sorted(handled.groups(), key=lambda group: group.positions[0]))


def first_breaking(
    cluster: Cluster, flow: Flow, breaks: Callable[[Outcome], bool], *, per_endpoint: bool
) -> Outcome | None:
    """The first outcome of :func:`route`, in its order, for which ``breaks`` is true (``None`` if none).

    Unless ``per_endpoint``, ``breaks`` must read only what every endpoint of one class of a handling
    (in one IP family) shares: delivered or not, the drop, the reply, the source address the pod
    sees, the PROXY header, the rules. It is then asked once per class, of the class's first outcome,
    not once per endpoint: deciding a claim over every node of a big cluster, or each fix of each
    finding (``kverify check --fixes``), costs the classes, not nodes x endpoints with their hops.
    The endpoint's address, node and Pod and the hops that name them differ within a class: a test
    that reads them needs ``per_endpoint``. (Whether it crosses nodes follows the class, which tells
    the handling node's own endpoints apart; a test of it asks per endpoint all the same.)"""
    for group in _iter_groups(cluster, flow):
        if isinstance(group, Outcome):
            if breaks(group):
                return group
        elif per_endpoint:
            for outcome in group.each():
                if breaks(outcome):
                    return outcome
        elif (found := group.first_breaking(breaks)) is not None:
            return found
    return None


T = TypeVar("T")


@attrs.frozen(kw_only=True)
class OutcomeGroup:
    """Outcomes of one handling node that differ only in the endpoint reached.

    ``outcome`` is the first of them (with its hops); ``positions`` are the endpoints they reach, in
    order (ascending, each once), as positions in ``members`` (empty when the flow is not delivered:
    then the group is that one outcome). The endpoints are read from the endpoint set's columns: a
    group of 100,000 endpoints builds no object per endpoint (issue 11).
    """

    outcome: Outcome
    positions: Sequence[int] = ()
    members: EndpointSet | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def count(self) -> int:
        """How many outcomes the group stands for."""
        return len(self.positions) or 1

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every endpoint the group reaches, as Endpoint objects (built on each call: the writers read
        :meth:`rows` instead)."""
        if self.members is None:
            return ()
        return tuple(map(self.members.endpoint_at, self.positions))

    def pick(self, values: Sequence[T], limit: int | None = None) -> list[T]:
        """``values[i]`` for each of the group's endpoint positions ``i`` (the first ``limit`` only, if
        given): ``values`` is a column of ``members``, or a list made from one."""
        positions = self.positions if limit is None else self.positions[:limit]
        if len(positions) < 2:  # itemgetter of one position returns the value, not a tuple
            return [values[i] for i in positions]
        first, last = positions[0], positions[-1]
        if last - first == len(positions) - 1:  # ascending, each once: a run of consecutive endpoints
            return list(values[first : last + 1])  # (a node's endpoints, often: loaded slice by slice)
        return list(itemgetter(*positions)(values))

    def rows(self, limit: int | None = None) -> list[tuple[str, str | None, str | None]]:
        """(address, node, Pod) of the group's endpoints, in order; the first ``limit`` only if given."""
        members = self.members
        if members is None:
            return []
        return list(
            zip(
                self.pick(members.ips, limit),
                self.pick(members.node_names, limit),
                self.pick(members.pods, limit),
                strict=True,
            )
        )

    def target_nodes(self) -> int:
        """How many distinct node names (None counting as one) the group's endpoints are on."""
        if self.members is None:
            return 0
        return len(set(self.pick(self.members.node_names)))

    def to_json(self) -> dict[str, object]:
        """The first outcome's fields, then how many outcomes and which endpoints the group holds."""
        document = self.outcome.to_json()
        document["count"] = self.count
        document["endpoints"] = [{"ip": ip, "node": node, "pod": pod} for ip, node, pod in self.rows()]
        return document


def _iter_groups(cluster: Cluster, flow: Flow) -> Iterator[Outcome | _HandlingOutcomes]:
    service = _service(cluster, flow)
    if _port_unmatched(service, flow):
        yield _unmatched_port(cluster, flow)
        return
    if flow.destination is TO_LOAD_BALANCER:
        reason = unknown_lb.unmodelled_reason(cluster.load_balancer_for(service), cluster.proxy.dataplane)
        reason = reason or exclusion_reason(cluster, service)
        if reason is not None:
            raise NotModelled(Problem(f"not modelled: {reason}", field="--load-balancer"))
    if (reason := per_packet_node_port_reason(cluster, flow)) is not None:
        raise NotModelled(Problem(f"not modelled: {reason}", field="--cilium-set"))
    if in_cluster_via_hostname(flow, service):
        reason = in_cluster_lb_reason(cluster, flow)
        if reason is not None:
            raise NotModelled(Problem(f"not modelled: {reason}", field="--from"))
        yield from nlb_hairpin.outcomes(cluster, flow, service, unknown_lb.hostname(service))
        return
    onward = unknown_lb.node_port_flow(cluster, flow, service)
    ways = handlings(cluster, onward or flow, service, lb_picks=onward is not None)
    if (reason := nodeport_split.reason(cluster, flow, service, ways)) is not None:
        raise NotModelled(Problem(f"not modelled: {reason}", field="--kubernetes-version"))
    found = False
    memo = index_of(cluster).decided  # handling nodes alike are decided once, for every flow
    for handling in ways:
        for result in _decide_handling(cluster, onward or flow, service, handling, memo):
            found = True
            if onward is None:
                yield result
            elif isinstance(result, Outcome):
                yield unknown_lb.through_load_balancer(result, flow, service)
            else:
                yield attrs.evolve(result, outer=(flow, service))
    if not found:
        # Only a load balancer that sends to no node gets here (MetalLB with nobody announcing, a Classic ELB
        # with no healthy instance).
        yield _unannounced(cluster, flow, service)


def per_packet_node_port_reason(cluster: Cluster, flow: Flow) -> str | None:
    """Why a pod's NodePort flow that Cilium's per-packet load balancer would translate (rule
    cilium-socket-lb-host-namespace-only) is Unknown, as the encoding excludes it (Universe.flow_constraints);
    ``None`` for every other flow."""
    proxy = cluster.proxy
    if (
        proxy.dataplane in CILIUM
        and proxy.cilium.socket_lb_host_namespace_only
        and flow.client is ClientKind.POD
        and flow.destination is Destination.NODE_PORT
    ):
        return (
            "a pod's packet to a NodePort under Cilium's socketLB.hostNamespaceOnly (bpf_lxc translates it per "
            "packet; whether its lookup matches another node's address was not read at the source, and "
            "cilium/cilium#44710 changed that lookup in 2026)"
        )
    return None


def nodeport_split_reason(cluster: Cluster, flow: Flow) -> str | None:
    """Why a host-network client's flow to its node's NodePort is Unknown at a version kverify does not pin
    (rule nftables-no-endpoint-nodeports-output, :mod:`kverify.concrete.nodeport_split`); ``None``: it is not."""
    service = _service(cluster, flow)
    if not nodeport_split.may_apply(cluster, flow, service):
        return None
    return nodeport_split.reason(cluster, flow, service, handlings(cluster, flow, service))


def in_cluster_via_hostname(flow: Flow, service: Service) -> bool:
    """A pod or host-network client dialling a load balancer known only by its hostname."""
    return (
        flow.destination is TO_LOAD_BALANCER
        and flow.client is not CLIENT_EXTERNAL
        and unknown_lb.hostname_only(service)
    )


def in_cluster_lb_reason(cluster: Cluster, flow: Flow) -> str | None:
    """Why an in-cluster client's flow through a hostname-only load balancer is not decided (``None``: the AWS
    NLB's hairpin decides it, rule ``lb-aws-nlb-hairpin``), in time linear in nodes and endpoints."""
    service = _service(cluster, flow)
    if cluster.load_balancer_for(service) is not LoadBalancerProfile.AWS_NLB_INSTANCE:
        return nlb_hairpin.LEAVES
    if not cluster.nodes:
        return "the manifests have no Node objects: no client node to enumerate"
    # What the NLB sends on: the node-port flow of an external client (unknown_lb.node_port_flow).
    sent = attrs.evolve(flow, client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT, dst_ip=None, node=None)
    sent = attrs.evolve(sent, client_ip=None)
    picks = [h.node.name for h in handlings(cluster, sent, service, lb_picks=True) if h.node is not None]
    return nlb_hairpin.unknown_reason(cluster, flow, service, picks)


def _port_unmatched(service: Service, flow: Flow) -> bool:
    """The flow names a port the Service does not expose (for a health check: not its healthCheckNodePort)."""
    if flow.port is None:
        return False
    if flow.destination is Destination.HEALTH_CHECK_NODE_PORT:
        hcnp = service.health_check_node_port
        return hcnp is not None and flow.port != hcnp
    return classify.find_port(service, flow) is None


#: The rule that decides which nodes an announcing load balancer sends to, per profile.
ANNOUNCE_RULES = {
    LoadBalancerProfile.METALLB_L2: "lb-metallb-announce",
    LoadBalancerProfile.METALLB_BGP: "lb-metallb-announce",
    LoadBalancerProfile.K3S_SERVICELB: "lb-k3s-servicelb",
    LoadBalancerProfile.CILIUM_BGP: "lb-cilium-bgp-advertise",
    LoadBalancerProfile.KUBE_VIP: "lb-kube-vip-arp-leader",
    LoadBalancerProfile.AWS_CLASSIC_ELB: "lb-aws-classic-elb-probe",
}


def _unannounced(cluster: Cluster, flow: Flow, service: Service) -> Outcome:
    profile = cluster.load_balancer_for(service)
    rule_id = ANNOUNCE_RULES.get(profile, "lb-metallb-announce")
    note = f"{profile.spelling}: no node announces the address, so nothing answers for it"
    if profile is LoadBalancerProfile.AWS_CLASSIC_ELB:
        note = (
            f"{profile.spelling}: no instance passes the health check, and a Classic ELB sends only to "
            "healthy ones (no fail-open): the connection reaches no node"
        )
    if len(excluded_nodes(cluster, profile)) == len(cluster.nodes):
        rule_id = "lb-exclude-label"
        note = f"{profile.spelling}: every node is labelled {EXCLUDE_FROM_LB_LABEL}, so the load balancer has no target"
    mark(rule_id)
    return Outcome(
        node=None,
        delivered=False,
        drop_kind=DropKind.DROP,
        rules=(rule_id,),
        hops=(
            Hop(
                at="client",
                to="(end)",
                src=flow.client_ip or classify.EXTERNAL_CLIENT_IP,
                dst=flow.dst_ip or "load-balancer IP",
                note=note,
            ),
        ),
    )


def _unmatched_port(cluster: Cluster, flow: Flow) -> Outcome:
    mark(UNKNOWN_PORT)
    # The cluster-ips set and its reject rule came with PR #122692 (v1.30); v1.29's nftables let the packet pass.
    nft_reject = (
        cluster.proxy.dataplane is Dataplane.NFTABLES
        and flow.destination is Destination.CLUSTER_IP
        and cluster.proxy.kubernetes_version >= 30
    )
    return Outcome(
        node=flow.node,
        delivered=False,
        drop_kind=DropKind.REJECT if nft_reject else DropKind.NOT_INTERCEPTED,
        rules=(UNKNOWN_PORT,),
    )


def _service(cluster: Cluster, flow: Flow) -> Service:
    service = index_of(cluster).services_by_key.get(flow.service)
    if service is None:
        known = names(s.key for s in cluster.services)
        raise InputError(Problem(f"Not found: {quote(flow.service)} (services: {known})", field="--service"))
    if service.headless:
        raise InputError(
            Problem(
                f"Service {service.key} is headless (clusterIP: None): kube-proxy gives it no rules", field="--service"
            )
        )
    return service


def _node(cluster: Cluster, name: str | None, what: str) -> Node | None:
    if name is None:
        return None
    node = index_of(cluster).nodes_by_name.get(name)
    if node is None:
        known = names(n.name for n in cluster.nodes)
        raise InputError(Problem(f"Not found: {quote(name)} (nodes: {known})", field=what))
    return node


def handlings(cluster: Cluster, flow: Flow, service: Service, *, lb_picks: bool = False) -> list[classify.Handling]:
    """Each (handling node, situation) the flow may meet, in node order. ``lb_picks``: the flow is
    what a load balancer sends on (to node ports), so only the nodes it may pick are kept.

    The last answer is kept with the cluster's index: a built-in check asks it again of the flow it has
    just routed, when an outcome breaks its claim, to ask whether the load balancer may pick the node
    (:func:`load_balancer_may_pick`). The rules marked on the way are marked again on each reuse, as
    working it out would."""
    index = index_of(cluster)
    kept = index.last_handlings
    if kept is not None and kept[0] is service and kept[1] == lb_picks and kept[2] == flow:
        for rule_id in kept[4]:
            mark(rule_id)
        return list(kept[3])
    with recording() as rules:
        found = _handlings(cluster, flow, service, lb_picks=lb_picks)
    index.last_handlings = (service, lb_picks, flow, tuple(found), frozenset(rules))
    return found


def _handlings(cluster: Cluster, flow: Flow, service: Service, *, lb_picks: bool) -> list[classify.Handling]:
    if not cluster.nodes:
        raise InputError(Problem(NO_NODES, field="nodes"))
    classify.check_dataplane(cluster)
    if flow.destination is TO_HEALTH_CHECK_NODE_PORT:
        # The health check is per Service, not per port: any port's endpoints view will do.
        port = service.ports[0] if service.ports else ServicePort(port=service.health_check_node_port or 1)
    else:
        port = classify.resolve_port(service, flow)
    given = _node(cluster, flow.node, "--node")
    # An external client runs on no node; an in-cluster one on the given node, or on any node.
    client_nodes: list[Node | None] = [None]
    if flow.client is not CLIENT_EXTERNAL:
        client_nodes = [given] if given else list(cluster.nodes)
    result: list[classify.Handling] = []
    via_lb = flow.destination is TO_LOAD_BALANCER or lb_picks
    sent_by_lb = via_lb and flow.client is CLIENT_EXTERNAL
    shared = _flow_frame(cluster, flow, service, port, sent_by_lb)
    for client_node in client_nodes:
        client_ip = flow.client_ip or classify.default_client_ip(cluster, flow.client, client_node, service)
        for node, dst_ip in _candidate_nodes(cluster, flow, service, given, client_node):
            h = _handling(cluster, flow, service, port, node, client_node, client_ip, dst_ip, sent_by_lb, shared)
            result.append(h)
    if flow.client is CLIENT_EXTERNAL and via_lb and given is None:
        result = _load_balancer_picks(cluster, result)
    return result


def _candidate_nodes(
    cluster: Cluster, flow: Flow, service: Service, given: Node | None, client_node: Node | None
) -> list[tuple[Node | None, str]]:
    mark(classify.HANDLING_NODE)
    destination = flow.destination
    if destination in _TO_NODE_PORTS:
        if flow.dst_ip:
            owner = cluster.node_owning(flow.dst_ip)
            if flow.dst_ip == classify.LOCALHOST and client_node is not None:
                owner = client_node
            if owner is None:
                raise InputError(Problem(f"{flow.dst_ip} is not an address of any node", field="--dst-ip"))
            if flow.client is ClientKind.EXTERNAL and given is not None and given != owner:
                raise InputError(Problem(f"{flow.dst_ip} is not an address of node {given.name}", field="--dst-ip"))
            socket_lb = cluster.proxy.dataplane in (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR)
            if socket_lb and client_node is not None and destination is Destination.NODE_PORT:
                # Cilium's socket-LB translates connect() on the client's own node, for any node's IP.
                return [(client_node, flow.dst_ip)]
            return [(owner, flow.dst_ip)]
        if flow.client is not CLIENT_EXTERNAL and client_node is not None:
            return [(client_node, client_node.primary_address or "")]
        nodes = [given] if given else list(cluster.nodes)
        return [(n, n.primary_address or "") for n in nodes]
    addresses = classify.service_addresses(service, destination)
    if not addresses and destination is TO_LOAD_BALANCER and unknown_lb.hostname_only(service):
        return [(None, "")]  # an IP-target load balancer known by hostname: it sends to the pods
    if not addresses:
        raise InputError(Problem(f"Service {service.key} has no {destination.spelling} address", field="--to"))
    dst_ip = flow.dst_ip or addresses[0]
    if dst_ip not in addresses:
        raise InputError(
            Problem(
                f"{dst_ip} is not a {destination.spelling} address of {service.key} ({', '.join(addresses)})",
                field="--dst-ip",
            )
        )
    if flow.client is not CLIENT_EXTERNAL:
        return [(client_node, dst_ip)]
    if cluster.load_balancer_for(service) in POD_TARGET_PROFILES and destination is TO_LOAD_BALANCER:
        return [(None, dst_ip)]
    nodes = [given] if given else list(cluster.nodes)
    return [(n, dst_ip) for n in nodes]


def _load_balancer_picks(cluster: Cluster, handlings_: list[classify.Handling]) -> list[classify.Handling]:
    """Keep the arrival nodes the load balancer may pick (rule table: ``may_receive``), in linear time
    (see :func:`_fails_open`)."""
    position = index_of(cluster).position
    opens: dict[int, bool] = {}
    return [
        h
        for h in handlings_
        if h.node is None or may_receive_given(CONCRETE, h.reduced, position(h.node), _fails_open(cluster, h, opens))
    ]


def load_balancer_may_pick(cluster: Cluster, flow: Flow) -> bool:
    """Whether the load balancer in front may send ``flow`` to a node that handles it (rule table:
    ``may_receive``; a flow that bypasses nodes: yes), in time linear in nodes and endpoints."""
    service = _service(cluster, flow)
    position = index_of(cluster).position
    opens: dict[int, bool] = {}
    return any(
        h.node is None or may_receive_given(CONCRETE, h.reduced, position(h.node), _fails_open(cluster, h, opens))
        for h in handlings(cluster, flow, service)
    )


def _fails_open(cluster: Cluster, h: classify.Handling, opens: dict[int, bool]) -> bool:
    """Whether the load balancer fails open for ``h``'s endpoints (rule ``lb-fail-open``): no node passes
    its probe. ``fails_open`` on the full situation reads every endpoint for every node. ``passes_probe``
    reads the endpoints only as local to the node it asks about, and of that node only its ``NodeView``:
    so a node with some of the endpoints is asked once per kind (its view and its endpoints' views with
    the node renamed, :func:`~kverify.concrete.alike.renamed_views`), and the nodes with none once per
    view. ``none_passes`` reads each node asked only through its view and its probe, so one node per
    (view, probe) stands for all: linear in the Service's endpoints and the kinds of node, never nodes x
    Services. The answer is kept per endpoint set in ``opens``, and with the endpoint set for the next
    flow alike (:func:`_kept_fails_open`)."""
    found = opens.get(id(h.members))
    if found is None:
        found = opens[id(h.members)] = _kept_fails_open(cluster, h)
    return found


def _kept_fails_open(cluster: Cluster, h: classify.Handling) -> bool:
    """:func:`_fails_open`'s answer for ``h``, kept with its endpoint set by what the rules read besides
    the endpoints and the nodes: the flow's shared fields (the Service, the proxy, the load balancer) and
    the client's address. A check asks it of one Service's flows one after another (arrival at two nodes):
    answered once. The rules evaluated are marked again on each reuse, as evaluating them would."""
    members = h.members
    key: tuple[object, ...] | None = None
    if h.shared is not None:
        key = (h.client_ip, h.shared.key)
        kept = members.fails_open.get(key)
        if kept is not None:
            for rule_id in kept[1]:
                mark(rule_id)
            return kept[0]
    with recording() as rules:
        found = _evaluate_fails_open(cluster, h)
    if key is not None:
        members.fails_open[key] = (found, frozenset(rules))
    return found


def _evaluate_fails_open(cluster: Cluster, h: classify.Handling) -> bool:
    """The rule ``lb-fail-open`` on ``h``'s endpoints, each node asked once per kind (:func:`_fails_open`)."""
    mark("lb-fail-open")
    index = index_of(cluster)
    frame, members = h.frame, h.members
    full = members.full_views(h.client_ip)
    holding = sorted(i for i in members.by_node if i != NO_NODE)  # nodes with some of the endpoints
    held_per_view = Counter(index.view_of_node[i] for i in holding)
    asked: dict[tuple[NodeView, bool], None] = {}  # each (view, probe) met, in the order met
    probe_of: dict[tuple[NodeView, tuple[EndpointView, ...]], bool] = {}
    for i in holding:
        view = frame.nodes[i]
        mine = tuple(full[j] for j in members.by_node[i])
        kind = (view, renamed_views(mine, i, view.zone))
        probe = probe_of.get(kind)
        if probe is None:
            seen_from = attrs.evolve(frame, handling_node=i, handling_zone=view.zone, endpoints=mine)
            probe = probe_of[kind] = bool(passes_probe(CONCRETE, seen_from, i))
        asked[(view, probe)] = None
    empty = attrs.evolve(frame, endpoints=())
    for k, (view, nodes) in enumerate(index.nodes_by_view.items()):
        if held_per_view[k] == len(nodes):
            continue  # every node of this kind holds some of the endpoints: asked above
        i = next(n for n in nodes if n not in members.by_node)
        seen_from = attrs.evolve(empty, handling_node=i, handling_zone=view.zone)
        asked[(view, bool(passes_probe(CONCRETE, seen_from, i)))] = None
    # The rule on the nodes asked: the others each answer as one asked of their kind does.
    views = tuple(view for view, _ in asked)
    probes = tuple(probe for _, probe in asked)
    return bool(none_passes(CONCRETE, attrs.evolve(frame, nodes=views), probes))


def _flow_frame(
    cluster: Cluster, flow: Flow, service: Service, port: ServicePort, via_load_balancer: bool
) -> classify.FlowFrame:
    """The situation's fields that are the same at every handling node of ``flow`` (the Service, the
    proxy, the load balancer): computed once per flow, not once per handling node (issue 11: a trace
    from every node has 1,000 handlings); those of the cluster alone once per cluster
    (:attr:`~kverify.concrete.index.ClusterIndex.flow_fields`: a check routes a thousand flows)."""
    proxy = cluster.proxy
    classify.mark(classify.HAIRPIN)
    classify.mark(classify.DETECT_LOCAL)
    classify.mark(classify.SOURCE_RANGES)
    classify.mark(classify.IP_MODE_GATE)
    cluster_fields, ip_modes = index_of(cluster).flow_fields
    fields: dict[str, object] = {
        "dataplane": proxy.dataplane_for(flow.protocol),
        "load_balancer": cluster.load_balancer_for(service),
        "service_type": service.type,
        "etp_local_spec": service.external_traffic_policy.spelling == "Local",
        "itp_local_spec": service.internal_traffic_policy.spelling == "Local",
        "has_external_ips": bool(service.external_ips),
        "has_node_port": any(p.node_port for p in service.ports),
        "has_vip_ingress": any(
            i.ip and (i.ip_mode is _IP_MODE_VIP or not ip_modes) for i in service.load_balancer_ingress
        ),
        "client": flow.client,
        "destination": flow.destination,
        "hints_annotation": classify.hints_annotation(service, proxy.kubernetes_version),
        "via_load_balancer": via_load_balancer,
        "proxy_protocol": cluster.proxy_protocol_for(service),
        "lb_preserves_client_ip": cluster.preserves_client_ip(service, port.protocol),
    }
    fields.update(cluster_fields)
    return classify.FlowFrame(fields=fields, ip_modes=ip_modes)


def _handling(
    cluster: Cluster,
    flow: Flow,
    service: Service,
    port: ServicePort,
    node: Node | None,
    client_node: Node | None,
    client_ip: str,
    dst_ip: str,
    via_load_balancer: bool = False,
    shared: classify.FlowFrame | None = None,
) -> classify.Handling:
    """The handling of ``flow`` by ``node``; ``shared``: the flow's :func:`_flow_frame`, when the
    caller has it (else it is built here)."""
    if shared is None:
        shared = _flow_frame(cluster, flow, service, port, via_load_balancer)
    proxy = cluster.proxy
    index = index_of(cluster)
    node_index = index.position(node) if node else NO_NODE
    client_index = index.position(client_node) if client_node else NO_NODE
    pod_ip = None
    if client_node is not None and snats_pod_to_node(
        CONCRETE, proxy.cni, flow.client, flow.destination, client_index, node_index
    ):
        # The CNI masquerades the pod's packet on its own node: the handling node sees that node's address.
        pod_ip, client_ip = (
            client_ip,
            cni_addresses.interface_address(proxy.cni, client_node, Interface.NODE, _family(client_ip)),
        )
    if flow.destination is TO_HEALTH_CHECK_NODE_PORT:
        # LocalReadyEndpoints counts over every port of the Service
        members = endpoint_set(cluster, service, None, None)
    else:
        # kube-proxy runs one proxier per IP family: a packet to an IPv6 address meets IPv6 endpoints only.
        mark(DUAL_STACK)
        family = _family(dst_ip) if dst_ip else None
        members = endpoint_set(cluster, service, port.name, family)
    zones = members.zones  # the cluster's zones, then those only hints name
    ingress = next((i for i in service.load_balancer_ingress if i.ip == dst_ip), None)
    # Only what depends on the handling node, the client or the addresses is computed per handling; the
    # rest is the flow's (shared.fields). FlowFrame.situation refuses a field given twice.
    situation = shared.situation(
        client_node=client_index,
        handling_node=node_index,
        handling_zone=zones.get(node.zone, NO_ZONE) if node and node.zone else NO_ZONE,
        address_captured=_captured(cluster, flow, service, port, node, client_node, dst_ip),
        dst_ip_mode_proxy=bool(ingress and ingress.ip_mode is _IP_MODE_PROXY and shared.ip_modes),
        dst_is_localhost=dst_ip == classify.LOCALHOST and flow.client is CLIENT_NODE,
        src_in_cluster_cidr=classify.in_any(client_ip, proxy.cluster_cidrs),
        src_allowed_by_ranges=classify.allowed_by_source_ranges(
            service, client_ip, node, dst_ip=dst_ip or None, per_family=proxy.dataplane not in CILIUM
        ),
        endpoints=(),  # per handling: every endpoint (Handling.situation) or one per class (.reduced)
        dst_status_ip_mode_proxy=bool(ingress and ingress.ip_mode is _IP_MODE_PROXY),
    )
    return classify.Handling(
        node=node,
        client_node=client_node,
        client_ip=client_ip,
        dst_ip=dst_ip,
        port=port,
        frame=situation,
        members=members,
        pod_ip=pod_ip,
        shared=shared,
    )


def _captured(cluster: Cluster, flow: Flow, service: Service, port, node, client_node, dst_ip: str) -> bool:
    if flow.destination is TO_NODE_PORT:
        if port.node_port is None or node is None:
            return False
        # 127.0.0.1 is the host's loopback only for host-network clients (a pod has its own).
        host_client = flow.client is CLIENT_NODE and client_node is not None and client_node == node
        owner = cluster.node_owning(dst_ip) or node  # Cilium may translate another node's address
        return dst_ip in classify.nodeport_addresses(cluster, owner, client_on_node=host_client)
    if flow.destination is TO_EXTERNAL_IP:
        classify.mark(classify.EXTERNAL_IPS)
    return True


def _outcomes(cluster: Cluster, flow: Flow, service: Service, h: classify.Handling) -> list[Outcome]:
    found: list[Outcome] = []
    for result in _decide_handling(cluster, flow, service, h, {}):
        found.extend([result] if isinstance(result, Outcome) else result.each())
    return found


@attrs.frozen(kw_only=True)
class _HandlingOutcomes:
    """The delivered outcomes of one handling: its decision on the endpoint classes, and the classes
    chosen with their members. ``outer``: the flow and Service seen through an unknown load balancer."""

    cluster: Cluster
    flow: Flow
    handling: classify.Handling
    decided: Decided
    chosen: tuple[tuple[int, tuple[int, ...]], ...]  # (class, its members), by first member
    outer: tuple[Flow, Service] | None = None
    _fields: dict[tuple[int, int], _Fields] = attrs.field(factory=dict, eq=False)

    def _outcome(self, cls: int, i: int) -> Outcome:
        h = self.handling
        endpoint = h.members.endpoint_at(i)
        decision = self.decided.decision
        if decision.lost[cls]:
            outcome = _lost(self.cluster, self.flow, h, self.decided, cls, endpoint)
        else:
            masq, path, seen, rules, reply_ok = self._fields_of(cls, endpoint)
            outcome = Outcome(
                node=h.node.name if h.node else None,
                delivered=True,
                endpoint_ip=endpoint.ip,
                endpoint_node=endpoint.node_name,
                endpoint_pod=endpoint.pod,
                source_ip_seen=seen,
                masqueraded=masq,
                crosses_nodes=h.node is not None and endpoint.node_name != h.node.name,
                reply_ok=reply_ok,
                reply_path=path,
                proxy_header=bool(decision.proxy_header),
                proxy_expected=bool(h.frame.proxy_protocol),
                rules=rules,
                hops=hops_for(self.cluster, self.flow, h, decision, cls, seen, endpoint),
            )
        if self.outer is not None:
            return unknown_lb.through_load_balancer(outcome, *self.outer)
        return outcome

    def _fields_of(self, cls: int, endpoint: Endpoint) -> _Fields:
        """What every endpoint of class ``cls`` in ``endpoint``'s IP family sees: computed once."""
        key = (cls, _family(endpoint.ip))
        found = self._fields.get(key)
        if found is None:
            masqueraded, path, rules, reply_ok = _class_fields(self.decided, cls)
            seen = _source_seen(self.cluster, self.handling, self.decided, cls, endpoint)
            found = self._fields[key] = (masqueraded, path, seen, rules, reply_ok)
        return found

    def each(self) -> Iterator[Outcome]:
        """One outcome per endpoint reached, in endpoint order."""
        for i, cls in sorted((i, cls) for cls, members in self.chosen for i in members):
            yield self._outcome(cls, i)

    def first_breaking(self, breaks: Callable[[Outcome], bool]) -> Outcome | None:
        """The first outcome, in endpoint order, for which ``breaks`` (a test of what a class's endpoints
        of one IP family share, see :func:`first_breaking`) is true: asked of each class's first outcome."""
        first: OutcomeGroup | None = None
        for group in self.groups():
            if (first is None or group.positions[0] < first.positions[0]) and breaks(group.outcome):
                first = group
        return None if first is None else first.outcome

    def groups(self) -> Iterator[OutcomeGroup]:
        """One group per endpoint class reached (and IP family, which the source address may depend
        on): its first outcome and its endpoints."""
        members = self.handling.members
        one_family = members.family is not None
        for cls, positions in self.chosen:
            if one_family:  # every endpoint of the set is of one family: no need to ask each
                yield OutcomeGroup(outcome=self._outcome(cls, positions[0]), positions=positions, members=members)
                continue
            by_family: dict[int, list[int]] = {}
            ips = members.ips
            for i in positions:
                by_family.setdefault(_family(ips[i]), []).append(i)
            for same in by_family.values():
                yield OutcomeGroup(outcome=self._outcome(cls, same[0]), positions=tuple(same), members=members)


_Fields = tuple[bool, ReplyPath, str, tuple[str, ...], bool]


def _class_fields(found: Decided, cls: int) -> tuple[bool, ReplyPath, tuple[str, ...], bool]:
    """Whether an outcome delivered to class ``cls`` is masqueraded, its reply path, its rules and whether
    its reply is accepted: read from the decision alone, so kept with it (once per kind of handling
    node, not once per node). The PROXY protocol is the flow's (a shared field, the same renamed)."""
    key = ("class fields", cls)
    fields = found.derived.get(key)
    if fields is None:
        decision = found.decision
        rules = found.rules(cls)
        fields = found.derived[key] = (
            bool(decision.masqueraded[cls]),
            ReplyPath(decision.reply_path[cls]),
            (*rules, PROXY_PROTOCOL) if found.reduced.proxy_protocol else rules,
            bool(decision.reply_ok[cls]),
        )
    return fields  # type: ignore[return-value]


def _decide_handling(
    cluster: Cluster, flow: Flow, service: Service, h: classify.Handling, memo: dict[tuple[object, object], Decided]
) -> Iterator[Outcome | _HandlingOutcomes]:
    """The rule table on one handling's endpoint classes, once per kind of handling node (``memo``):
    the outcome when nothing is delivered, else the classes chosen (their outcomes are built by
    whoever asks, one per endpoint or one per class)."""
    found = decided(h, memo)
    decision, common = found.decision, found.common
    if flow.destination is TO_HEALTH_CHECK_NODE_PORT:
        yield _health_check_outcome(h, found, service)
        return
    if not decision.delivered:
        yield Outcome(
            node=h.node.name if h.node else None,
            delivered=False,
            drop_kind=DropKind(decision.drop_kind),
            rules=common,
            hops=hops_for(cluster, flow, h, decision, None, None),
        )
        return
    classes = h.classes
    chosen = [(cls, tuple(classes.members(cls))) for cls, yes in enumerate(decision.chosen) if yes]
    chosen = sorted((c for c in chosen if c[1]), key=lambda c: c[1][0])
    if chosen:
        yield _HandlingOutcomes(cluster=cluster, flow=flow, handling=h, decided=found, chosen=tuple(chosen))


_SOURCE_ADDRESS_RULES = frozenset(
    {"masquerade-interface-address", "cni-bridge-gateway", "cni-overlay-tunnel", "cni-routed-veth"}
)


def _lost(cluster: Cluster, flow: Flow, h: classify.Handling, found: Decided, cls: int, endpoint: Endpoint) -> Outcome:
    """The packet was DNATed to ``endpoint`` (of class ``cls``) and lost on the way (rule ``cni-hairpin-off``)."""
    decision = found.decision
    mark("cni-hairpin-off")
    seen = _source_seen(cluster, h, found, cls, endpoint)
    hops = hops_for(cluster, flow, h, decision, cls, seen, endpoint)[:-2]
    where = h.node.name if h.node else "the node"
    hops += (
        Hop(
            at=where,
            to="(end)",
            src=hops[-1].src if hops else h.client_ip,
            dst=endpoint.ip,
            note="the bridge does not send a frame back out of the port it came in by (hairpin mode off): "
            "the connection times out",
        ),
    )
    return Outcome(
        node=h.node.name if h.node else None,
        delivered=False,
        drop_kind=DropKind.DROP,
        endpoint_ip=endpoint.ip,
        endpoint_node=endpoint.node_name,
        endpoint_pod=endpoint.pod,
        masqueraded=bool(decision.masqueraded[cls]),
        # Lost before POSTROUTING: the masquerade address rules never applied.
        rules=(*(r for r in found.rules(cls) if r not in _SOURCE_ADDRESS_RULES), "cni-hairpin-off"),
        hops=hops,
    )


def _source_seen(cluster: Cluster, h: classify.Handling, found: Decided, index: int, endpoint: Endpoint) -> str:
    """What ``endpoint``, of class ``index``, sees as the source (``found`` decided ``h``'s classes)."""
    decision = found.decision
    if decision.lb_rewrote_source and not decision.masqueraded[index]:
        return "load-balancer"
    if not decision.masqueraded[index]:
        if _vip_source(found):
            return h.dst_ip  # the VIP on kube-ipvs0 is the source address the host picks
        return h.client_ip
    # MASQUERADE takes the address of the interface the packet leaves by (rule masquerade-interface-address).
    interface = Interface(decision.snat_interface[index])
    return cni_addresses.interface_address(cluster.proxy.cni, h.node, interface, _family(endpoint.ip))


def _vip_source(found: Decided) -> bool:
    """Rule ipvs-host-vip-source on the handling's situation: it reads the client's and the handling's
    nodes only by comparing them, which the renaming keeps, so it is read on the renamed situation once
    per kind of handling node (and marked each time, as evaluating it would)."""
    value = found.derived.get("ipvs-host-vip-source")
    if value is None:
        value = found.derived["ipvs-host-vip-source"] = bool(ipvs_host_vip_source(CONCRETE, found.reduced))
    else:
        mark("ipvs-host-vip-source")
    return value  # type: ignore[return-value]


def _health_check_outcome(h: classify.Handling, found: Decided, service: Service) -> Outcome:
    decision = found.decision
    node = h.node
    assert node is not None  # health checks always target a node
    # LocalReadyEndpoints counts distinct IPs over all ports of the Service.
    members = h.members  # every port's: the health check's endpoint set
    ips = members.ips
    local_ready_ips = {ips[i] for i in members.by_node.get(int(h.frame.handling_node), ()) if members.is_ready(i)}
    served = bool(decision.health_check_served)
    return Outcome(
        node=node.name,
        delivered=served,
        drop_kind=None if served else DropKind.NOT_INTERCEPTED,
        rules=found.rules(None),
        health_check=HealthCheck(
            node=node.name,
            status=200 if decision.health_check_ok else 503,
            local_endpoints=len(local_ready_ips),
        )
        if served
        else None,
    )
