"""Claims about one Service decided on concrete manifests, by enumerating every outcome.

``route(cluster, flow)`` with no node named returns the outcome at every node the client may be on
or arrive at, so checking a property on each outcome is a proof *for these manifests* (the scope
says so), and an outcome that breaks it is a counterexample taken from the user's own cluster.
"""

from __future__ import annotations

import hashlib
import shlex
import weakref
from collections.abc import Callable, Sequence
from fractions import Fraction

import attrs

from kverify.concrete import route
from kverify.concrete.index import index_of
from kverify.concrete.lb_exclusion import exclusion_reason
from kverify.concrete.route import (
    first_breaking,
    in_cluster_lb_reason,
    in_cluster_via_hostname,
    nodeport_split_reason,
    per_packet_node_port_reason,
)
from kverify.concrete.unknown_lb import source_unknown, unmodelled_reason
from kverify.distribution import shares_of
from kverify.load.export import manifests
from kverify.model import Cluster, Destination, DropKind, Flow
from kverify.model.enums import CLIENT_EXTERNAL, CLIENT_POD, TO_LOAD_BALANCER
from kverify.results import Outcome
from kverify.verdicts import Counterexample, Proved, Refuted, Unknown, Verdict

DEFAULT_CLUSTER_CIDRS = ("10.0.0.0/8",)
#: Clusters up to this many nodes get their counterexample written out as a manifest; bigger ones
#: are reproduced on the user's own files (a 5,000-node manifest per finding helps nobody).
EXPORT_MAX_NODES = 50
#: A cluster read from the user's files is written out with each counterexample only if it is also
#: small in Services and endpoints: a review reads it whole, and every finding carries it, so a few
#: nodes running 2,000 Services made a JSON report of 146 MB for 65 findings (findings x Services).
EXPORT_MAX_SERVICES = 50
EXPORT_MAX_ENDPOINTS = 500


@attrs.frozen(kw_only=True)
class Property:
    """What every outcome of a flow must satisfy. ``violation`` says why an outcome breaks it (or None)."""

    id: str
    phrase: str  # what must hold of the flow's connections, as a sentence
    violation: Callable[[Outcome, frozenset[str]], str | None]
    #: Whether ``violation`` reads what differs between endpoints handled alike (the endpoint's node,
    #: crossing nodes, the hops); if not, it is asked once per endpoint class (route.first_breaking).
    per_endpoint: bool = False


def node_hops(outcome: Outcome, node_names: frozenset[str]) -> int:
    """Node-to-node hops of the request (the reply's way back is not counted)."""
    forward = outcome.hops[:-1] if outcome.delivered else outcome.hops
    visited: list[str] = []
    for hop in forward:
        for place in (hop.at, hop.to):
            name = place.split("@", 1)[1] if "@" in place else place.split(" ", 1)[0]
            if name in node_names and (not visited or visited[-1] != name):
                visited.append(name)
    return max(len(visited) - 1, 0)


def _delivered(o: Outcome, _: frozenset[str]) -> str | None:
    if not o.delivered:
        return f"not delivered ({o.drop_kind.spelling if o.drop_kind else 'lost'})"
    return None if o.reply_ok else "delivered, but the reply does not reach the client"


def _client_ip(o: Outcome, _: frozenset[str]) -> str | None:
    if o.delivered and (o.masqueraded or o.source_ip_seen == "load-balancer"):
        return f"the pod sees {o.source_ip_seen}, not the client's address"
    return None


def _proxy_header(o: Outcome, _: frozenset[str]) -> str | None:
    if o.delivered and o.proxy_expected and not o.proxy_header:
        return (
            f"reaches {o.endpoint_pod or o.endpoint_ip} without the PROXY protocol header its load balancer sends "
            "(the load balancer was bypassed: 'broken header')"
        )
    return None


def _stays(o: Outcome, _: frozenset[str]) -> str | None:
    return f"crosses from {o.node} to {o.endpoint_node}" if o.delivered and o.crosses_nodes else None


def _kind(kind: DropKind, word: str) -> Callable[[Outcome, frozenset[str]], str | None]:
    return lambda o, _: word if o.drop_kind is kind else None


def _ready(o: Outcome, _: frozenset[str]) -> str | None:
    if o.delivered and "endpoint-serving-terminating" in o.rules:
        return f"delivered to {o.endpoint_ip}, which is terminating"
    return None


def at_most_hops(limit: int) -> Property:
    def violation(o: Outcome, names: frozenset[str]) -> str | None:
        hops = node_hops(o, names)
        return f"{hops} node-to-node hops" if hops > limit else None

    return Property(
        id="at-most-hops",
        phrase=f"every connection takes at most {limit} node-to-node hop(s)",
        violation=violation,
        per_endpoint=True,
    )


PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in (
        Property(
            id="delivered",
            phrase="every connection is delivered to a pod, and its reply reaches the client",
            violation=_delivered,
        ),
        Property(
            id="client-ip-preserved",
            phrase="every connection reaches the pod with the client's IP as source",
            violation=_client_ip,
        ),
        Property(
            id="proxy-header-received",
            phrase="every connection reaches the pod with the PROXY protocol header its load balancer sends",
            violation=_proxy_header,
        ),
        Property(
            id="stays-on-arrival-node",
            phrase="every connection is served by a pod on the node it arrived at",
            violation=_stays,
            per_endpoint=True,
        ),
        Property(
            id="never-dropped", phrase="no connection is silently dropped", violation=_kind(DropKind.DROP, "DROPPED")
        ),
        Property(id="never-rejected", phrase="no connection is rejected", violation=_kind(DropKind.REJECT, "REJECTED")),
        Property(
            id="reaches-ready-pod", phrase="every connection reaches a Ready (not terminating) pod", violation=_ready
        ),
    )
}
#: Properties with a parameter: ``at-most-hops`` (hops) and ``share-within`` (ratio).
PARAMETRIC = ("at-most-hops", "share-within")


def scope(cluster: Cluster, flow: Flow) -> str:
    n = len(cluster.nodes)
    where = f"these manifests: {n} node(s), {cluster.proxy.dataplane.spelling}"
    if flow.client is CLIENT_EXTERNAL:
        if flow.node is not None:
            return f"{where}, arriving at {flow.node}"
        if flow.destination is Destination.LOAD_BALANCER:
            service = cluster.service(flow.service)
            profile = cluster.load_balancer_for(service)
            why = "" if cluster.load_balancer_explicit else f", {cluster.load_balancer_reason(service)}"
            return f"{where}, every arrival node the load balancer ({profile.spelling}{why}) may pick"
        return f"{where}, arriving at every node"
    kind = "pod" if flow.client is CLIENT_POD else "host-network"
    if flow.node is not None:
        return f"{where}, a {kind} client on {flow.node}"
    return f"{where}, a {kind} client on every node"


def unsupported(cluster: Cluster, flow: Flow) -> str | None:
    """Why the executable model cannot decide flows to this Service, if it cannot."""
    service = index_of(cluster).services_by_key.get(flow.service)
    if service is None:
        return None  # route() reports it as bad input
    if service.headless:
        return "the Service is headless (clusterIP: None): clients reach pods directly, kverify models proxied Services"
    if in_cluster_via_hostname(flow, service):
        # An AWS NLB's hairpin back to the client's own node is decided (rule lb-aws-nlb-hairpin); the rest is not.
        return in_cluster_lb_reason(cluster, flow)
    if not cluster.nodes:
        return "the manifests have no Node objects: no arrival or client node to enumerate"
    if flow.destination is TO_LOAD_BALANCER:
        reason = unmodelled_reason(cluster.load_balancer_for(service), cluster.proxy.dataplane)
        return reason or exclusion_reason(cluster, service)
    return per_packet_node_port_reason(cluster, flow) or nodeport_split_reason(cluster, flow)


def stable_id(*parts: object) -> str:
    return "cx-" + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:10]


def reproduce(cluster: Cluster, flow: Flow, files: Sequence[str]) -> str:
    """A ``kverify trace`` command showing the counterexample flow on ``files``."""
    from kverify.prove.commands import trace_command

    command = trace_command(cluster, flow, files[0], via_load_balancer=False)
    first = shlex.quote(files[0])
    command = command.replace(first, " ".join(shlex.quote(f) for f in files), 1)  # the files come first
    extra: list[str] = []
    if cluster.proxy.cluster_cidrs != DEFAULT_CLUSTER_CIDRS:
        for cidr in cluster.proxy.cluster_cidrs:
            extra += ["--cluster-cidr", cidr]
    if flow.protocol.spelling != "TCP":
        extra += ["--protocol", flow.protocol.spelling]
    return f"{command} {shlex.join(extra)}" if extra else command


#: The last cluster written as a manifest, and the text: the counterexamples of one check share their
#: cluster, which a few nodes may run thousands of Services on (one export per finding was
#: findings x Services).
_last_manifest: tuple[weakref.ref[Cluster], str] | None = None


def _manifest_of(cluster: Cluster) -> str:
    """``manifests(cluster)``, written once per cluster however many counterexamples are found in it."""
    global _last_manifest
    if _last_manifest is None or _last_manifest[0]() is not cluster:
        _last_manifest = (weakref.ref(cluster), manifests(cluster))
    return _last_manifest[1]


#: The last cluster measured by :func:`_small`, and the answer (asked once per counterexample).
_last_small: tuple[weakref.ref[Cluster], bool] | None = None


def _small(cluster: Cluster) -> bool:
    """Whether the cluster is small enough to write out with each counterexample found on the user's
    files (see ``EXPORT_MAX_SERVICES``)."""
    global _last_small
    if _last_small is None or _last_small[0]() is not cluster:
        small = len(cluster.nodes) <= EXPORT_MAX_NODES and len(cluster.services) <= EXPORT_MAX_SERVICES
        small = small and sum(len(s.endpoints) for s in cluster.services) <= EXPORT_MAX_ENDPOINTS
        _last_small = (weakref.ref(cluster), small)
    return _last_small[1]


def counterexample(
    cluster: Cluster, flow: Flow, outcome: Outcome, claim: str, files: Sequence[str] | None, detail: str = ""
) -> Counterexample:
    """A counterexample on the user's cluster, with a stable id and a command that reproduces it.

    ``files`` are the manifests the cluster was loaded from; ``None`` (an inline topology) writes the
    cluster as a manifest named after the id.
    """
    if outcome.node is not None and flow.node is None:
        flow = attrs.evolve(flow, node=outcome.node)
    manifest = _manifest_of(cluster) if (files is None or _small(cluster)) else ""
    cx_id = stable_id(claim, flow, outcome.to_json(), manifest or tuple(files or ()))
    command = reproduce(cluster, flow, files if files is not None else [f"{cx_id}.yaml"])
    return Counterexample(
        cluster=cluster, flow=flow, outcome=outcome, id=cx_id, command=command, manifest=manifest, detail=detail
    )


def decide(
    cluster: Cluster,
    flow: Flow,
    prop: Property,
    *,
    claim: str,
    files: Sequence[str] | None,
) -> Verdict:
    """Every outcome of ``flow`` satisfies ``prop`` (Proved), or the first that does not (Refuted)."""
    dataplane = cluster.proxy.dataplane
    reason = unsupported(cluster, flow)
    if reason is None and prop.id == "client-ip-preserved":
        reason = source_unknown(cluster, flow)
    if reason is not None:
        return Unknown(claim=claim, dataplane=dataplane, reason=reason, scope=scope(cluster, flow))
    names = index_of(cluster).node_names
    outcome = first_breaking(
        cluster, flow, lambda o: prop.violation(o, names) is not None, per_endpoint=prop.per_endpoint
    )
    if outcome is not None:
        cx = counterexample(cluster, flow, outcome, claim, files, detail=prop.violation(outcome, names) or "")
        return Refuted(claim=claim, dataplane=dataplane, scope=scope(cluster, flow), counterexample=cx)
    return Proved(claim=claim, dataplane=dataplane, scope=scope(cluster, flow))


def shares(cluster: Cluster, flow: Flow) -> dict[str, Fraction]:
    """Per-pod shares of the flow's connections (as :func:`kverify.distribution.pod_shares`, which it
    equals when no node is named), keeping a named client or arrival node."""
    return shares_of(cluster, flow)


def decide_share(cluster: Cluster, flow: Flow, ratio: float, *, claim: str, files: Sequence[str] | None) -> Verdict:
    """Every Ready pod behind the port gets a share, and the largest is at most ``ratio`` times the smallest."""
    dataplane = cluster.proxy.dataplane
    reason = unsupported(cluster, flow)
    if reason is not None:
        return Unknown(claim=claim, dataplane=dataplane, reason=reason, scope=scope(cluster, flow))
    got = shares(cluster, flow)
    service = index_of(cluster).services_by_key[flow.service]
    port = service.port(flow.port, flow.protocol)
    pods = sorted({e.ip for e in service.endpoints if e.ready and (port is None or e.serves(port.name))} | set(got))
    spread = {ip: got.get(ip, Fraction(0)) for ip in pods}
    if not spread:
        return Unknown(
            claim=claim,
            dataplane=dataplane,
            reason="the Service has no Ready pods to share traffic",
            scope=scope(cluster, flow),
        )
    low, high = min(spread.values()), max(spread.values())
    if high <= low * Fraction(ratio).limit_denominator(1000):
        return Proved(claim=claim, dataplane=dataplane, scope=scope(cluster, flow))
    richest = max(spread, key=lambda ip: spread[ip])
    outcome = next(o for o in route(cluster, flow) if o.endpoint_ip == richest)
    listed = ", ".join(f"{ip} gets {share}" for ip, share in spread.items())
    detail = f"per-pod shares: {listed} (largest/smallest {'infinite' if low == 0 else str(high / low)} > {ratio})"
    cx = counterexample(cluster, flow, outcome, claim, files, detail=detail)
    return Refuted(claim=claim, dataplane=dataplane, scope=scope(cluster, flow), counterexample=cx)
