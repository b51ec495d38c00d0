"""The behaviour of one revision: for every Service, client kind, entry point and port, the *kinds* of
outcome its traffic can have.

A kind is what a reviewer compares (delivered or the drop kind; the client IP kept; crossing nodes;
the reply reaching the client), never a node name or an allocated address, so that a renamed node or
a different ClusterIP does not show as a change. Each kind keeps one witness: the outcome with its
hops, and where it happens (the arrival nodes of a snapshot, or the smallest placement at design time).

Services with EndpointSlices are routed by the executable model at every node
(:func:`kverify.concrete.route`); Services without them (manifests as written in Git) are decided
over every placement of their workloads (:func:`kverify.placement.solve.outcomes_over_placements`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import attrs

from kverify.concrete.unknown_lb import hostname_only
from kverify.model import ClientKind, Destination, Flow, Service, ServiceType
from kverify.model.enums import Protocol
from kverify.placement.design import Design, at_design_time
from kverify.results import Outcome, mark_allocated

#: Arrival nodes listed per kind in a snapshot; the rest are counted.
MAX_NODES_SHOWN = 8


@attrs.frozen(kw_only=True, order=True)
class Probe:
    """One kind of client reaching one entry point of one Service port."""

    service: str
    destination: Destination
    client: ClientKind
    port: int
    protocol: Protocol = Protocol.TCP

    @property
    def key(self) -> str:
        return f"{self.service} {self.entry} from {self.client_word}"

    @property
    def entry(self) -> str:
        if self.destination is Destination.HEALTH_CHECK_NODE_PORT:
            return self.destination.spelling  # its port is allocated at apply time: not compared
        return f"{self.destination.spelling} {self.port}/{self.protocol.spelling}"

    @property
    def client_word(self) -> str:
        return {ClientKind.EXTERNAL: "external", ClientKind.POD: "pod", ClientKind.NODE: "host"}[self.client]

    def flow(self) -> Flow:
        health = self.destination is Destination.HEALTH_CHECK_NODE_PORT
        return Flow(
            service=self.service,
            client=self.client,
            destination=self.destination,
            port=None if health else self.port,
            protocol=self.protocol,
        )


@attrs.frozen(kw_only=True, order=True)
class Kind:
    """What a reviewer compares of one outcome (``None``: does not apply, the packet was not delivered)."""

    delivered: bool
    drop: str | None = None
    client_ip_kept: bool | None = None
    crosses_nodes: bool | None = None
    reply_ok: bool | None = None
    #: What a health-check node port answers (200 or 503): whether the load balancer sends there.
    health: int | None = None

    @classmethod
    def of(cls, o: Outcome) -> Kind:
        if o.health_check is not None:
            return cls(delivered=o.delivered, health=o.health_check.status)
        if not o.delivered:
            return cls(delivered=False, drop=o.drop_kind.spelling if o.drop_kind else "lost")
        kept = not (o.masqueraded or o.source_ip_seen == "load-balancer")
        return cls(delivered=True, client_ip_kept=kept, crosses_nodes=o.crosses_nodes, reply_ok=o.reply_ok)

    def phrase(self) -> str:
        if self.health is not None:
            sends = (
                "a load balancer that probes sends here"
                if self.health == 200
                else "no Ready local endpoint: a load balancer that probes stops sending here"
            )
            return f"health check answers {self.health} ({sends})"
        if not self.delivered:
            return {
                "drop": "DROPPED (silently)",
                "reject": "REJECTED",
                "not-intercepted": "not intercepted (leaves for the address itself)",
            }.get(self.drop or "", f"not delivered ({self.drop})")
        parts = [
            "delivered",
            "client IP kept" if self.client_ip_kept else "client IP replaced",
            "crosses nodes" if self.crosses_nodes else "stays on the arrival node",
        ]
        if not self.reply_ok:
            parts.append("the reply does not reach the client")
        return ", ".join(parts)

    def to_json(self) -> dict[str, object]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class Witness:
    """One outcome of a kind, and where it happens."""

    outcome: Outcome
    #: Snapshot: the arrival (or client) nodes with this kind, at most MAX_NODES_SHOWN, and how many in all.
    nodes: tuple[str, ...] = ()
    node_count: int = 0
    #: Design time: the smallest placement that gives this kind, and whether its arrival (or client)
    #: node runs no pod of the Service's workloads there.
    placement: str | None = None
    node_without_pod: bool = False
    #: The Service's addresses allocated at apply time (not in the manifests), marked where printed.
    allocated: frozenset[str] = frozenset()

    def hop_lines(self) -> list[str]:
        """The outcome's hops, one line each, with allocated addresses marked as a trace marks them."""
        return [mark_allocated(str(hop), self.allocated) for hop in self.outcome.hops]

    def short(self) -> str:
        """Where, in a few words, for a headline."""
        if self.placement is not None:
            return "at a node without a pod of the Service" if self.node_without_pod else "in some placement"
        if not self.nodes:
            return "at the load balancer"
        more = self.node_count - len(self.nodes)
        return "at " + ", ".join(self.nodes) + (f" and {more} more" if more > 0 else "")

    def where(self) -> str:
        if self.placement is not None:
            return f"placement: {self.placement}"
        if not self.nodes:
            return "the load balancer (no node)"
        more = self.node_count - len(self.nodes)
        listed = ", ".join(self.nodes) + (f" and {more} more" if more > 0 else "")
        return f"at {self.node_count} node(s): {listed}"


@attrs.frozen(kw_only=True)
class Observed:
    """The kinds of outcome of one probe on one revision (``unknown``: the engines could not decide)."""

    kinds: tuple[Kind, ...] = ()
    witnesses: tuple[Witness, ...] = ()  # one per kind, same order
    design_time: bool = False
    scope: str = ""
    unknown: str | None = None
    #: Snapshot: the largest pod share over the smallest (None: not computed, no Ready pod, or a Ready
    #: pod gets nothing).
    share_ratio: Fraction | None = None
    #: Snapshot: the Service has no Ready pod, so there are no shares to compare.
    no_ready_pod: bool = False
    #: Snapshot: the fraction of connections not delivered.
    dropped_share: Fraction | None = None
    #: Design time: the placement with the worst share ratio (``share_ratio`` None with a placement
    #: named here: some placement leaves a Ready pod without traffic).
    share_placement: str | None = None

    def witness(self, kind: Kind) -> Witness:
        return self.witnesses[self.kinds.index(kind)]


def probes(service: Service) -> Iterator[Probe]:
    """Every (entry point, client kind, port) the Service offers."""
    if service.headless:
        return
    entries: list[tuple[Destination, tuple[ClientKind, ...]]] = []
    in_cluster = (ClientKind.POD, ClientKind.NODE)
    if service.cluster_ips:
        entries.append((Destination.CLUSTER_IP, in_cluster))
    if service.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
        entries.append((Destination.NODE_PORT, (ClientKind.EXTERNAL, *in_cluster)))
    if service.type is ServiceType.LOAD_BALANCER and any(i.ip for i in service.load_balancer_ingress):
        entries.append((Destination.LOAD_BALANCER, (ClientKind.EXTERNAL, *in_cluster)))
    elif hostname_only(service):
        # An AWS-style LB known by a hostname only: external clients arrive at node ports, decided as
        # kverify.concrete.unknown_lb says; in-cluster clients cannot resolve it to a Service address.
        entries.append((Destination.LOAD_BALANCER, (ClientKind.EXTERNAL,)))
    if service.external_ips:
        entries.append((Destination.EXTERNAL_IP, (ClientKind.EXTERNAL, *in_cluster)))
    for destination, clients in entries:
        for port in service.ports:
            for client in clients:
                yield Probe(
                    service=service.key, destination=destination, client=client, port=port.port, protocol=port.protocol
                )
    if service.health_check_node_port is not None:
        # The load balancer's probe (eTP Local): which nodes answer 200 is which nodes get traffic.
        yield Probe(
            service=service.key, destination=Destination.HEALTH_CHECK_NODE_PORT, client=ClientKind.EXTERNAL, port=0
        )


def observe(design: Design, service: Service, probe: Probe) -> Observed:
    """The kinds of outcome of ``probe`` on this revision, each with a witness."""
    observed = _over_placements(design, probe) if at_design_time(design, service) else _on_snapshot(design, probe)
    allocated = service.allocated_addresses()
    if not allocated:
        return observed
    witnesses = tuple(attrs.evolve(w, allocated=allocated) for w in observed.witnesses)
    return attrs.evolve(observed, witnesses=witnesses)


def _on_snapshot(design: Design, probe: Probe) -> Observed:
    from kverify.check.exhaustive import scope, unsupported
    from kverify.concrete import iter_handling_groups
    from kverify.distribution import shares_from_groups

    cluster, flow = design.cluster, probe.flow()
    if (reason := unsupported(cluster, flow)) is not None:
        return Observed(unknown=reason)
    first: dict[Kind, Outcome] = {}
    nodes: dict[Kind, dict[str, None]] = {}  # insertion-ordered sets
    # Every outcome of a group has its kind: its class's delivery, source, reply, and whether it crosses
    # nodes (classes tell a handling's local endpoints apart). One outcome per group, not per endpoint.
    handlings = list(iter_handling_groups(cluster, flow))  # read twice: for the kinds, and for the shares
    for handled in handlings:
        for group in handled:
            outcome = group.outcome
            kind = Kind.of(outcome)
            first.setdefault(kind, outcome)
            seen = nodes.setdefault(kind, {})
            if outcome.node is not None:
                seen[outcome.node] = None
    kinds = tuple(sorted(first))
    witnesses = tuple(
        Witness(outcome=first[k], nodes=tuple(list(nodes[k])[:MAX_NODES_SHOWN]), node_count=len(nodes[k]))
        for k in kinds
    )
    shares = shares_from_groups(handlings)  # the probe's flow names no node: the shares of pod_shares
    service = cluster.service(probe.service)
    ready = [ep.ip for ep in service.endpoints if ep.ready] if service is not None else []
    got = [shares.get(ip, Fraction(0)) for ip in ready]
    ratio = max(got) / min(got) if got and min(got) > 0 else None
    dropped = 1 - sum(shares.values(), Fraction(0))
    return Observed(
        kinds=kinds,
        witnesses=witnesses,
        scope=scope(cluster, flow),
        share_ratio=ratio,
        dropped_share=dropped,
        no_ready_pod=not ready,
    )


def _over_placements(design: Design, probe: Probe) -> Observed:
    from kverify.placement.materialise import describe
    from kverify.placement.solve import outcomes_over_placements

    found, scope, reason = outcomes_over_placements(design, probe.flow())
    first: dict[Kind, Witness] = {}
    for placed in found:
        for outcome in placed.outcomes:
            kind = Kind.of(outcome)
            if kind not in first:
                empty = outcome.node is not None and not placed.placement.pods_on(outcome.node)
                first[kind] = Witness(outcome=outcome, placement=describe(placed.placement), node_without_pod=empty)
    kinds = tuple(sorted(first))
    ratio, where = _worst_share(design, probe, kinds) if reason is None else (None, None)
    return Observed(
        kinds=kinds,
        witnesses=tuple(first[k] for k in kinds),
        design_time=True,
        scope=scope,
        unknown=reason,
        share_ratio=ratio,
        share_placement=where,
    )


def _worst_share(design: Design, probe: Probe, kinds: tuple[Kind, ...]) -> tuple[Fraction | None, str | None]:
    """The worst largest/smallest Ready pod share over every placement, and the placement that gives
    it ("infinite" when some placement leaves a Ready pod without traffic); (None, None) when the flow
    delivers nothing or the search did not finish."""
    from kverify.placement.materialise import describe
    from kverify.placement.solve import worst_share_over_placements

    if not any(k.delivered and k.health is None for k in kinds):
        return None, None
    found = worst_share_over_placements(design, probe.flow())
    if found.unknown is not None or not found.finished:
        return None, None
    where = describe(found.placement) if found.placement is not None else "every placement shares evenly"
    return found.worst, ("infinite: " if found.worst is None else "") + where
