"""A spec claim about packets to an address that belongs to no Service: ``to: {address: ...}``.

A Service claim names a Service and an entry point (``service``, ``via``); a packet to an unallocated
address of the service CIDR has neither, and only one rule decides it (``nftables-unallocated-service-ip``).
So an address claim names the address instead (``to``), and says one of the few things such a packet can
do: be dropped by the proxy, or be left to the node's routes.

- ``to: {address: 10.43.255.1}``: one address; decided by the executable model
  (:func:`kverify.concrete.route_address`) at every node and for every client kind the claim covers, a
  proof for these manifests.
- ``to: {unallocated: service-cidr}``: every address of the service CIDRs that no Service holds; decided by
  the Z3 address query (:func:`kverify.symbolic.address.find_violation_on`) over every such address with the
  cluster's proxy as configured, and a counterexample replayed through the executable model. A proof is
  cross-checked on one such address by the executable model; a disagreement is an internal error.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from kverify.check.findings import HOLDS, Location
from kverify.errors import InternalError, NotModelled, names, quote
from kverify.load.fields import Ctx, Path, invalid, unsupported
from kverify.model import AddressFlow, ClientKind, Cluster, DropKind
from kverify.results import Outcome
from kverify.semantics.ops import Term
from kverify.semantics.unallocated import AddressWorld
from kverify.verdicts import Counterexample, Proved, Refuted, Unknown, Verdict

#: The fields of ``to``: exactly one.
TO_FIELDS = ("address", "unallocated")
#: What ``unallocated`` may range over.
UNALLOCATED_IN = ("service-cidr",)
#: The fields a Service claim has and an address claim does not.
SERVICE_ONLY = ("service", "via", "hops", "ratio", "during")
_WHO = {ClientKind.EXTERNAL: "external clients", ClientKind.POD: "pods", ClientKind.NODE: "host-network clients"}


@attrs.frozen(kw_only=True)
class AddressProperty:
    """What every packet to the address must do: ``violation`` says why an outcome of the executable model
    breaks it (or ``None``); ``require`` states it of an :class:`AddressWorld` for the Z3 query."""

    id: str
    phrase: str
    violation: Callable[[Outcome], str | None]
    require: Callable[[AddressWorld], Term]


def _not_dropped(o: Outcome) -> str | None:
    return None if o.drop_kind is DropKind.DROP else f"not dropped: {o.hops[-1].note or 'left to the routes'}"


ADDRESS_PROPERTIES: dict[str, AddressProperty] = {
    p.id: p
    for p in (
        AddressProperty(
            id="dropped",
            phrase="every new connection is dropped by the proxy of the node it meets (nothing answers)",
            violation=_not_dropped,
            require=lambda w: w.dropped,
        ),
        AddressProperty(
            id="never-dropped",
            phrase="no connection is silently dropped (the node's routes take it)",
            violation=lambda o: "DROPPED" if o.drop_kind is DropKind.DROP else None,
            require=lambda w: w.ops.not_(w.dropped),
        ),
        AddressProperty(
            id="never-rejected",
            phrase="no connection is rejected",
            violation=lambda o: "REJECTED" if o.drop_kind is DropKind.REJECT else None,
            require=lambda w: w.ops.all_(()),  # the rule drops or routes such a packet, never rejects it
        ),
    )
}


@attrs.frozen(kw_only=True)
class AddressSpecClaim:
    """One belief about packets to an address that belongs to no Service."""

    id: str
    #: One address; ``None``: every address of the service CIDRs that no Service holds.
    address: str | None
    #: ``None``: every kind of client (external, pod, host-network).
    client: ClientKind | None = None
    node: str | None = None  # arrival node (external) or client node; None: every node
    source_ip: str | None = None
    port: int | None = None
    prop: str
    expect: str = HOLDS
    allow_unknown: bool = False
    why: str = ""
    location: Location

    @property
    def service(self) -> str:
        """What reports show where a Service claim shows its Service."""
        return f"address {self.address}" if self.address is not None else "unallocated service IPs"

    @property
    def statement(self) -> str:
        who = _WHO[self.client] if self.client is not None else "every client"
        where = f" on {self.node}" if self.node else ""
        what = self.address if self.address is not None else "any address of the service CIDRs that no Service holds"
        return f"{who}{where} to {what}: {ADDRESS_PROPERTIES[self.prop].phrase}"


def address_claim_from(
    ctx: Ctx, raw: dict[str, Any], path: Path, claim_id: str, cluster: Cluster, nodes: set[str]
) -> AddressSpecClaim | None:
    """The claim ``raw`` (which has ``to``), checked; ``None`` when a problem was recorded. ``id``,
    ``expect``, ``allowUnknown`` and ``why`` are read by the caller, as for a Service claim."""
    from kverify.check.specfile.loader import CLIENTS, known_fields

    before = len(ctx.problems)
    for key in SERVICE_ONLY:
        if key in raw:
            ctx.error((*path, key), "Forbidden: a claim to an address (`to`) names no Service; use one or the other")
    to = raw["to"]
    address: str | None = None
    if type(to) is not dict:
        ctx.error((*path, "to"), invalid(to, "must be a mapping"))
    else:
        known_fields(ctx, to, (*path, "to"), TO_FIELDS)
        if sum(key in to for key in TO_FIELDS) != 1:
            ctx.error((*path, "to"), "Required value: exactly one of `address` (an IP) or `unallocated: service-cidr`")
        elif "address" in to:
            address = _address(ctx, to, (*path, "to", "address"), cluster)
        else:
            _unallocated(ctx, to, (*path, "to", "unallocated"), cluster)
    client = None
    if "from" in raw:
        word = raw["from"]
        client = CLIENTS.get(word) if type(word) is str else None
        if client is None:
            ctx.error((*path, "from"), unsupported(word, tuple(CLIENTS)))
    node = ctx.string(raw, "node", path)
    if node is not None and node not in nodes:
        ctx.error((*path, "node"), f"Not found: {quote(node)} (nodes: {names(nodes)})")
    source = ctx.string(raw, "sourceIP", path)
    if source is not None:
        ctx.ip(source, (*path, "sourceIP"))
    port = ctx.port(raw, "port", path)
    prop = ctx.string(raw, "property", path, required=True)
    if prop is not None and prop not in ADDRESS_PROPERTIES:
        ctx.error((*path, "property"), unsupported(prop, tuple(ADDRESS_PROPERTIES)) + " (a claim to an address)")
    if len(ctx.problems) != before or prop is None:
        return None
    return AddressSpecClaim(
        id=claim_id,
        address=address,
        client=client,
        node=node,
        source_ip=source,
        port=port,
        prop=prop,
        location=Location(file=ctx.file, line=ctx.locate(path)),
    )


def _address(ctx: Ctx, to: dict[str, Any], path: Path, cluster: Cluster) -> str | None:
    text = to["address"]
    if type(text) is not str or ctx.ip(text, path) is None:
        if type(text) is not str:
            ctx.error(path, invalid(text, "must be a valid IP address"))
        return None
    text = str(ipaddress.ip_address(text))
    for service in cluster.services:
        lb = tuple(i.ip for i in service.load_balancer_ingress if i.ip)
        for via, held in (
            ("cluster-ip", service.cluster_ips),
            ("external-ip", service.external_ips),
            ("load-balancer", lb),
        ):
            if text in held:
                ctx.error(
                    path,
                    invalid(
                        text,
                        f"a {via} address of {service.key}: claim it with `service: {service.key}` and `via: {via}`",
                    ),
                )
                return None
    return text


def _unallocated(ctx: Ctx, to: dict[str, Any], path: Path, cluster: Cluster) -> None:
    word = to["unallocated"]
    if type(word) is not str or word not in UNALLOCATED_IN:
        ctx.error(path, unsupported(word, UNALLOCATED_IN))
    elif not cluster.proxy.service_cidrs:
        ctx.error(
            path,
            "Required value: the service CIDRs (environment.serviceCIDR, or ServiceCIDR objects in the manifests): "
            "kverify does not guess them",
        )


# -- deciding ---------------------------------------------------------------------------------------

NO_NODE_OBJECTS = "the manifests have no Node objects: no arrival or client node to enumerate"
_SCOPE_ONE = "these manifests: {nodes} node(s), {dataplane}, {who}, {where}"
_SCOPE_EVERY = (
    "these manifests: {nodes} node(s), {dataplane} v1.{minor}, every address of the service CIDRs {cidrs} but the "
    "{held} address(es) the Services hold, {who}, {where} (the Z3 address query, exact over 128-bit addresses)"
)


def decide_address_claim(cluster: Cluster, claim: AddressSpecClaim, files: Sequence[str] | None) -> Verdict:
    """Proved for these manifests, Refuted with a packet replayed through the executable model, or Unknown
    where the model does not cover the dataplane."""
    from kverify.concrete.service_cidr import route_address

    prop = ADDRESS_PROPERTIES[claim.prop]
    dataplane = cluster.proxy.dataplane
    who = _WHO[claim.client] if claim.client is not None else "every kind of client"
    if not cluster.nodes:  # as for a Service claim (kverify.check.exhaustive.unsupported)
        return Unknown(claim=claim.id, dataplane=dataplane, reason=NO_NODE_OBJECTS)
    try:
        if claim.address is None:
            return _decide_every(cluster, claim, prop, files, who)
        scope = _SCOPE_ONE.format(
            nodes=len(cluster.nodes),
            dataplane=dataplane.spelling,
            who=who,
            where=_where(claim),
        )
        for flow in _flows(claim, claim.address):
            for outcome in route_address(cluster, flow):
                why = prop.violation(outcome)
                if why is not None:
                    cx = _counterexample(cluster, flow, outcome, claim, files, why)
                    return Refuted(claim=claim.id, dataplane=dataplane, scope=scope, counterexample=cx)
        return Proved(claim=claim.id, dataplane=dataplane, scope=scope)
    except NotModelled as error:
        return Unknown(claim=claim.id, dataplane=dataplane, reason=error.problems[0].message)


def _where(claim: AddressSpecClaim) -> str:
    if claim.node is not None:
        return f"at {claim.node}"
    return "every node an external packet may reach" if claim.client in (None, ClientKind.EXTERNAL) else "every node"


def _flows(claim: AddressSpecClaim, address: str) -> list[AddressFlow]:
    clients = (claim.client,) if claim.client is not None else tuple(ClientKind)
    return [
        AddressFlow(dst_ip=address, client=c, client_ip=claim.source_ip, node=claim.node, port=claim.port)
        for c in clients
    ]


def _decide_every(
    cluster: Cluster, claim: AddressSpecClaim, prop: AddressProperty, files: Sequence[str] | None, who: str
) -> Verdict:
    from kverify.concrete.service_cidr import check_modelled, route_address
    from kverify.symbolic.address import find_violation_on  # loads Z3

    check_modelled(cluster, "every unallocated address of the service CIDRs")
    proxy = cluster.proxy
    held = _held(cluster)
    scope = _SCOPE_EVERY.format(
        nodes=len(cluster.nodes),
        cidrs=", ".join(proxy.service_cidrs),
        held=len(held),
        who=who,
        dataplane=proxy.dataplane.spelling,
        minor=proxy.kubernetes_version,
        where=_where(claim),
    )
    answer = find_violation_on(cluster, prop.require, client=claim.client, held=held)
    if answer.status == "unknown" or (answer.status == "sat" and answer.flow is None):
        return Unknown(claim=claim.id, dataplane=proxy.dataplane, reason=answer.reason, scope=scope)
    if answer.status == "unsat":
        _cross_check(cluster, claim, prop, held)
        return Proved(claim=claim.id, dataplane=proxy.dataplane, scope=scope)
    assert answer.flow is not None
    flow = attrs.evolve(answer.flow, client_ip=claim.source_ip, node=claim.node, port=claim.port)
    for outcome in route_address(cluster, flow):
        why = prop.violation(outcome)
        if why is not None:
            cx = _counterexample(cluster, flow, outcome, claim, files, why)
            return Refuted(claim=claim.id, dataplane=proxy.dataplane, scope=scope, counterexample=cx)
    raise InternalError(
        f"the solver's counterexample to spec claim {claim.id!r} does not replay: the executable model does not "
        f"break it\nflow: {flow}\noutcomes: {[o.to_json() for o in route_address(cluster, flow)]}"
    )


def _held(cluster: Cluster) -> tuple[str, ...]:
    """Every address a Service owns (ClusterIPs, externalIPs, load-balancer addresses): none is an address of
    no Service, whatever CIDR it lies in."""
    addresses = (
        ip
        for s in cluster.services
        for ip in (*s.cluster_ips, *s.external_ips, *(i.ip for i in s.load_balancer_ingress if i.ip))
    )
    return tuple(dict.fromkeys(addresses))


def _cross_check(cluster: Cluster, claim: AddressSpecClaim, prop: AddressProperty, held: Sequence[str]) -> None:
    """The executable model agrees with a proof on one unallocated address of each service CIDR."""
    from kverify.concrete.service_cidr import route_address

    taken = set(held)
    for text in cluster.proxy.service_cidrs:
        network = ipaddress.ip_network(text, strict=False)
        # The first address no Service holds: at most len(held) + 1 steps.
        address = next(str(a) for a in _addresses_of(network) if str(a) not in taken)
        for flow in _flows(claim, address):
            for outcome in route_address(cluster, flow):
                if prop.violation(outcome) is not None:
                    raise InternalError(
                        f"the solver proved spec claim {claim.id!r} but the executable model breaks it\nflow: {flow}\n"
                        f"outcome: {outcome.to_json()}"
                    )


def _addresses_of(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Any:
    first = int(network.network_address)
    for n in range(network.num_addresses):
        yield ipaddress.ip_address(first + n) if network.version == 4 else ipaddress.IPv6Address(first + n)


def _counterexample(
    cluster: Cluster,
    flow: AddressFlow,
    outcome: Outcome,
    claim: AddressSpecClaim,
    files: Sequence[str] | None,
    why: str,
) -> Counterexample:
    from kverify.check.exhaustive import _manifest_of, stable_id
    from kverify.prove.run import address_trace_command

    if outcome.node is not None and flow.node is None:
        flow = attrs.evolve(flow, node=outcome.node)
    manifest = _manifest_of(cluster) if files is None else ""
    cx_id = stable_id(claim.id, flow, outcome.to_json(), manifest or tuple(files or ()))
    command = address_trace_command(cluster, flow, files[0] if files else f"{cx_id}.yaml")
    if files and len(files) > 1:
        first = shlex.quote(files[0])
        command = command.replace(first, " ".join(shlex.quote(f) for f in files), 1)
    return Counterexample(
        cluster=cluster, flow=flow, outcome=outcome, id=cx_id, command=command, manifest=manifest, detail=why
    )
