"""The endpoints a flow can meet, indexed once per Service port, and grouped into classes per node.

Issue 11: tracing one Service of 100,000 endpoints from each of its 1,000 nodes evaluated the rule
table over every endpoint at every node (endpoints x nodes). It need not: the rule table reads an
endpoint only through what it can see *from the handling node* (``kverify.semantics``):

- its node only as ``eq(endpoint.node, handling_node)`` (rule ``endpoint-local``) and as
  ``eq(endpoint.node, NO_NODE)`` (on no known node: the CNI rules);
- its hints only as ``member(handling_node, node_hints)`` and ``member(handling_zone, zone_hints)``;
- ``ready``, ``serving``, ``terminating``, ``has_*_hints`` and ``is_client`` as they are;

and it combines endpoints only with ``any_``/``all_``, never by counting or by position. So two
endpoints that look alike from the handling node get the same per-endpoint answers, and keeping one
of each kind (a *class*) leaves every ``any_``/``all_`` unchanged. :meth:`EndpointSet.classes` builds
those classes for one handling node in time proportional to the endpoints that are special there
(on the node, hinted for it, or the client itself) plus the number of classes, from indexes built
once: by node, by hint and by address. ``tests/test_endpoint_classes.py`` checks, on random clusters,
that the rule table decides every endpoint exactly as it does on the full list.

This is an evaluation strategy of the executable model, not a rule: it changes no outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import attrs

from kverify.model import Endpoint
from kverify.semantics.vocabulary import NO_NODE, EndpointView

#: The node of an endpoint seen from a handling node it is not on (never a node index, nor NO_NODE).
OTHER_NODE = -2

# A class key: (local, ready, serving, terminating, has_zone_hints, zone_hinted, has_node_hints,
# node_hinted, is_client, on_no_node), where local/zone_hinted/node_hinted are relative to the handling node.
Key = tuple[bool, bool, bool, bool, bool, bool, bool, bool, bool, bool]
_NO_HINTS: frozenset[int] = frozenset()


@attrs.frozen(kw_only=True)
class Classes:
    """The endpoint classes seen from one handling node: one :class:`EndpointView` per class, in a
    fixed order, and which endpoints belong to each."""

    keys: tuple[Key, ...]
    views: tuple[EndpointView, ...]
    _of: EndpointSet
    _special: tuple[int, ...]  # endpoints on the node, hinted for it, or the client itself
    _special_keys: tuple[Key, ...]
    _zone: int

    def members(self, cls: int) -> list[int]:
        """Positions (in ``EndpointSet.endpoints``, ascending) of the endpoints of class ``cls``."""
        key = self.keys[cls]
        if key[0] or key[7] or key[8]:  # local, node-hinted or the client: special endpoints only
            return [i for i, k in zip(self._special, self._special_keys, strict=True) if k == key]
        skip = set(self._special)
        eps = self._of
        zone = self._zone
        hinted = key[5]
        nowhere = key[9]
        return [
            i
            for i in eps.by_base.get(key[1:5] + key[6:7], ())
            if i not in skip and (zone in eps.zone_hints[i]) == hinted and (eps.nodes[i] == NO_NODE) == nowhere
        ]


class EndpointSet:
    """The endpoints of one Service port and IP family, with the indexes :meth:`classes` needs.

    ``node_position`` maps node names to rule-table indexes; ``zones`` maps zone names to indexes and
    gains the zones only hints name (it is the caller's copy).
    """

    def __init__(
        self,
        endpoints: tuple[Endpoint, ...],
        node_position: dict[str, int],
        zones: dict[str, int],
        n_nodes: int,
    ) -> None:
        self.endpoints = endpoints
        self.zones = zones
        unknown = n_nodes + 1  # a hint naming an unknown node gets an index no node has
        position = node_position.get
        # Column by column, each a comprehension: the one pass over the endpoints, at C speed where it can.
        self.nodes: list[int] = [position(e.node_name, NO_NODE) if e.node_name else NO_NODE for e in endpoints]  # type: ignore[arg-type]
        self._base: list[tuple[bool, ...]] = [
            (e.ready, e.serving, e.terminating, bool(e.zone_hints), bool(e.node_hints)) for e in endpoints
        ]
        self.zone_hints: list[frozenset[int]] = [
            frozenset(zones.setdefault(z, len(zones)) for z in e.zone_hints) if e.zone_hints else _NO_HINTS
            for e in endpoints
        ]
        self.node_hints: list[frozenset[int]] = [
            frozenset(position(n, unknown) for n in e.node_hints) if e.node_hints else _NO_HINTS for e in endpoints
        ]
        self.by_node: dict[int, list[int]] = {}
        for i, node in enumerate(self.nodes):
            self.by_node.setdefault(node, []).append(i)
        self.by_zone_hint: dict[int, list[int]] = {}
        self.by_node_hint: dict[int, list[int]] = {}
        for i, (zone_hints, node_hints) in enumerate(zip(self.zone_hints, self.node_hints, strict=True)):
            for z in zone_hints:
                self.by_zone_hint.setdefault(z, []).append(i)
            for n in node_hints:
                self.by_node_hint.setdefault(n, []).append(i)
        first = {e.ip: i for i, e in reversed(tuple(enumerate(endpoints)))}  # an address's first endpoint
        self.by_ip: dict[str, list[int]]
        if len(first) == len(endpoints):
            self.by_ip = _Singletons(first)
        else:  # an address shared by endpoints (a bad input the loader reports, or a test's)
            self.by_ip = {}
            for i, e in enumerate(endpoints):
                self.by_ip.setdefault(e.ip, []).append(i)
        self._by_base: dict[tuple[bool, ...], list[int]] | None = None
        #: Each endpoint's class seen from a node of no zone that it is not on and that no hint names.
        self._default: list[Key] = [
            (False, *b[:4], False, b[4], False, False, n == NO_NODE)  # type: ignore[misc]
            for b, n in zip(self._base, self.nodes, strict=True)
        ]
        self._simple: list[bool] = [not (b[3] or b[4]) for b in self._base]  # no zone or node hints
        self._zone_counts: dict[int, Counter[Key]] = {}
        self._full: tuple[str, tuple[EndpointView, ...]] | None = None

    def __len__(self) -> int:
        return len(self.endpoints)

    @property
    def by_base(self) -> dict[tuple[bool, ...], list[int]]:
        """Endpoints by what they are whatever the node (ready, serving, terminating, hinted): built on
        first use (only outcomes that reach endpoints on other nodes need it)."""
        if self._by_base is None:
            self._by_base = {}
            for i, base in enumerate(self._base):
                self._by_base.setdefault(base, []).append(i)
        return self._by_base

    def key(self, i: int, node: int, zone: int, client_ip: str) -> Key:
        """Endpoint ``i``'s class seen from ``node`` (in ``zone``) by a client at ``client_ip``."""
        ready, serving, terminating, has_zone, has_node = self._base[i]
        return (
            self.nodes[i] == node,
            ready,
            serving,
            terminating,
            has_zone,
            zone in self.zone_hints[i],
            has_node,
            node in self.node_hints[i],
            self.endpoints[i].ip == client_ip,
            self.nodes[i] == NO_NODE,
        )

    def _counts_in_zone(self, zone: int) -> Counter[Key]:
        """How many endpoints fall in each class seen from a node of ``zone`` that holds none of them,
        is hinted by none and is not the client (computed once per zone: linear in zone hints)."""
        counts = self._zone_counts.get(zone)
        if counts is None:
            if NO_ZONE_KEY not in self._zone_counts:
                self._zone_counts[NO_ZONE_KEY] = Counter(self._default)
            counts = Counter(self._zone_counts[NO_ZONE_KEY])
            for i in self.by_zone_hint.get(zone, ()):
                counts[self.key(i, OTHER_NODE, NO_ZONE_KEY, "")] -= 1
                counts[self.key(i, OTHER_NODE, zone, "")] += 1
            self._zone_counts[zone] = counts
        return counts

    def classes(self, node: int, zone: int, client_ip: str) -> Classes:
        """The classes seen from ``node`` (``NO_NODE``: bypassing nodes), in ``zone``, for a client at
        ``client_ip``: proportional to the special endpoints there, not to all endpoints."""
        counts = Counter(self._counts_in_zone(zone))
        local = self.by_node.get(node, [])
        hinted = self.by_node_hint.get(node)
        client = self.by_ip.get(client_ip)
        special = sorted({*local, *(hinted or ()), *(client or ())}) if hinted or client else local  # by_node: sorted
        special_keys = []
        simple, default = self._simple, self._default
        for i in special:
            if simple[i] and not (client and i in client):  # no hints, not the client: here, else only counted
                before = default[i]
                key = (True, *before[1:]) if self.nodes[i] == node else before
            else:
                before, key = self.key(i, OTHER_NODE, zone, ""), self.key(i, node, zone, client_ip)
            counts[before] -= 1
            counts[key] += 1
            special_keys.append(key)
        keys = tuple(sorted(k for k, c in counts.items() if c > 0))
        return Classes(
            keys=keys,
            views=tuple(_view(k, node, zone) for k in keys),
            of=self,
            special=tuple(special),
            special_keys=tuple(special_keys),
            zone=zone,
        )

    def full_views(self, client_ip: str) -> tuple[EndpointView, ...]:
        """Every endpoint's view, in order (what the rule table reads without classes): built once
        per client address, for callers that need the whole list (the differential tests, proofs)."""
        if self._full is None or self._full[0] != client_ip:
            views = tuple(
                EndpointView(
                    node=self.nodes[i],
                    ready=e.ready,
                    serving=e.serving,
                    terminating=e.terminating,
                    zone_hints=self.zone_hints[i],
                    has_zone_hints=bool(e.zone_hints),
                    node_hints=self.node_hints[i],
                    has_node_hints=bool(e.node_hints),
                    is_client=e.ip == client_ip,
                )
                for i, e in enumerate(self.endpoints)
            )
            self._full = (client_ip, views)
        return self._full[1]

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.endpoints)


class _Singletons(dict):  # type: ignore[type-arg]
    """``by_ip`` when every address is one endpoint's: stores the index, answers a one-item list."""

    def get(self, key: str, default: object = None) -> list[int] | None:  # type: ignore[override]
        found = super().get(key)
        return default if found is None else [found]  # type: ignore[return-value]


#: The zone of a node without one (the rule table's NO_ZONE): no endpoint is hinted for it.
NO_ZONE_KEY = -1


def _view(key: Key, node: int, zone: int) -> EndpointView:
    local, ready, serving, terminating, has_zone, zone_hinted, has_node, node_hinted, is_client, nowhere = key
    return EndpointView(
        node=node if local else (NO_NODE if nowhere else OTHER_NODE),
        ready=ready,
        serving=serving,
        terminating=terminating,
        zone_hints=frozenset({zone}) if zone_hinted else _NO_HINTS,
        has_zone_hints=has_zone,
        node_hints=frozenset({node}) if node_hinted else _NO_HINTS,
        has_node_hints=has_node,
        is_client=is_client,
    )
