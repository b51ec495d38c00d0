"""The service CIDRs ClusterIPs are allocated from, as the API server's allocator reads them.

With the ServiceCIDR machinery (MultiCIDRServiceAllocator, GA and on by default from v1.33), the API
server keeps one IP allocator per CIDR of every ServiceCIDR object, per IP family, and (kubernetes/kubernetes
``pkg/registry/core/service/ipallocator``, read at 121460de and 2e090810):

- a Service without a ClusterIP gets one from *any* allocator of its family that has a free address
  (``cidrallocator.go`` ``MetaAllocator.AllocateNextService`` walks a Go map, in no set order, and
  tries the next allocator only when one is full or not ready). kverify takes the CIDRs in the order
  it read them (``--service-cidr`` or ``environment.serviceCIDR`` first, then the ServiceCIDR objects,
  the default one, ``kubernetes``, first): an order the API server may take too, and a fixed one;
- within one CIDR, never the network address nor, for IPv4, the broadcast address
  (``ipallocator.go`` ``NewIPAllocator``); the upper part of the range first, the lower
  ``min(max(16, size/16), 256)`` addresses (none when the range has 16 or fewer) only when the upper
  part is full (KEP-3070: ``bitmap.go`` ``calculateRangeOffset``, ``allocateNextService``);
- an IPv6 CIDR shorter than /64 gets no allocator (``NewIPAllocator``: "shortest allowed prefix length
  for service CIDR is 64"), so nothing is allocated from it;
- a ClusterIP the Service names is accepted only inside a CIDR that has an allocator, its network
  address and IPv4 broadcast address excluded (``MetaAllocator.getAllocator`` with
  ``pkg/api/servicecidr`` ``PrefixContainsIP``); else the API server refuses the Service with
  ``ErrMismatchedNetwork``, wrapped by ``pkg/registry/core/service/storage/alloc.go`` ``allocIPs``:
  ``spec.clusterIPs: Invalid value: [...]: failed to allocate IP <ip>: the provided network does not
  match the current range``.

The cluster's IP families are those of the declared CIDRs, the first one's family primary (the default
ServiceCIDR mirrors ``--service-cluster-ip-range``, whose first CIDR is the primary family). When no CIDR
is declared kverify assumes kubeadm's ``10.96.0.0/12`` and kind's ``fd00:10:96::/112``, a dual-stack
cluster with IPv4 primary, and refuses no given ClusterIP: it does not know the cluster's range.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import attrs

#: The service CIDRs assumed when the input declares none: kubeadm's default ``serviceSubnet`` and
#: kind's default IPv6 service subnet.
DEFAULT_SERVICE_CIDRS = ("10.96.0.0/12", "fd00:10:96::/112")
#: ``alloc.go`` ``allocIPs`` around ``ErrMismatchedNetwork`` (``ipallocator/interfaces.go``).
MISMATCHED = "failed to allocate IP {ip}: the provided network does not match the current range"
#: ``alloc.go`` ``allocIPs`` when ``AllocateNextService`` fails: ``errors.NewInternalError``, around ``ErrFull``.
FULL = "Internal error occurred: failed to allocate a serviceIP: range is full"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@attrs.frozen
class ServiceRanges:
    """The service CIDRs of a cluster, in the order allocation tries them."""

    networks: tuple[Network, ...]
    #: The input declared them (else they are the assumed defaults).
    declared: bool
    #: The cluster's IP families, the primary first (read once per Service by the allocator: kept).
    families: tuple[int, ...] = attrs.field(init=False, eq=False)

    @families.default
    def _families(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(n.version for n in self.networks))

    @classmethod
    def of(cls, cidrs: Sequence[str]) -> ServiceRanges:
        """The ranges of ``cidrs`` (already validated), or the defaults when there are none."""
        texts = tuple(dict.fromkeys(cidrs)) or DEFAULT_SERVICE_CIDRS
        return cls(tuple(ipaddress.ip_network(c, strict=False) for c in texts), declared=bool(cidrs))

    def holds(self, ip: str) -> bool:
        """The API server accepts ``ip`` as a given ClusterIP: some CIDR with an allocator holds it
        (``PrefixContainsIP``: not the network address, nor the IPv4 broadcast address)."""
        address = ipaddress.ip_address(ip)
        return any(
            address in n and address != n.network_address and (n.version == 6 or address != n.broadcast_address)
            for n in self.networks
            if _has_allocator(n)
        )

    def refusal(self, ip: str) -> str | None:
        """The API server's words for refusing ``ip`` as a Service's ClusterIP, or ``None`` when it accepts
        it (always, when no CIDR was declared: kverify does not know the cluster's range)."""
        if not self.declared or self.holds(ip):
            return None
        return MISMATCHED.format(ip=ip)

    def allocate(self, family: int, seed: str, taken: set[str]) -> str | None:
        """A free address of the first CIDR of ``family`` that has one, chosen by ``seed`` (``None``: every
        such CIDR is full, or there is none)."""
        for network in self.networks:
            if network.version == family and _has_allocator(network):
                found = _free_address(network, seed, taken)
                if found is not None:
                    return found
        return None

    def address_from(self, index: int, taken: set[str]) -> str | None:
        """The first free address at or above the ``index``-th of the primary CIDR (the first declared), going
        around within its allocatable addresses: the choice of a person picking ClusterIPs by hand, as a spec's
        topology does."""
        network = next((n for n in self.networks if _has_allocator(n)), None)
        if network is None:
            return None
        first = int(network.network_address) + 1
        last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
        return _walk_from(network, first, last, first - 1 + index, taken)


def _has_allocator(network: Network) -> bool:
    """``NewIPAllocator`` refuses IPv6 CIDRs shorter than /64."""
    return network.version == 4 or network.prefixlen >= 64


def range_offset(size: int) -> int:
    """The static band at the start of a range of ``size`` addresses (KEP-3070, ``calculateRangeOffset``)."""
    return 0 if size <= 16 else min(max(16, size // 16), 256)


def _free_address(network: Network, seed: str, taken: set[str]) -> str | None:
    """A free address of ``network`` the API server's dynamic allocation could pick: the upper band first,
    the lower (static) band only when the upper one is full (``allocateNextService``)."""
    first = int(network.network_address) + 1
    last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
    offset = range_offset(network.num_addresses)
    for low, high in ((first + offset, last), (first, first + offset - 1)):
        if low <= high and (found := _walk(network, low, high, seed, taken)) is not None:
            return found
    return None


def _walk(network: Network, low: int, high: int, seed: str, taken: set[str]) -> str | None:
    """The first free address of ``low..high``, walking upwards (and around) from a position ``seed``
    chooses. The position is taken in ``low - 1 .. high`` (``low - 1`` itself is never returned): the
    window kverify walked before it excluded that one address, kept so that the addresses it allocated,
    and the counterexample ids that show them, stay as they were."""
    import hashlib  # here: only allocating needs it, and its OpenSSL costs start-up time

    span = high - low + 2
    start = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % span
    return _walk_from(network, low, high, max(low, low - 1 + start), taken)


def _walk_from(network: Network, low: int, high: int, start: int, taken: set[str]) -> str | None:
    """The first address of ``low..high`` not in ``taken`` (then taken), from ``start`` upwards and around."""
    span = high - low + 1
    if span <= 0:
        return None
    start = low + (start - low) % span
    for step in range(span):
        candidate = str(_address(network, low + (start - low + step) % span))
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    return None


def _address(network: Network, number: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.IPv4Address(number) if network.version == 4 else ipaddress.IPv6Address(number)
