"""The Z3 encoding of a packet to an address that belongs to no Service (rule
``nftables-unallocated-service-ip``): its own small query, not part of the per-Service encodings.

Why its own query: the per-Service universe is one Service with its endpoints, nodes and policies,
and every rule there reads them. This rule reads none of them: only the dataplane, the version and
its gate, whether the address lies in a service CIDR, and whether *any* Service holds it. Putting it
in the per-Service universe would quantify over a Service that takes no part, and could not say
"no Service holds it" of the other Services. So this universe holds just what the rule reads, over
concrete-width bit-vectors: the address (IPv4 or IPv6, 128 bits), up to ``MAX_CIDRS`` service CIDRs
and up to ``MAX_SERVICES`` Services' ClusterIPs. CIDR membership and "a Service holds it" are encoded
exactly (masks and equalities), not abstracted: a counterexample decodes to real CIDRs and addresses
that :func:`kverify.concrete.route_address` replays.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import z3

from kverify.model import AddressFlow, ClientKind, Cluster, Dataplane, Node, ProxyConfig, Service, ServicePort
from kverify.model.enums import KUBE_PROXY_DATAPLANES
from kverify.model.versions import GATES, resolve_gates
from kverify.semantics.ops import Term
from kverify.semantics.unallocated import GATE, AddressSituation, AddressWorld, unallocated_dropped
from kverify.symbolic.smt_ops import SmtOps, lift
from kverify.symbolic.universe import version_constraints

if TYPE_CHECKING:
    from kverify.prove.claims import AddressClaim

#: Service CIDRs and Services a query draws: two CIDRs show any mix of families, two ClusterIPs an
#: address held or not; the rule reads each CIDR and ClusterIP on its own, so more add no new case.
MAX_CIDRS, MAX_SERVICES = 2, 2
WIDTH = 128
_V4_SPACE = 1 << 32


@attrs.frozen(kw_only=True)
class Prefix:
    """One service CIDR (or, with ``length`` 128/32, one ClusterIP): the terms of its bits."""

    present: Any
    v6: Any
    network: Any
    length: Any


class AddressUniverse:
    """The inputs of rule nftables-unallocated-service-ip, as Z3 constants."""

    def __init__(self, max_cidrs: int = MAX_CIDRS, max_services: int = MAX_SERVICES) -> None:
        self.dataplane = z3.Int("address_dataplane")
        self.k8s_minor = z3.Int("address_k8s_minor")
        self.gates = {name: z3.Bool(f"address_gate_{name}") for name in GATES}
        self.client = z3.Int("address_client")
        self.v6 = z3.Bool("address_v6")
        self.address = z3.BitVec("address", WIDTH)
        self.cidrs = tuple(
            Prefix(
                present=z3.Bool(f"cidr{i}_present"),
                v6=z3.Bool(f"cidr{i}_v6"),
                network=z3.BitVec(f"cidr{i}_network", WIDTH),
                length=z3.BitVec(f"cidr{i}_length", WIDTH),
            )
            for i in range(max_cidrs)
        )
        self.services = tuple(
            (z3.Bool(f"service{j}_present"), z3.Bool(f"service{j}_v6"), z3.BitVec(f"service{j}_ip", WIDTH))
            for j in range(max_services)
        )

    def in_service_cidr(self) -> Any:
        """The address lies in a present CIDR of its own family."""
        return z3.Or(
            *(z3.And(c.present, c.v6 == self.v6, self.address & _network_mask(c) == c.network) for c in self.cidrs)
        )

    def held_by_service(self) -> Any:
        return z3.Or(*(z3.And(present, v6 == self.v6, ip == self.address) for present, v6, ip in self.services))

    def situation(self) -> AddressSituation:
        return AddressSituation(
            dataplane=self.dataplane,
            k8s_minor=self.k8s_minor,
            gate_multi_cidr=self.gates[GATE],
            in_service_cidr=self.in_service_cidr(),
            held_by_service=self.held_by_service(),
        )

    def dropped(self) -> Any:
        """The rule, as the executable model evaluates it."""
        return lift(unallocated_dropped(SmtOps(), self.situation()))

    def world(self) -> AddressWorld:
        return AddressWorld(ops=SmtOps(), situation=self.situation(), dropped=self.dropped())

    def well_formed(self) -> list[Any]:
        """What every real cluster satisfies: a kube-proxy dataplane (Cilium's handling of such addresses is
        not modelled) of a modelled version, addresses of their family, CIDRs with no host bits, and at least
        one service CIDR (the API server's default ServiceCIDR, from --service-cluster-ip-range)."""
        c = [z3.Or(*(self.dataplane == int(d) for d in (*KUBE_PROXY_DATAPLANES, Dataplane.DNAT_ONLY)))]
        c += version_constraints(self.k8s_minor, self.gates, self.dataplane)
        c += [z3.And(self.client >= 0, self.client < len(ClientKind))]
        c += [_fits(self.address, self.v6)]
        for cidr in self.cidrs:
            width = z3.If(cidr.v6, z3.BitVecVal(128, WIDTH), z3.BitVecVal(32, WIDTH))
            c += [z3.ULE(cidr.length, width), _fits(cidr.network, cidr.v6)]
            c += [cidr.network & ~_network_mask(cidr) & _family_ones(cidr.v6) == 0]
        c += [z3.Or(*(cidr.present for cidr in self.cidrs))]
        c += [_fits(ip, v6) for _, v6, ip in self.services]
        return c

    def pins(self, minor: int, gates: tuple[tuple[str, bool], ...]) -> list[Any]:
        """The version and every gate value (the defaults, then the overrides): a proof is for one version."""
        resolved = resolve_gates(minor, gates)
        return [self.k8s_minor == minor] + [self.gates[name] == value for name, value in resolved.items()]


def _family_ones(v6: Any) -> Any:
    return z3.If(v6, z3.BitVecVal((1 << WIDTH) - 1, WIDTH), z3.BitVecVal(_V4_SPACE - 1, WIDTH))


def _network_mask(cidr: Prefix) -> Any:
    """The prefix's bits within its family's width: (1 << 128) wraps to 0, so a /0 masks nothing."""
    width = z3.If(cidr.v6, z3.BitVecVal(128, WIDTH), z3.BitVecVal(32, WIDTH))
    host = (z3.BitVecVal(1, WIDTH) << (width - cidr.length)) - 1
    return _family_ones(cidr.v6) & ~host


def _fits(value: Any, v6: Any) -> Any:
    """An IPv4 value is below 2^32 (IPv4 addresses are the low 32 bits)."""
    return z3.Or(v6, z3.ULT(value, z3.BitVecVal(_V4_SPACE, WIDTH)))


# -- concrete values in, concrete values out --------------------------------------------------------


def pins_for(u: AddressUniverse, cluster: Cluster, flow: AddressFlow) -> list[Any]:
    """Constraints that fix the universe to ``cluster`` and ``flow`` (the differential tests: the
    executable model and the encoding must agree on them). ``cluster`` holds at most MAX_CIDRS service
    CIDRs and MAX_SERVICES ClusterIPs."""
    proxy = cluster.proxy
    address = ipaddress.ip_address(flow.dst_ip)
    c = [u.dataplane == int(proxy.dataplane), u.client == int(flow.client)]
    c += u.pins(proxy.kubernetes_version, proxy.feature_gates)
    c += [u.v6 == (address.version == 6), u.address == int(address)]
    ips = [ip for s in cluster.services for ip in s.cluster_ips]
    return c + _pin_cidrs(u, proxy.service_cidrs) + _pin_held(u, ips)


def _pin_cidrs(u: AddressUniverse, texts: Sequence[str]) -> list[Any]:
    """The universe's CIDRs are exactly ``texts``."""
    cidrs = [ipaddress.ip_network(text, strict=False) for text in texts]
    if len(cidrs) > len(u.cidrs):
        raise ValueError(f"at most {len(u.cidrs)} service CIDRs")
    c: list[Any] = []
    for i, cidr in enumerate(u.cidrs):
        if i < len(cidrs):
            net = cidrs[i]
            c += [cidr.present, cidr.v6 == (net.version == 6), cidr.network == int(net.network_address)]
            c += [cidr.length == net.prefixlen]
        else:
            c += [z3.Not(cidr.present)]
    return c


def _pin_held(u: AddressUniverse, texts: Sequence[str]) -> list[Any]:
    """The addresses Services hold are exactly ``texts``."""
    ips = [ipaddress.ip_address(text) for text in texts]
    if len(ips) > len(u.services):
        raise ValueError(f"at most {len(u.services)} ClusterIPs")
    c: list[Any] = []
    for j, (present, v6, ip) in enumerate(u.services):
        if j < len(ips):
            c += [present, v6 == (ips[j].version == 6), ip == int(ips[j])]
        else:
            c += [z3.Not(present)]
    return c


def decode(u: AddressUniverse, model: z3.ModelRef) -> tuple[Cluster, AddressFlow]:
    """The cluster and flow of a model: one node, a ClusterIP Service per present ClusterIP, the present
    CIDRs as the proxy's service CIDRs, and a pod client on the node."""

    def value(term: Any) -> Any:
        return model.eval(term, model_completion=True)

    def address(term: Any, v6: Any) -> str:
        number = value(term).as_long()
        return str(ipaddress.IPv6Address(number) if z3.is_true(value(v6)) else ipaddress.IPv4Address(number))

    cidrs = tuple(
        f"{address(c.network, c.v6)}/{value(c.length).as_long()}" for c in u.cidrs if z3.is_true(value(c.present))
    )
    services = tuple(
        Service(
            namespace="default",
            name=f"svc-{j}",
            cluster_ips=(address(ip, v6),),
            ports=(ServicePort(name="http", port=80),),
        )
        for j, (present, v6, ip) in enumerate(u.services)
        if z3.is_true(value(present))
    )
    minor = value(u.k8s_minor).as_long()
    defaults = resolve_gates(minor, ())
    gates = tuple(
        (name, z3.is_true(value(u.gates[name])))
        for name in GATES
        if GATES[name].exists(minor)
        and z3.is_true(value(u.gates[name])) != defaults[name]
        and (GATES[name].locked is None or minor < GATES[name].locked)
    )
    proxy = ProxyConfig(
        dataplane=Dataplane(value(u.dataplane).as_long()),
        kubernetes_version=minor,
        feature_gates=gates,
        service_cidrs=cidrs,
    )
    node = Node(name="node-a", addresses=("192.168.0.10",), pod_cidrs=("10.244.0.0/24",))
    cluster = Cluster(nodes=(node,), services=services, proxy=proxy)
    flow = AddressFlow(dst_ip=address(u.address, u.v6), client=ClientKind(value(u.client).as_long()), node=node.name)
    return cluster, flow


def readable(u: AddressUniverse) -> list[Any]:
    """Preferences for a counterexample people read, most important first (each kept only if a violation
    remains): a pod client, one IPv4 CIDR (kubeadm's default serviceSubnet), no Service, an address near
    the range's start, the Kubernetes versions' default gates."""
    first = u.cidrs[0]
    prefs: list[Any] = [u.client == int(ClientKind.POD), z3.Not(u.v6), first.present, z3.Not(first.v6)]
    prefs += [first.network == int(ipaddress.IPv4Address("10.96.0.0")), first.length == 12]
    prefs += [z3.Not(c.present) for c in u.cidrs[1:]]
    prefs += [z3.Not(present) for present, _, _ in u.services]
    prefs += [u.address == int(ipaddress.IPv4Address("10.96.0.99"))]
    return prefs


@attrs.frozen(kw_only=True)
class AddressAnswer:
    """``unsat``: no cluster breaks the claim; ``sat``: the decoded cluster and flow of one that does."""

    status: Literal["unsat", "sat", "unknown"]
    cluster: Cluster | None = None
    flow: AddressFlow | None = None
    reason: str = ""


def find_violation(
    claim: AddressClaim,
    dataplane: Dataplane,
    *,
    version: int,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    timeout_ms: int,
) -> AddressAnswer:
    """Look for a packet to an address of no Service that breaks ``claim`` on ``dataplane`` at Kubernetes
    v1.``version`` with these gates; a violation is made readable greedily (:func:`readable`), each
    preference kept only if a violation remains, so the answer does not depend on the solver's history."""
    from kverify.symbolic.prove import LOGIC, SEED

    u = AddressUniverse()
    solver = z3.SolverFor(LOGIC)
    solver.set("random_seed", SEED)
    solver.set("timeout", timeout_ms)
    world = u.world()
    solver.add(*u.well_formed(), u.dataplane == int(dataplane), *u.pins(version, feature_gates))
    solver.add(lift(claim.assume(world)), z3.Not(lift(claim.require(world))))
    result = solver.check()
    if result == z3.unsat:
        return AddressAnswer(status="unsat")
    if result == z3.unknown:
        return AddressAnswer(status="unknown", reason=f"solver: {solver.reason_unknown()}")
    for preference in readable(u):
        solver.push()
        solver.add(preference)
        if solver.check() != z3.sat:
            solver.pop()
    if solver.check() != z3.sat:  # a preference check gave up: answer honestly rather than decode nothing
        return AddressAnswer(status="unknown", reason=f"solver: {solver.reason_unknown()}")
    cluster, flow = decode(u, solver.model())
    return AddressAnswer(status="sat", cluster=cluster, flow=flow)


def find_violation_on(
    cluster: Cluster,
    require: Callable[[AddressWorld], Term],
    *,
    client: ClientKind | None,
    held: Sequence[str],
    timeout_ms: int | None = None,
) -> AddressAnswer:
    """Look for an address of ``cluster``'s service CIDRs that none of ``held`` is (every address its Services
    hold) whose packet breaks ``require``, with the cluster's proxy as it is configured: dataplane, version,
    gates and CIDRs pinned; the address, and the client unless ``client`` names it, free. A spec claim's
    question (:mod:`kverify.check.specfile.address`); the answer's flow is for ``cluster`` itself. Only the held
    addresses inside a CIDR can matter, so only those are given to the solver."""
    from kverify.symbolic.prove import DEFAULT_TIMEOUT_MS, LOGIC, SEED

    proxy = cluster.proxy
    networks = [ipaddress.ip_network(text, strict=False) for text in proxy.service_cidrs]
    inside = [ip for ip in held if any(ipaddress.ip_address(ip) in n for n in networks)]
    u = AddressUniverse(max_cidrs=len(networks), max_services=len(inside))
    solver = z3.SolverFor(LOGIC)
    solver.set("random_seed", SEED)
    solver.set("timeout", timeout_ms or DEFAULT_TIMEOUT_MS)
    solver.add(
        *u.well_formed(), u.dataplane == int(proxy.dataplane), *u.pins(proxy.kubernetes_version, proxy.feature_gates)
    )
    solver.add(*_pin_cidrs(u, proxy.service_cidrs), *_pin_held(u, inside))
    if client is not None:
        solver.add(u.client == int(client))
    solver.add(u.in_service_cidr(), z3.Not(u.held_by_service()))
    solver.add(z3.Not(lift(require(u.world()))))
    result = solver.check()
    if result == z3.unsat:
        return AddressAnswer(status="unsat")
    if result == z3.unknown:
        return AddressAnswer(status="unknown", reason=f"solver: {solver.reason_unknown()}")
    # A pod client, an address of the first CIDR, and not its network address (people read that one as the
    # CIDR itself): each kept only if a violation remains.
    first = u.cidrs[0]
    for preference in (
        u.client == int(ClientKind.POD),
        u.v6 == first.v6,
        u.address & _network_mask(first) == first.network,
        u.address != first.network,
    ):
        solver.push()
        solver.add(preference)
        if solver.check() != z3.sat:
            solver.pop()
    if solver.check() != z3.sat:
        return AddressAnswer(status="unknown", reason=f"solver: {solver.reason_unknown()}")
    model = solver.model()
    number = model.eval(u.address, model_completion=True).as_long()
    v6 = z3.is_true(model.eval(u.v6, model_completion=True))
    address = str(ipaddress.IPv6Address(number) if v6 else ipaddress.IPv4Address(number))
    kind = ClientKind(model.eval(u.client, model_completion=True).as_long())
    return AddressAnswer(status="sat", cluster=cluster, flow=AddressFlow(dst_ip=address, client=kind))
