"""Per-cluster lookups the executable model needs on every call, built once per Cluster object.

``route`` is called a handful of times on clusters of thousands of nodes (``kverify check`` on a
snapshot): rebuilding the node index, the zone map and the node views (all O(nodes)), or the set
of taken pod addresses (O(endpoints)), on every call would make each call as costly as the whole
check. Clusters are frozen, so what is derived from one never goes stale; the cache is keyed by the
object's identity and holds it only weakly.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Iterable, Sequence
from functools import cached_property
from itertools import chain, repeat
from operator import and_, attrgetter, contains
from typing import TYPE_CHECKING

from kverify.concrete.endpoint_set import EndpointSet
from kverify.model import Cluster, Endpoint, Node, Service
from kverify.model.cluster import serves_port
from kverify.model.endpoint_columns import EndpointColumns
from kverify.model.metallb import counts as metallb_counts
from kverify.semantics.vocabulary import NO_ZONE, NodeView

if TYPE_CHECKING:
    from kverify.concrete.alike import Decided
    from kverify.concrete.classify import Handling
    from kverify.model import Flow


class ClusterIndex:
    """Lookups derived from one cluster; each one is built on first use."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = weakref.ref(cluster)  # a strong reference would keep the cache entry alive
        #: The last answer of ``kverify.concrete.route.handlings``: (Service, lb_picks, flow, handlings, the
        #: rules marked working them out).
        self.last_handlings: tuple[Service, bool, Flow, tuple[Handling, ...], frozenset[str]] | None = None

    @property
    def cluster(self) -> Cluster:
        cluster = self._cluster()
        assert cluster is not None  # the index is only reachable while its cluster lives
        return cluster

    @cached_property
    def node_position(self) -> dict[str, int]:
        """Node name -> its index in ``cluster.nodes`` (the node's index in the rule table)."""
        return {n.name: i for i, n in enumerate(self.cluster.nodes)}

    @cached_property
    def node_names(self) -> frozenset[str]:
        """Every node's name (the built-in checks ask, per outcome, whether a name is a node's)."""
        return frozenset(self.node_position)

    @cached_property
    def nodes_by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.cluster.nodes}

    @property
    def services_by_key(self) -> dict[str, Service]:
        """Each Service by its key, the first wins: the cluster's own lookup (:meth:`Cluster.service`)."""
        return self.cluster.services_by_key

    @cached_property
    def _lb_exclusion_values(self) -> tuple[str | None, ...]:
        """Each node's value of the exclude-from-external-load-balancers label (None: not labelled), in
        node order: read once for :attr:`lb_exclusion_labels` and the node views."""
        from kverify.model.node_meta import EXCLUDE_FROM_LB_LABEL

        labels = tuple(map(_LABELS, self.cluster.nodes))
        # Every label key and value in one C-level search: most snapshots label no node so, and then no
        # node's labels are made a dict (16,000 nodes in issue 11's List).
        if EXCLUDE_FROM_LB_LABEL not in chain.from_iterable(chain.from_iterable(labels)):
            return (None,) * len(labels)
        return tuple(map(dict.get, map(dict, labels), repeat(EXCLUDE_FROM_LB_LABEL)))

    @cached_property
    def lb_exclusion_labels(self) -> tuple[tuple[str, str], ...]:
        """(node, value) of the nodes labelled to be left out of load balancers, in node order."""
        values = self._lb_exclusion_values
        if values.count(None) == len(values):
            return ()
        return tuple((n.name, value) for n, value in zip(self.cluster.nodes, values, strict=True) if value is not None)

    @cached_property
    def zones(self) -> dict[str, int]:
        """Zone name -> index, in node order. Callers that add hint-only zones must copy it."""
        zones: dict[str, int] = {}
        for n in self.cluster.nodes:
            if n.zone:
                zones.setdefault(n.zone, len(zones))
        return zones

    @cached_property
    def node_views(self) -> tuple[NodeView, ...]:
        """Each node's :class:`NodeView` (what the load balancer's rules read of it), in node order."""
        return self._views[0]

    @cached_property
    def nodes_by_view(self) -> dict[NodeView, list[int]]:
        """The nodes (their indexes, ascending) that look alike to the load balancer's rules, by their
        :class:`NodeView`: the rules read a node with none of a Service's endpoints only through its
        view, so they are asked once per view, not once per node (``route._fails_open``)."""
        return self._views[1]

    @cached_property
    def view_of_node(self) -> list[int]:
        """Each node's position in :attr:`nodes_by_view` (an int: cheaper to count than a view)."""
        return self._views[2]

    @cached_property
    def _views(self) -> tuple[tuple[NodeView, ...], dict[NodeView, list[int]], list[int]]:
        """:attr:`node_views`, :attr:`nodes_by_view` and :attr:`view_of_node` in one pass over the nodes.

        A view is made of three values (zone index, draining, label class): nodes are grouped by those
        as a tuple, and one view is built per group, shared by its nodes. A snapshot's 16,000 nodes make
        a handful of views; building and hashing one per node was most of the cost (issue 11)."""
        from kverify.concrete.lb_exclusion import label_class

        zones = self.zones
        values = self._lb_exclusion_values
        class_of = {value: label_class(value) for value in set(values)}  # a few distinct values
        group_of: dict[tuple[object, bool, int], int] = {}  # a view's fields -> its position
        views: list[NodeView] = []  # the distinct views, in the order first met
        members: list[list[int]] = []  # the nodes of each
        view_of: list[int] = []
        for i, (n, value) in enumerate(zip(self.cluster.nodes, values, strict=True)):
            fields = (
                zones.get(n.zone, NO_ZONE) if n.zone else NO_ZONE,
                n.draining,
                class_of[value],
            )
            k = group_of.get(fields)
            if k is None:
                k = group_of[fields] = len(views)
                views.append(NodeView(zone=fields[0], draining=fields[1], lb_label=fields[2]))
                members.append([])
            members[k].append(i)
            view_of.append(k)
        return tuple(map(views.__getitem__, view_of)), dict(zip(views, members, strict=True)), view_of

    @cached_property
    def flow_fields(self) -> tuple[dict[str, object], bool]:
        """The situation's fields that depend on the cluster alone (the proxy, its version and feature
        gates, Cilium's and MetalLB's settings, the node views): the same for every flow routed in it, so
        worked out once (the gates are resolved from the version's defaults on each ``proxy.gates``), and
        whether ingress ipModes are read (the LoadBalancerIPMode gate)."""
        cluster = self.cluster
        proxy, cilium = cluster.proxy, cluster.proxy.cilium
        gates = proxy.gates
        fields: dict[str, object] = {
            "has_detector": proxy.detects_pod_traffic,
            "masquerade_all": proxy.masquerade_all,
            "nodes": self.node_views,
            "k8s_minor": proxy.kubernetes_version,
            "gate_terminating": gates["ProxyTerminatingEndpoints"],
            "gate_zone_hints": gates["TopologyAwareHints"] or gates["ServiceTrafficDistribution"],
            "gate_node_hints": gates["PreferSameTrafficDistribution"],
            "gate_draining": gates["KubeProxyDrainingTerminatingNodes"],
            "cni": proxy.cni,
            "cilium_minor": cilium.version,
            "cilium_external_cluster_ip": cilium.external_cluster_ip,
            "cilium_no_backend_reject": cilium.no_backend_response == "reject",
            "cilium_source_ranges_all_types": cilium.source_ranges_on_all_types,
            "cilium_pod_socket_lb": cilium.pods_use_socket_lb,
            "metallb_counts": metallb_counts(cluster.metallb_version),
        }
        return fields, gates["LoadBalancerIPMode"]  # without the gate every ingress IP is a VIP

    @cached_property
    def endpoint_ips(self) -> EndpointAddresses:
        """Every endpoint address of every Service (a default pod client must not take one), for ``in``."""
        return EndpointAddresses(self.cluster.services)

    @cached_property
    def endpoint_count(self) -> int:
        return sum(len(s.endpoints) for s in self.cluster.services)

    @cached_property
    def endpoint_sets(self) -> collections.OrderedDict[tuple[object, ...], EndpointSet]:
        """The indexed endpoints of the Service ports routed lately (see :func:`endpoint_set`)."""
        return collections.OrderedDict()

    @cached_property
    def decided(self) -> dict[tuple[object, object], Decided]:
        """The rule table's answers by kind of handling (``kverify.concrete.alike.decided``: by renamed
        situation, and by the flow's shared fields and the handling's kind), shared by every flow routed
        in this cluster: a check of 16,000 Services meets a few dozen kinds."""
        return {}

    def position(self, node: Node) -> int:
        return self.node_position[node.name]


def _ips(service: Service) -> tuple[str, ...]:
    """The Service's endpoint addresses, in order: a column as it is, a tuple of Endpoints (slices with
    topology hints, a spec's cluster) read into one."""
    endpoints = service.endpoints
    return endpoints.ips if type(endpoints) is EndpointColumns else tuple(map(_IP, endpoints))


_IP = attrgetter("ip")
_LABELS = attrgetter("labels")


#: Addresses :class:`EndpointAddresses` answers by scanning, before it builds a set of them all: a scan
#: costs about a third of the set (0.06 s and 0.17 s on issue 11's List), so at worst a run pays 1.7x
#: the set, and a run that asks about one or two (a check's pod clients all on the first node) a third.
SCANS_BEFORE_SET = 2


class EndpointAddresses:
    """Whether an address is an endpoint's, over every Service of a cluster (``ip in addresses``).

    A pod client needs an address no endpoint has (:func:`kverify.concrete.classify.default_client_ip`),
    and a check run asks that of a few candidate addresses (the same few, for clients on the same node).
    A set of every endpoint address (480,000 in issue 11's List) cost 0.17 s to build, to answer them: the
    first :data:`SCANS_BEFORE_SET` addresses asked are answered by one scan of the addresses each (compares
    at C speed, no hashing), and remembered; a run that asks about more builds the set then. Linear either
    way: at most that many scans, then one set.
    """

    def __init__(self, services: Sequence[Service], *, scans: int = SCANS_BEFORE_SET) -> None:
        self._services = services
        self._scans_left = scans
        self._answers: dict[str, bool] = {}
        self._all: frozenset[str] | None = None

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, str):
            return False  # every endpoint address is a string
        if self._all is not None:
            return ip in self._all
        answer = self._answers.get(ip)
        if answer is not None:
            return answer
        if self._scans_left == 0:
            self._all = frozenset(chain.from_iterable(map(_ips, self._services)))
            return ip in self._all
        self._scans_left -= 1
        # Each Service's addresses searched on their own (``ip in column``: a tuple's own search), not
        # through one chained iterator: a third of the instructions per address (480,000 in issue 11's List).
        answer = self._answers[ip] = any(map(contains, map(_ips, self._services), repeat(ip)))
        return answer


_CACHE: dict[int, tuple[weakref.ref[Cluster], ClusterIndex]] = {}


def index_of(cluster: Cluster) -> ClusterIndex:
    """The (cached) index of ``cluster``."""
    key = id(cluster)
    entry = _CACHE.get(key)
    if entry is not None and entry[0]() is cluster:
        return entry[1]
    index = ClusterIndex(cluster)
    _CACHE[key] = (weakref.ref(cluster, lambda _ref, key=key: _CACHE.pop(key, None)), index)  # type: ignore[misc]
    return index


#: Endpoint sets kept per cluster: a check routes one Service after another, a trace one Service.
ENDPOINT_SETS_KEPT = 4


def endpoint_set(cluster: Cluster, service: Service, port_name: str | None, family: int | None) -> EndpointSet:
    """The endpoints of ``service`` that serve ``port_name`` (``None``: every port, as the health check
    counts them) in IP ``family`` (``None``: both), indexed once and shared by every handling node."""
    index = index_of(cluster)
    key = (service.key, id(service), port_name, family)
    kept = index.endpoint_sets
    found = kept.get(key)
    if found is not None:
        kept.move_to_end(key)
        return found
    found = EndpointSet(
        _serving(service.endpoints, port_name, family),
        index.node_position,
        dict(index.zones),
        len(cluster.nodes),
        family,
    )
    kept[key] = found
    while len(kept) > ENDPOINT_SETS_KEPT:
        kept.popitem(last=False)
    return found


def _serving(endpoints: Sequence[Endpoint], port_name: str | None, family: int | None) -> Sequence[Endpoint]:
    """The endpoints that serve ``port_name`` in ``family`` (``None``: any). The endpoints of one
    EndpointSlice share its ports (one tuple): whether they serve the port is asked once per run of
    them, not once per endpoint."""
    if port_name is None and family is None:
        return endpoints
    if type(endpoints) is EndpointColumns:
        return _serving_columns(endpoints, port_name, family)
    six = family == 6
    kept: list[Endpoint] = []
    last: tuple[object, ...] | None = None
    serves = True
    for e in endpoints:
        if e.ports is not last:
            last = e.ports
            serves = port_name is None or e.serves(port_name)
        if serves and (family is None or (":" in e.ip) == six):
            kept.append(e)
    return endpoints if len(kept) == len(endpoints) else tuple(kept)


def _serving_columns(endpoints: EndpointColumns, port_name: str | None, family: int | None) -> EndpointColumns:
    """:func:`_serving` over columns: asked once per distinct ports tuple, then per endpoint in C-level passes."""
    keep: Iterable[bool] = repeat(True, len(endpoints))
    everyone = True  # no pass is made over the endpoints for a question every one of them passes
    ports = endpoints.ports
    # The loader gives slices with the same ports one tuple: then a C-level count (identity checks, once the
    # last endpoint is seen to hold the first one's tuple) shows every endpoint has the first one's ports,
    # and one question answers for all.
    if port_name is not None and ports and ports[-1] is ports[0] and ports.count(ports[0]) == len(ports):
        if not serves_port(ports[0], port_name):
            return endpoints.select(repeat(False, len(ports)))
    elif port_name is not None:
        distinct = dict(zip(map(id, endpoints.ports), endpoints.ports, strict=True))
        serves = {key: serves_port(ports, port_name) for key, ports in distinct.items()}
        if not all(serves.values()):
            everyone = False
            keep = map(serves.__getitem__, map(id, endpoints.ports))
    # Whether an address is IPv6 is whether it holds a colon: for IPv4, one search of them all first.
    if family is not None and (family == 6 or ":" in "".join(endpoints.ips)):
        everyone = False
        v6 = map(str.__contains__, endpoints.ips, repeat(":"))
        keep = map(and_, keep, map((family == 6).__eq__, v6))
    if everyone:
        return endpoints
    flags = tuple(keep)
    return endpoints if all(flags) else endpoints.select(flags)
