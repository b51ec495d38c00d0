"""What the API server allocates or defaults when a Service is applied, filled in for manifests from Git.

A manifest as written has no ``clusterIP``, no ``nodePort``, no ``healthCheckNodePort`` and no
``status.loadBalancer``: the API server and the cloud fill them in at apply time. kverify fills them
in the same way, deterministically, and records every filled-in field path in
:attr:`Service.allocated <kverify.model.cluster.Service.allocated>` so that reports show them as
*allocated at apply time*, never as real.

Where the values come from (a cluster kverify assumes, documented in ``docs/semantics.md``):

- ClusterIPs from the service CIDRs the input declares (ServiceCIDR objects, ``--service-cidr``, a spec's
  ``environment.serviceCIDR``), as the API server's allocator takes them (:mod:`kverify.load.service_range`,
  which cites it): the cluster's IP families are those of the declared CIDRs, and a given ClusterIP
  outside them is refused in the API server's words. With none declared, kubeadm's default
  ``serviceSubnet`` ``10.96.0.0/12`` and kind's default IPv6 service subnet ``fd00:10:96::/112``: a
  dual-stack-capable cluster with IPv4 as its primary family is assumed, so ``PreferDualStack`` and
  ``RequireDualStack`` Services get both families. Family defaulting follows
  ``pkg/registry/core/service/storage/alloc.go`` (``initIPFamilyFields``): no policy with two
  families or two ClusterIPs given means ``RequireDualStack``, otherwise ``SingleStack``.
- Addresses are taken from the upper part of the range, as the API server's dynamic allocation
  prefers it (KEP-3070, the static band: ``min(max(16, size/16), 256)`` addresses at the start of the
  range are left to static choices), and node ports likewise from above ``30000 + min(max(16,
  2768/32), 128)`` (KEP-3668). Given values are reserved first, so an allocated value never collides
  with one a manifest names.
- Each value is derived from a hash of the Service's ``namespace/name`` (and the field), probing
  upwards on a collision: the same manifests give the same values, and adding an unrelated object
  changes nothing unless it collides.
- The load balancer's address (``status.loadBalancer.ingress``) comes from ``spec.loadBalancerIP``
  when the manifest asks for one, else from the documentation ranges :data:`LB_RANGES`
  (RFC 5737 ``192.0.2.0/24``, RFC 3849 ``2001:db8::/32``).

A value known only after apply must never decide a verdict; :func:`allocate` warns where one could
(an allocated load-balancer address inside ``loadBalancerSourceRanges``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import attrs

from kverify.load.fields import Ctx, invalid, ip_version, unsupported
from kverify.load.service_range import FULL, ServiceRanges
from kverify.model.cluster import LoadBalancerIngress, ServicePort

#: The default ``--service-node-port-range`` of kube-apiserver.
NODE_PORT_RANGE = (30000, 32767)
#: Where an unknown load-balancer address is taken from: documentation ranges, never routable.
LB_RANGES = {4: "192.0.2.0/24", 6: "2001:db8:1b::/112"}
FAMILIES = {"IPv4": 4, "IPv6": 6}
POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")


@attrs.frozen(kw_only=True)
class FamilyRequest:
    """What a Service asks of the IP families, once checked: decided against the cluster's families
    (:class:`~kverify.load.service_range.ServiceRanges`) when everything is read."""

    #: ``spec.ipFamilyPolicy``, defaulted as the API server does.
    policy: str
    #: ``spec.ipFamilies``, as given (4 or 6 each).
    ip_families: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class Pending:
    """What one Service still needs from the API server, found while reading it."""

    #: What the Service asks of the IP families (``None``: no ClusterIP to allocate).
    family_request: FamilyRequest | None = None
    #: Indexes into ``ports`` whose ``nodePort`` is to be allocated.
    node_ports: tuple[int, ...] = ()
    health_check_node_port: bool = False
    #: A load-balancer ingress address is to be allocated, one per family of the ClusterIPs; ``requested``
    #: is ``spec.loadBalancerIP`` when the manifest names one.
    needs_ingress: bool = False
    requested_ingress: str | None = None
    #: Field paths defaulted to a fixed value (``spec.type``, ``spec.ports[0].protocol``...).
    defaulted: tuple[str, ...] = ()
    #: A LoadBalancer Service's string annotations and ``spec.loadBalancerClass``, for
    #: :func:`kverify.load.lb_hints.lb_hint` (decided once the whole input is read).
    annotations: tuple[tuple[str, str], ...] = ()
    lb_class: str | None = None


def cluster_ip_families(
    ctx: Ctx, spec: dict[str, Any], given: tuple[str, ...], *, headless: bool
) -> tuple[FamilyRequest | None, list[str]]:
    """What the Service asks of the IP families (``None``: no ClusterIP to allocate, or a problem was
    recorded), and the defaulted paths (``spec.ipFamilies``...).

    Checks ``ipFamilies`` and ``ipFamilyPolicy`` in the API server's words
    (``pkg/apis/core/validation/validation.go`` ``validateIPFamilies``, ``ValidateService``).
    """
    path = ("spec",)
    families: list[int] = []
    for i, word in enumerate(ctx.strings(spec, "ipFamilies", path)):
        if word not in FAMILIES:
            ctx.error((*path, "ipFamilies", i), unsupported(word, tuple(FAMILIES)))
        elif FAMILIES[word] in families:
            ctx.error((*path, "ipFamilies", i), f'Duplicate value: "{word}"')
        else:
            families.append(FAMILIES[word])
    policy = ctx.string(spec, "ipFamilyPolicy", path)
    if policy is not None and policy not in POLICIES:
        ctx.error((*path, "ipFamilyPolicy"), unsupported(policy, POLICIES))
        policy = None
    defaulted: list[str] = []
    if headless:
        return None, defaulted
    given_families = [ip_version(ip) for ip in given]
    for i, (have, want) in enumerate(zip(given_families, families, strict=False)):
        if have != want:
            ctx.error(
                ("spec", "clusterIPs", i),
                invalid(given[i], f"expected an IPv{want} value as indicated by `ipFamilies[{i}]`"),
            )
            return None, defaulted
    if len(given_families) == 2 and given_families[0] == given_families[1]:
        ctx.error(("spec", "clusterIPs", 1), invalid(given[1], "may specify no more than one IP for each IP family"))
        return None, defaulted
    if policy is None:
        policy = "RequireDualStack" if len(families) == 2 or len(given) == 2 else "SingleStack"
        defaulted.append("spec.ipFamilyPolicy")
    if policy == "SingleStack" and (len(families) == 2 or len(given) == 2):
        field = "ipFamilies" if len(families) == 2 else "clusterIPs"
        ctx.error(
            ("spec", "ipFamilyPolicy"),
            invalid(policy, f"must be 'RequireDualStack' or 'PreferDualStack' when multiple `{field}` are specified"),
        )
        return None, defaulted
    if not families:
        defaulted.append("spec.ipFamilies")
    return FamilyRequest(policy=policy, ip_families=tuple(families)), defaulted


def families_to_allocate(
    ctx: Ctx, request: FamilyRequest, given: tuple[str, ...], ranges: ServiceRanges
) -> tuple[int, ...] | None:
    """The families of ClusterIPs still to allocate on a cluster with these service ranges (``None``: the
    API server refuses the Service; the problem is recorded).

    ``pkg/registry/core/service/storage/alloc.go`` ``initIPFamilyFields``: a family must be configured on
    the cluster (checked only when the input declared the service CIDRs: otherwise kverify assumes a
    dual-stack cluster), ``RequireDualStack`` needs two, an unset family is the cluster's primary one, and
    a dual-stack policy adds the other family where the cluster has it.
    """
    configured = ranges.families
    given_families = [ip_version(ip) for ip in given]
    if ranges.declared:
        for i, family in enumerate(given_families[len(request.ip_families) :], start=len(request.ip_families)):
            if family not in configured:
                message = f"IPv{family} is not configured on this cluster"
                ctx.error(("spec", "clusterIPs", i), invalid(list(given), message))
                return None
        refused = False  # the API server reports these together
        if request.policy == "RequireDualStack" and len(configured) < 2:
            message = "this cluster is not configured for dual-stack services"
            ctx.error(("spec", "ipFamilyPolicy"), invalid(request.policy, message))
            refused = True
        for i, family in enumerate(request.ip_families):
            if family not in configured:
                ctx.error(("spec", "ipFamilies", i), invalid(f"IPv{family}", "not configured on this cluster"))
                refused = True
        if refused:
            return None
    families = request.ip_families or tuple(given_families) or configured[:1]
    primary = families[0]
    wanted = [primary] if request.policy == "SingleStack" else [primary, 10 - primary]
    if given and request.policy != "RequireDualStack":
        # Given addresses are the cluster's (a snapshot of a single-stack cluster keeps one address
        # under PreferDualStack): only RequireDualStack makes the API server add the other family.
        wanted = []
    return tuple(f for f in wanted if f in configured and f not in given_families)


def allocate(drafts: Sequence[tuple[Ctx, str, dict[str, Any], Pending]], service_cidrs: Sequence[str] = ()) -> None:
    """Fill in every pending value of ``drafts`` (``(ctx, namespace/name, kwargs, pending)``), in place.

    ClusterIPs come from ``service_cidrs`` (the ServiceCIDR objects' and the given CIDRs, in the order
    :class:`~kverify.load.service_range.ServiceRanges` tries them), or the assumed defaults when there are
    none; a given ClusterIP outside the declared CIDRs is refused in the API server's words. Values the
    manifests give are reserved first; then Services are served in ``namespace/name`` order, each value
    from a hash of the Service and the field (see the module docstring).
    """
    ranges = ServiceRanges.of(service_cidrs)
    # A Service with nothing pending takes nothing and is refused nothing: done here, in any order. The
    # others are served in key order from what no Service holds (a snapshot has none of them: its 16,000
    # Services were sorted, and their values collected, for nothing).
    waiting = []
    # Equal sets of defaulted paths are one object: a few for 16,000 Services, each hashed once by
    # whoever asks about it (Service.allocated_values).
    defaulted: dict[tuple[str, ...], frozenset[str]] = {}
    for draft in drafts:
        kwargs, pending = draft[2], draft[3]
        if _nothing_pending(pending, kwargs["cluster_ips"], ranges):
            kwargs["ports"] = tuple(kwargs["ports"])
            paths = defaulted.get(pending.defaulted)
            if paths is None:
                paths = defaulted[pending.defaulted] = frozenset(pending.defaulted)
            kwargs["allocated"] = paths
        else:
            waiting.append(draft)
    if not waiting:
        return
    taken_ips: set[str] = set()
    taken_ports: set[int] = set()
    for _, _, kwargs, _ in drafts:
        taken_ips.update(kwargs["cluster_ips"])
        taken_ips.update(i.ip for i in kwargs["load_balancer_ingress"] if i.ip)
        taken_ports.update(p.node_port for p in kwargs["ports"] if p.node_port)
        if kwargs["health_check_node_port"]:
            taken_ports.add(kwargs["health_check_node_port"])
    for ctx, key, kwargs, pending in sorted(waiting, key=lambda d: d[1]):
        given: tuple[str, ...] = kwargs["cluster_ips"]
        allocated: list[str] = list(pending.defaulted)
        families = _cluster_ip_families(ctx, pending, given, ranges)
        if families is None:
            continue
        ips = list(given)
        for family in families:
            ip = ranges.allocate(family, f"{key}\x1fclusterIP", taken_ips)
            if ip is None:
                ctx.error(("spec", "clusterIPs"), FULL)
                break
            ips.append(ip)
            allocated.append(f"spec.clusterIPs[{len(ips) - 1}]")
            if len(ips) == 1:
                allocated.append("spec.clusterIP")
        kwargs["cluster_ips"] = tuple(ips)
        ports: list[ServicePort] = list(kwargs["ports"])
        for i in pending.node_ports:
            ports[i] = attrs.evolve(ports[i], node_port=_node_port(f"{key}\x1fport{i}", taken_ports))
            allocated.append(f"spec.ports[{i}].nodePort")
        kwargs["ports"] = tuple(ports)
        if pending.health_check_node_port:
            kwargs["health_check_node_port"] = _node_port(f"{key}\x1fhealthCheckNodePort", taken_ports)
            allocated.append("spec.healthCheckNodePort")
        if pending.needs_ingress:
            ingress = []
            for n, family in enumerate(lb_families(ips, ranges)):
                requested = pending.requested_ingress
                if n == 0 and requested is not None and requested not in taken_ips:
                    taken_ips.add(requested)
                    address = requested
                else:
                    address = _address(LB_RANGES[family], f"{key}\x1fingress", taken_ips)
                ingress.append(LoadBalancerIngress(ip=address))
                allocated.append(f"status.loadBalancer.ingress[{n}].ip")
            kwargs["load_balancer_ingress"] = tuple(ingress)
            _warn_source_ranges(ctx, kwargs)
        kwargs["allocated"] = frozenset(allocated)


def _nothing_pending(pending: Pending, given: tuple[str, ...], ranges: ServiceRanges) -> bool:
    """The Service gets nothing from the API server and nothing can refuse it (a snapshot's Services): no
    node port, health-check port or LB address is pending, and no ClusterIP is, nor can a given one be refused
    (no service CIDR declared, see ``families_to_allocate``: only ``RequireDualStack`` adds a second family
    to given ClusterIPs)."""
    request = pending.family_request
    return (
        not ranges.declared
        and (request is None or (bool(given) and request.policy != "RequireDualStack"))
        and not pending.node_ports
        and not pending.health_check_node_port
        and not pending.needs_ingress
    )


def _cluster_ip_families(
    ctx: Ctx, pending: Pending, given: tuple[str, ...], ranges: ServiceRanges
) -> tuple[int, ...] | None:
    """The families to allocate, after the API server's checks of the families and the given ClusterIPs
    (``initIPFamilyFields``, then ``allocClusterIPs``); ``None`` when it refuses the Service."""
    if pending.family_request is None:
        return ()
    families = families_to_allocate(ctx, pending.family_request, given, ranges)
    if families is None:
        return None
    for ip in given:
        if (refusal := ranges.refusal(ip)) is not None:
            ctx.error(("spec", "clusterIPs"), invalid(list(given), refusal))
            return None
    return families


def _warn_source_ranges(ctx: Ctx, kwargs: dict[str, Any]) -> None:
    """``loadBalancerSourceRanges`` admit packets from the Service's own LB address when a node's
    address is in range (``allowed_by_source_ranges``): with an address known only after apply,
    a verdict could depend on it."""
    ranges = [ipaddress.ip_network(r, strict=False) for r in kwargs["load_balancer_source_ranges"]]
    for ingress in kwargs["load_balancer_ingress"]:
        address = ipaddress.ip_address(ingress.ip)
        if any(address.version == r.version and address in r for r in ranges):
            ctx.warn(
                ("spec", "loadBalancerSourceRanges"),
                f"the load-balancer address {ingress.ip} is allocated at apply time and falls inside these "
                "ranges; a verdict that depends on it may not hold for the address the cloud assigns",
            )
            return


def _digest(seed: str) -> int:
    import hashlib  # here: only a Service without its addresses needs it, and its OpenSSL costs start-up time

    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


def _address(cidr: str, seed: str, taken: set[str]) -> str:
    """A free address of ``cidr`` chosen by ``seed``; network and broadcast addresses excluded."""
    network = ipaddress.ip_network(cidr)
    span = network.num_addresses - 2
    start = _digest(seed) % span
    for step in range(span):
        candidate = str(network.network_address + 1 + (start + step) % span)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"the documentation range {cidr} is full")  # pragma: no cover - 2**16 addresses


def _node_port(seed: str, taken: set[int]) -> int:
    first, last = NODE_PORT_RANGE
    size = last - first + 1
    low = min(max(16, size // 32), 128)  # KEP-3668: the static band at the bottom of the range
    span = size - low
    start = _digest(seed) % span
    for step in range(span):
        candidate = first + low + (start + step) % span
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    for candidate in range(first, first + low):  # the upper band is full: the API server falls back too
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError("the node port range 30000-32767 is full")


def lb_families(cluster_ips: Sequence[str], ranges: ServiceRanges) -> tuple[int, ...]:
    """The families of the load-balancer addresses a LoadBalancer Service with no status gets: one per
    family of its ClusterIPs (the cluster's primary family when it has none)."""
    return tuple(dict.fromkeys(ip_version(ip) for ip in cluster_ips)) or ranges.families[:1]
