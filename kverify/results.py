"""What the engines return: outcomes of a flow (with their hops) and verdicts of a claim."""

from __future__ import annotations

import re
from typing import Any

import attrs

from kverify.errors import PART_LIMIT, one_line
from kverify.model.enums import DropKind, ReplyPath


@attrs.frozen(kw_only=True)
class Hop:
    """One leg of a packet's journey; ``note`` says which rule rewrote what."""

    at: str  # where the packet is (client, load-balancer, node name, pod)
    to: str
    src: str
    dst: str
    note: str = ""

    def __str__(self) -> str:
        """One line; a pod's name (from an EndpointSlice's targetRef) is user text, shown escaped."""
        text = f"{one_line(self.at, PART_LIMIT)} -> {one_line(self.to, PART_LIMIT)}: src {self.src} dst {self.dst}"
        return f"{text} ({one_line(self.note, PART_LIMIT)})" if self.note else text


@attrs.frozen(kw_only=True)
class HealthCheck:
    """What a node's health-check node port answers for one Service."""

    node: str
    status: int  # 200 or 503
    local_endpoints: int


@attrs.frozen(kw_only=True)
class Outcome:
    """One possible fate of a flow.

    ``node`` handled the packet first (``None`` when an IP-target load balancer bypassed nodes).
    ``source_ip_seen`` is what the endpoint sees as the client's address. ``reply_ok`` says whether
    the reply reaches the client from the address it contacted.
    """

    node: str | None
    delivered: bool
    endpoint_ip: str | None = None
    endpoint_node: str | None = None
    endpoint_pod: str | None = None
    source_ip_seen: str | None = None
    masqueraded: bool = False
    crosses_nodes: bool = False
    drop_kind: DropKind | None = None
    reply_ok: bool = False
    reply_path: ReplyPath | None = None
    #: The pod receives a PROXY protocol header from the load balancer (rule ``lb-proxy-protocol``).
    proxy_header: bool = False
    #: The Service's load balancer sends PROXY protocol headers, so the pod expects one.
    proxy_expected: bool = False
    rules: tuple[str, ...] = ()
    hops: tuple[Hop, ...] = ()
    health_check: HealthCheck | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "delivered": self.delivered,
            "endpoint_ip": self.endpoint_ip,
            "endpoint_node": self.endpoint_node,
            "endpoint_pod": self.endpoint_pod,
            "source_ip_seen": self.source_ip_seen,
            "masqueraded": self.masqueraded,
            "crosses_nodes": self.crosses_nodes,
            "drop_kind": self.drop_kind.spelling if self.drop_kind else None,
            "reply_ok": self.reply_ok,
            "reply_path": self.reply_path.spelling if self.reply_path is not None else None,
            "proxy_header": self.proxy_header,
            "proxy_expected": self.proxy_expected,
            "rules": list(self.rules),
            # Field by field, in Hop's order (attrs.asdict's, which costs five times as much per hop).
            "hops": [{"at": h.at, "to": h.to, "src": h.src, "dst": h.dst, "note": h.note} for h in self.hops],
            "health_check": attrs.asdict(self.health_check) if self.health_check else None,
        }


ALLOCATED = "allocated at apply time"


def mark_allocated(text: str, addresses: frozenset[str]) -> str:
    """``dst 10.104.3.7`` -> ``dst 10.104.3.7 (allocated at apply time)`` for each filled-in address."""
    for address in addresses:
        pattern = rf"(?<![\w.:]){re.escape(address)}\]?(?::\d+)?(?![\w.:])"  # with its :port, if any
        text = re.sub(pattern, lambda m: f"{m.group()} ({ALLOCATED})", text)
    return text
