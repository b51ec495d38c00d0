"""What the API server allocates or defaults when a Service is applied, filled in for manifests from Git.

A manifest as written has no ``clusterIP``, no ``nodePort``, no ``healthCheckNodePort`` and no
``status.loadBalancer``: the API server and the cloud fill them in at apply time. kverify fills them
in the same way, deterministically, and records every filled-in field path in
:attr:`Service.allocated <kverify.model.cluster.Service.allocated>` so that reports show them as
*allocated at apply time*, never as real.

Where the values come from (a cluster kverify assumes, documented in ``docs/semantics.md``):

- ClusterIPs from the service CIDRs :data:`SERVICE_CIDRS` (kubeadm's default ``serviceSubnet``
  ``10.96.0.0/12``; kind's default IPv6 service subnet ``fd00:10:96::/112``), one per IP family the
  Service asks for. A dual-stack-capable cluster with IPv4 as its primary family is assumed, so
  ``PreferDualStack`` and ``RequireDualStack`` Services get both families. Family defaulting follows
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

import hashlib
import ipaddress
from collections.abc import Sequence
from typing import Any

import attrs

from kverify.load.fields import Ctx, invalid, ip_version, unsupported
from kverify.model.cluster import LoadBalancerIngress, ServicePort
from kverify.model.enums import ServiceType

#: The service CIDR kverify allocates ClusterIPs from, per IP family.
SERVICE_CIDRS = {4: "10.96.0.0/12", 6: "fd00:10:96::/112"}
#: The default ``--service-node-port-range`` of kube-apiserver.
NODE_PORT_RANGE = (30000, 32767)
#: Where an unknown load-balancer address is taken from: documentation ranges, never routable.
LB_RANGES = {4: "192.0.2.0/24", 6: "2001:db8:1b::/112"}
FAMILIES = {"IPv4": 4, "IPv6": 6}
POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
#: The primary IP family of the cluster kverify assumes when a manifest does not say.
PRIMARY_FAMILY = 4


@attrs.frozen(kw_only=True)
class Pending:
    """What one Service still needs from the API server, found while reading it."""

    #: IP families of ClusterIPs to allocate, after the given ones.
    families: tuple[int, ...] = ()
    #: Indexes into ``ports`` whose ``nodePort`` is to be allocated.
    node_ports: tuple[int, ...] = ()
    health_check_node_port: bool = False
    #: Families of load-balancer ingress addresses to allocate (empty: none); ``requested`` is
    #: ``spec.loadBalancerIP`` when the manifest names one.
    ingress_families: tuple[int, ...] = ()
    requested_ingress: str | None = None
    #: Field paths defaulted to a fixed value (``spec.type``, ``spec.ports[0].protocol``...).
    defaulted: tuple[str, ...] = ()
    #: A LoadBalancer Service's string annotations and ``spec.loadBalancerClass``, for
    #: :func:`kverify.load.lb_hints.lb_hint` (decided once the whole input is read).
    annotations: tuple[tuple[str, str], ...] = ()
    lb_class: str | None = None


def cluster_ip_families(
    ctx: Ctx, spec: dict[str, Any], given: tuple[str, ...], *, headless: bool
) -> tuple[tuple[int, ...], list[str]]:
    """The families of ClusterIPs still to allocate, and the defaulted paths (``spec.ipFamilies``...).

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
        return (), defaulted
    given_families = [ip_version(ip) for ip in given]
    for i, (have, want) in enumerate(zip(given_families, families, strict=False)):
        if have != want:
            ctx.error(
                ("spec", "clusterIPs", i),
                invalid(given[i], f"expected an IPv{want} value as indicated by `ipFamilies[{i}]`"),
            )
            return (), defaulted
    if len(given_families) == 2 and given_families[0] == given_families[1]:
        ctx.error(("spec", "clusterIPs", 1), invalid(given[1], "may specify no more than one IP for each IP family"))
        return (), defaulted
    if policy is None:
        policy = "RequireDualStack" if len(families) == 2 or len(given) == 2 else "SingleStack"
        defaulted.append("spec.ipFamilyPolicy")
    if policy == "SingleStack" and (len(families) == 2 or len(given) == 2):
        field = "ipFamilies" if len(families) == 2 else "clusterIPs"
        ctx.error(
            ("spec", "ipFamilyPolicy"),
            invalid(policy, f"must be 'RequireDualStack' or 'PreferDualStack' when multiple `{field}` are specified"),
        )
        return (), defaulted
    primary = families[0] if families else (given_families[0] if given_families else PRIMARY_FAMILY)
    wanted = [primary] if policy == "SingleStack" else [primary, 10 - primary]
    if given and policy != "RequireDualStack":
        # Given addresses are the cluster's (a snapshot of a single-stack cluster keeps one address
        # under PreferDualStack): only RequireDualStack makes the API server add the other family.
        wanted = []
    if not families:
        defaulted.append("spec.ipFamilies")
    return tuple(f for f in wanted if f not in given_families), defaulted


def allocate(drafts: Sequence[tuple[Ctx, str, dict[str, Any], Pending]]) -> None:
    """Fill in every pending value of ``drafts`` (``(ctx, namespace/name, kwargs, pending)``), in place.

    Values the manifests give are reserved first; then Services are served in ``namespace/name``
    order, each value from a hash of the Service and the field (see the module docstring).
    """
    taken_ips: set[str] = set()
    taken_ports: set[int] = set()
    for _, _, kwargs, _ in drafts:
        taken_ips.update(kwargs["cluster_ips"])
        taken_ips.update(i.ip for i in kwargs["load_balancer_ingress"] if i.ip)
        taken_ports.update(p.node_port for p in kwargs["ports"] if p.node_port)
        if kwargs["health_check_node_port"]:
            taken_ports.add(kwargs["health_check_node_port"])
    for ctx, key, kwargs, pending in sorted(drafts, key=lambda d: d[1]):
        allocated: list[str] = list(pending.defaulted)
        ips = list(kwargs["cluster_ips"])
        for family in pending.families:
            ips.append(_address(SERVICE_CIDRS[family], f"{key}\x1fclusterIP", taken_ips, static_band=True))
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
        if pending.ingress_families:
            ingress = []
            for n, family in enumerate(pending.ingress_families):
                requested = pending.requested_ingress
                if n == 0 and requested is not None and requested not in taken_ips:
                    taken_ips.add(requested)
                    ip = requested
                else:
                    ip = _address(LB_RANGES[family], f"{key}\x1fingress", taken_ips, static_band=False)
                ingress.append(LoadBalancerIngress(ip=ip))
                allocated.append(f"status.loadBalancer.ingress[{n}].ip")
            kwargs["load_balancer_ingress"] = tuple(ingress)
            _warn_source_ranges(ctx, kwargs)
        kwargs["allocated"] = frozenset(allocated)


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
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


def _address(cidr: str, seed: str, taken: set[str], *, static_band: bool) -> str:
    """A free address of ``cidr`` chosen by ``seed``; network and broadcast addresses excluded."""
    network = ipaddress.ip_network(cidr)
    size = network.num_addresses
    low = 1
    if static_band:  # KEP-3070: the lower band is for static choices; dynamic allocation avoids it
        low = min(max(16, size // 16), 256)
    span = size - 1 - low
    start = _digest(seed) % span
    for step in range(span):
        candidate = str(network.network_address + low + (start + step) % span)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError(f"the service range {cidr} is full")  # pragma: no cover - 2**20 addresses


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


def lb_families(type_: ServiceType, cluster_ips: tuple[str, ...], families: tuple[int, ...]) -> tuple[int, ...]:
    """The families of the load-balancer addresses a LoadBalancer Service with no status gets: one
    per family of its ClusterIPs (given or about to be allocated)."""
    if type_ is not ServiceType.LOAD_BALANCER:
        return ()
    have = [ip_version(ip) for ip in cluster_ips] + list(families)
    return tuple(dict.fromkeys(have)) or (PRIMARY_FAMILY,)
