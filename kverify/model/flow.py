"""A flow: one client sending one packet to one Service address."""

from __future__ import annotations

import attrs
from attrs import validators as v

from kverify.model.enums import ClientKind, Destination, Protocol


@attrs.frozen(kw_only=True)
class Flow:
    """A client's first packet to a Service.

    ``node`` is, for an external client, the node the packet arrives at (``None`` lets the load
    balancer pick: every node it may pick is an outcome); for a pod or host-network client, the node
    it runs on. ``dst_ip`` picks one address when there are several (``None``: the first one).
    """

    service: str = attrs.field(validator=v.instance_of(str))
    client: ClientKind = attrs.field(validator=v.instance_of(ClientKind))
    destination: Destination = attrs.field(validator=v.instance_of(Destination))
    client_ip: str | None = attrs.field(default=None)
    node: str | None = attrs.field(default=None)
    dst_ip: str | None = attrs.field(default=None)
    port: int | None = attrs.field(default=None)
    protocol: Protocol = attrs.field(default=Protocol.TCP, validator=v.instance_of(Protocol))
