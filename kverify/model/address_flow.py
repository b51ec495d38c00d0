"""A packet to an address of no Service (``kverify trace --to-address``): its own module, imported on
first use (:mod:`kverify.model` exports it lazily), since building an attrs class costs every command's
start-up and only that rare question needs this one."""

from __future__ import annotations

import attrs
from attrs import validators as v

from kverify.model.enums import ClientKind, Protocol


@attrs.frozen(kw_only=True)
class AddressFlow:
    """A client's first packet to an address that belongs to no Service (``kverify trace --to-address``):
    an unallocated address inside the service CIDR, which only nftables kube-proxy acts on (rule
    ``nftables-unallocated-service-ip``). ``node`` is as for :class:`Flow`."""

    dst_ip: str = attrs.field(validator=v.instance_of(str))
    client: ClientKind = attrs.field(validator=v.instance_of(ClientKind))
    client_ip: str | None = attrs.field(default=None)
    node: str | None = attrs.field(default=None)
    port: int | None = attrs.field(default=None)
    protocol: Protocol = attrs.field(default=Protocol.TCP, validator=v.instance_of(Protocol))
