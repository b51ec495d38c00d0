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
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from itertools import compress, filterfalse, repeat
from operator import attrgetter

import attrs

from kverify.model import Endpoint
from kverify.model.endpoint_columns import EndpointColumns
from kverify.semantics.vocabulary import NO_NODE, EndpointView

#: The node of an endpoint seen from a handling node it is not on (never a node index, nor NO_NODE).
OTHER_NODE = -2

# A class key: (local, ready, serving, terminating, has_zone_hints, zone_hinted, has_node_hints,
# node_hinted, is_client, on_no_node), where local/zone_hinted/node_hinted are relative to the handling node.
Key = tuple[bool, bool, bool, bool, bool, bool, bool, bool, bool, bool]
_NO_HINTS: frozenset[int] = frozenset()


# Not slotted, as Cluster (kverify.model.cluster) and for the same reason: its attributes are read on every flow.
@attrs.frozen(kw_only=True, slots=False)
class Classes:
    """The endpoint classes seen from one handling node (``node``, in ``zone``): their keys and views
    in a fixed order, and which endpoints belong to each."""

    keys: tuple[Key, ...]
    _of: EndpointSet
    _special: tuple[int, ...]  # endpoints on the node, hinted for it, or the client itself
    _special_keys: tuple[Key, ...]
    _zone: int
    _node: int

    @cached_property
    def views(self) -> tuple[EndpointView, ...]:
        """One :class:`EndpointView` per class, in the order of :attr:`keys`: made when the rule table
        reads them (a handling node alike one decided already is looked up by its keys alone)."""
        return tuple(_view(k, self._node, self._zone) for k in self.keys)

    def members(self, cls: int) -> list[int]:
        """Positions (in ``EndpointSet.endpoints``, ascending) of the endpoints of class ``cls``."""
        key = self.keys[cls]
        if key[0] or key[7] or key[8]:  # local, node-hinted or the client: special endpoints only
            special_keys = self._special_keys
            if special_keys.count(key) == len(special_keys):  # every special endpoint is of this class
                return list(self._special)
            return list(compress(self._special, map(key.__eq__, special_keys)))
        eps = self._of
        candidates = eps.by_base.get(key[1:5] + key[6:7], ())
        skip = set(self._special)
        if key[4] or NO_NODE in eps.by_node:  # zone hints, or endpoints on no node: ask each endpoint
            zone = self._zone
            hinted = key[5]
            nowhere = key[9]
            return [
                i
                for i in candidates
                if i not in skip and (zone in eps.zone_hints[i]) == hinted and (eps.nodes[i] == NO_NODE) == nowhere
            ]
        # No zone hints on these endpoints and every endpoint on a node: none is zone-hinted or nowhere.
        if key[5] or key[9]:
            return []
        return list(filterfalse(skip.__contains__, candidates)) if skip else list(candidates)


class EndpointSet:
    """The endpoints of one Service port and IP family, with the indexes :meth:`classes` needs.

    ``node_position`` maps node names to rule-table indexes; ``zones`` maps zone names to indexes and
    gains the zones only hints name (it is the caller's copy); ``family``: the endpoints are all of
    that IP family (``None``: not known to be).
    """

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        node_position: dict[str, int],
        zones: dict[str, int],
        n_nodes: int,
        family: int | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.zones = zones
        #: 4 or 6 when every endpoint is of that IP family (the caller chose them so), else None.
        self.family = family
        n = len(endpoints)
        unknown = n_nodes + 1  # a hint naming an unknown node gets an index no node has
        position = node_position.get
        # Column by column, each by map() or a comprehension: the few passes over the endpoints run at
        # C speed where they can (issue 11: 100,000 endpoints are indexed for every trace). Endpoints
        # loaded as columns are read as such (no Endpoint object is built); they have no hints.
        zone_names: Sequence[frozenset[str]]
        node_names: Sequence[frozenset[str]]
        if type(endpoints) is EndpointColumns:
            node_of, ready, serving, terminating = (
                endpoints.node_names,
                endpoints.ready,
                endpoints.serving,
                endpoints.terminating,
            )
            self._ips: Sequence[str] = endpoints.ips
            zone_names = node_names = (frozenset(),) * n
            any_zone_hints = any_node_hints = False  # columns hold no hints
            has_hints: tuple[Iterable[bool], Iterable[bool]] = (repeat(False, n), repeat(False, n))
        else:
            node_of, ready, serving, terminating = (
                tuple(map(attrgetter(name), endpoints)) for name in ("node_name", "ready", "serving", "terminating")
            )
            self._ips = list(map(attrgetter("ip"), endpoints))
            zone_names = list(map(attrgetter("zone_hints"), endpoints))
            node_names = list(map(attrgetter("node_hints"), endpoints))
            any_zone_hints, any_node_hints = any(zone_names), any(node_names)
            has_hints = (map(bool, zone_names), map(bool, node_names))
        #: Each endpoint's address and node name, in order (read by the trace's output, per group).
        self.ips: Sequence[str] = self._ips
        self.node_names: Sequence[str | None] = node_of
        #: Each endpoint's node index (NO_NODE: none, or a name no node has).
        self.nodes: list[int] = list(map(position, node_of, repeat(NO_NODE)))  # type: ignore[arg-type]
        # Every endpoint of one kind (asked of the flag columns: C-level identity checks), and no hints
        # (columns hold none): one tuple for all, not 100,000 equal ones zipped from the columns.
        one_kind = not n or all(flags.count(flags[0]) == n for flags in (ready, serving, terminating))
        self._base: list[tuple[bool, ...]]
        if one_kind and n and type(endpoints) is EndpointColumns:
            self._base = [(ready[0], serving[0], terminating[0], False, False)] * n
        else:
            self._base = list(zip(ready, serving, terminating, *has_hints, strict=True))
        #: No endpoint has hints: every endpoint's class, seen from a node it is not on, is its default one.
        self._no_hints = not (any_zone_hints or any_node_hints)
        self.zone_hints: list[frozenset[int]] = (
            [frozenset(zones.setdefault(z, len(zones)) for z in hints) if hints else _NO_HINTS for hints in zone_names]
            if any_zone_hints
            else [_NO_HINTS] * n
        )
        self.node_hints: list[frozenset[int]] = (
            [frozenset(position(name, unknown) for name in hints) if hints else _NO_HINTS for hints in node_names]
            if any_node_hints
            else [_NO_HINTS] * n
        )
        # Endpoints by node, each list ascending (nodes in the order first met): one pass, no sort.
        self.by_node: dict[int, list[int]] = {}
        get = self.by_node.get
        for i, node in enumerate(self.nodes):
            held = get(node)
            if held is None:
                self.by_node[node] = [i]
            else:
                held.append(i)
        self.by_zone_hint: dict[int, list[int]] = {}
        self.by_node_hint: dict[int, list[int]] = {}
        if not self._no_hints:
            for i, (zone_hints, node_hints) in enumerate(zip(self.zone_hints, self.node_hints, strict=True)):
                for z in zone_hints:
                    self.by_zone_hint.setdefault(z, []).append(i)
                for h in node_hints:
                    self.by_node_hint.setdefault(h, []).append(i)
        #: Every endpoint is of one kind (ready, serving, terminating, hinted): the usual snapshot's case,
        #: where :meth:`classes` need not look at the node's endpoints one by one.
        if any_zone_hints or any_node_hints:
            self._one_kind = not n or self._base.count(self._base[0]) == n
        else:  # asked of the flag columns above, not of 100,000 tuples
            self._one_kind = one_kind
        self._by_ip: dict[str, list[int]] | None = None
        #: The client addresses asked about before ``by_ip`` is built (see :meth:`_at_address`).
        self._scanned: dict[str, list[int] | None] = {}
        self._by_base: dict[tuple[bool, ...], list[int]] | None = None
        self._defaults: dict[tuple[tuple[bool, ...], bool], Key] = {}
        #: How many endpoints fall in each class, by zone (:meth:`_counts_in_zone`): plain dicts, not Counters,
        #: whose Python-level constructor and update cost more than the few keys counted (issue 11).
        self._zone_counts: dict[int, dict[Key, int]] = {}
        #: :meth:`_made_local`'s answers, by zone, NO_NODE or not, and the node's kinds of endpoints.
        self._local_classes: dict[tuple[object, ...], tuple[tuple[Key, ...], dict[tuple[bool, ...], Key]]] = {}
        self._full: tuple[str, tuple[EndpointView, ...]] | None = None
        self._pods: tuple[str | None, ...] | None = None
        #: Whether the load balancer fails open for these endpoints, and the rules that decided it, by the
        #: flow's other inputs (kept by ``kverify.concrete.route._kept_fails_open``).
        self.fails_open: dict[tuple[object, ...], tuple[bool, frozenset[str]]] = {}

    def __len__(self) -> int:
        return len(self.endpoints)

    @property
    def by_ip(self) -> dict[str, list[int]]:
        """The positions of the endpoints at each address, ascending: built on first use."""
        if self._by_ip is None:
            ips = self._ips
            n = len(ips)
            by_ip: dict[str, list[int]] = _Singletons(zip(ips, range(n), strict=True))
            if len(by_ip) != n:  # an address shared by endpoints (a bad input the loader reports, or a test's)
                by_ip = {}
                for i, ip in enumerate(ips):
                    by_ip.setdefault(ip, []).append(i)
            self._by_ip = by_ip
        return self._by_ip

    def _at_address(self, ip: str) -> list[int] | None:
        """The positions of the endpoints at ``ip``, ascending (None: none). A trace asks about one or
        two client addresses (an external client's, from every node): each is looked for by one C-level
        scan of the addresses, and hashing 100,000 of them into :attr:`by_ip` is left to a trace that
        asks about more (a pod client on every node)."""
        if self._by_ip is None:
            if ip in self._scanned:
                return self._scanned[ip]
            if len(self._scanned) < _SCANS_BEFORE_INDEX:
                ips = self._ips
                found: list[int] = []
                at = -1
                for _ in range(ips.count(ip)):  # count and index: C-level searches (an address is rarely held)
                    at = ips.index(ip, at + 1)
                    found.append(at)
                self._scanned[ip] = found or None
                return found or None
        return self.by_ip.get(ip)

    @property
    def pods(self) -> Sequence[str | None]:
        """Each endpoint's Pod (``namespace/name``) or None, in order: read from the columns when the
        endpoints are loaded so, else gathered once."""
        endpoints = self.endpoints
        if type(endpoints) is EndpointColumns:
            return endpoints.pods
        if self._pods is None:
            self._pods = tuple(map(attrgetter("pod"), endpoints))
        return self._pods

    def endpoint_at(self, i: int) -> Endpoint:
        """Endpoint ``i``, without building an object for every endpoint loaded as columns."""
        endpoints = self.endpoints
        return endpoints.endpoint_at(i) if type(endpoints) is EndpointColumns else endpoints[i]

    def is_ready(self, i: int) -> bool:
        """Whether endpoint ``i`` is ready (read from the index, not from an Endpoint object)."""
        return self._base[i][0]

    @property
    def by_base(self) -> dict[tuple[bool, ...], list[int]]:
        """Endpoints by what they are whatever the node (ready, serving, terminating, hinted): built on
        first use (only outcomes that reach endpoints on other nodes need it)."""
        if self._by_base is None:
            # A few kinds for any number of endpoints: one C-level pass per kind, in the order first met.
            everyone = range(len(self._base))
            if self._one_kind:
                self._by_base = {self._base[0]: list(everyone)} if self._base else {}
            else:
                kinds = dict.fromkeys(self._base)
                self._by_base = {kind: list(compress(everyone, map(kind.__eq__, self._base))) for kind in kinds}
        return self._by_base

    def _default(self, base: tuple[bool, ...], nowhere: bool) -> Key:
        """The class of an endpoint that is ``base`` (and on no node: ``nowhere``) seen from a node of
        no zone that it is not on, that no hint names, and that is not the client."""
        found = self._defaults.get((base, nowhere))
        if found is None:
            ready, serving, terminating, has_zone, has_node = base
            found = self._defaults[(base, nowhere)] = (
                False,
                ready,
                serving,
                terminating,
                has_zone,
                False,
                has_node,
                False,
                False,
                nowhere,
            )
        return found

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
            self._ips[i] == client_ip,
            self.nodes[i] == NO_NODE,
        )

    def _counts_in_zone(self, zone: int) -> dict[Key, int]:
        """How many endpoints fall in each class seen from a node of ``zone`` that holds none of them,
        is hinted by none and is not the client (computed once per zone: linear in zone hints)."""
        counts = self._zone_counts.get(zone)
        if counts is None:
            if NO_ZONE_KEY not in self._zone_counts:
                by_base: dict[tuple[tuple[bool, ...], bool], int]
                if NO_NODE in self.by_node:
                    by_base = Counter(zip(self._base, map(NO_NODE.__eq__, self.nodes), strict=True))
                else:  # every endpoint is on a node: counted by kind alone (no pair made per endpoint)
                    kinds = {self._base[0]: len(self._base)} if self._one_kind and self._base else Counter(self._base)
                    by_base = {(base, False): c for base, c in kinds.items()}
                self._zone_counts[NO_ZONE_KEY] = {self._default(*k): c for k, c in by_base.items()}
            counts = dict(self._zone_counts[NO_ZONE_KEY])
            for i in self.by_zone_hint.get(zone, ()):
                _add(counts, self.key(i, OTHER_NODE, NO_ZONE_KEY, ""), -1)
                _add(counts, self.key(i, OTHER_NODE, zone, ""), 1)
            self._zone_counts[zone] = counts
        return counts

    def classes(self, node: int, zone: int, client_ip: str) -> Classes:
        """The classes seen from ``node`` (``NO_NODE``: bypassing nodes), in ``zone``, for a client at
        ``client_ip``: proportional to the special endpoints there, not to all endpoints."""
        local = self.by_node.get(node, [])
        hinted = self.by_node_hint.get(node)
        client = self._at_address(client_ip)
        special = sorted({*local, *(hinted or ()), *(client or ())}) if hinted or client else local  # by_node: sorted
        special_keys: tuple[Key, ...]
        base = self._base
        if self._no_hints and not client:
            # Only the node's own endpoints are special, and each is in its default class made local:
            # counted per kind of endpoint (a handful), not one by one.
            nowhere = node == NO_NODE  # the endpoints "on" NO_NODE are those on no node
            kinds: tuple[tuple[tuple[bool, ...], int], ...]
            if self._one_kind and special:
                kinds = ((base[special[0]], len(special)),)
            elif not special:  # a node holding none of them (most nodes asked): no Counter of nothing
                kinds = ()
            else:
                kinds = tuple(Counter(map(base.__getitem__, special)).items())
            keys, made_local = self._made_local(zone, nowhere, kinds)
            if len(made_local) == 1:  # one kind on the node: one key, held once per endpoint
                special_keys = tuple(made_local.values()) * len(special)
            else:
                special_keys = tuple(map(made_local.__getitem__, map(base.__getitem__, special)))
        else:
            counts = dict(self._counts_in_zone(zone))
            found = []
            for i in special:
                if not (base[i][3] or base[i][4]) and not (client and i in client):
                    # no hints, not the client: its default class, made local if it is on the node
                    before = self._default(base[i], self.nodes[i] == NO_NODE)
                    key = (True, *before[1:]) if self.nodes[i] == node else before  # type: ignore[assignment]
                else:
                    before, key = self.key(i, OTHER_NODE, zone, ""), self.key(i, node, zone, client_ip)
                _add(counts, before, -1)
                _add(counts, key, 1)
                found.append(key)
            special_keys = tuple(found)
            keys = tuple(sorted(k for k, c in counts.items() if c > 0))
        return Classes(keys=keys, of=self, special=tuple(special), special_keys=special_keys, zone=zone, node=node)

    def _made_local(
        self, zone: int, nowhere: bool, kinds: tuple[tuple[tuple[bool, ...], int], ...]
    ) -> tuple[tuple[Key, ...], dict[tuple[bool, ...], Key]]:
        """The class keys seen from a node in ``zone`` (``nowhere``: NO_NODE) whose own endpoints are
        ``kinds`` (each kind of endpoint and how many), when no endpoint has hints and none is the
        client; and the key each of those kinds takes there. The same for every node with the same
        kinds of endpoints (a trace from every node asks it 1,000 times): worked out once for each."""
        found = self._local_classes.get((zone, nowhere, kinds))
        if found is None:
            counts = dict(self._counts_in_zone(zone))
            made_local: dict[tuple[bool, ...], Key] = {}
            for kind, count in kinds:
                before = self._default(kind, nowhere)
                key = made_local[kind] = (True, *before[1:])  # type: ignore[assignment]
                _add(counts, before, -count)
                _add(counts, key, count)
            keys = tuple(sorted(k for k, c in counts.items() if c > 0))
            found = self._local_classes[(zone, nowhere, kinds)] = (keys, made_local)
        return found

    def full_views(self, client_ip: str) -> tuple[EndpointView, ...]:
        """Every endpoint's view, in order (what the rule table reads without classes): built once
        per client address, for callers that need the whole list (the differential tests, proofs)."""
        if self._full is None or self._full[0] != client_ip:
            views = tuple(
                EndpointView(
                    node=node,
                    ready=ready,
                    serving=serving,
                    terminating=terminating,
                    zone_hints=zone_hints,
                    has_zone_hints=has_zone_hints,
                    node_hints=node_hints,
                    has_node_hints=has_node_hints,
                    is_client=ip == client_ip,
                )
                for node, (ready, serving, terminating, has_zone_hints, has_node_hints), zone_hints, node_hints, ip in (
                    zip(self.nodes, self._base, self.zone_hints, self.node_hints, self._ips, strict=True)
                )
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


#: How many client addresses :meth:`EndpointSet._at_address` looks for by a scan before it indexes them all.
_SCANS_BEFORE_INDEX = 2

#: The zone of a node without one (the rule table's NO_ZONE): no endpoint is hinted for it.
NO_ZONE_KEY = -1


def _add(counts: dict[Key, int], key: Key, n: int) -> None:
    """``counts[key] += n``, a missing key counting 0 (as in a Counter)."""
    counts[key] = counts.get(key, 0) + n


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
