"""Where in-cluster clients live: the nodes that run pods, found by reading only as many endpoints as asked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain

from kverify.check.endpoint_reads import node_names
from kverify.model import Node, Service


class ClientNodes:
    """The nodes that run pods (they host an endpoint of some Service), in node order.

    The checks ask for the first of them outside a Service's own nodes (iTP Local), or the very first
    (no-usable-endpoints). Collecting every endpoint's node up front read all of them (480,000 in issue
    11's List, 0.1 s) to answer that about the first few nodes, which nearly always host one. Here the
    Services' endpoints are read one Service at a time, only until the node asked about turns up; a node
    that hosts nothing is known only once all are read, and from then on the full list answers. Each
    endpoint is read at most once: linear.
    """

    def __init__(self, nodes: Sequence[Node], services: Sequence[Service]) -> None:
        self._nodes = nodes
        self._unread: Iterator[Service] = iter(services)
        self._hosting: set[str | None] = set()
        self._listed: tuple[str, ...] | None = None  # every client node, once every endpoint is read

    def _hosts(self, name: str) -> bool:
        hosting = self._hosting
        if name in hosting:
            return True
        for service in self._unread:
            hosting.update(node_names(service.endpoints))
            if name in hosting:
                return True
        return False

    def _all(self) -> tuple[str, ...]:
        if self._listed is None:
            self._hosting.update(chain.from_iterable(node_names(s.endpoints) for s in self._unread))
            self._listed = tuple(n.name for n in self._nodes if n.name in self._hosting)
        return self._listed

    def first_not_in(self, names: set[str] | frozenset[str]) -> str | None:
        """The first client node (in node order) not among ``names``."""
        if self._listed is None:
            for node in self._nodes:
                if node.name in names:
                    continue  # asked only for nodes outside names: at most len(names) skipped here
                if self._hosts(node.name):
                    return node.name
                break  # a node hosting nothing: every endpoint is read now, the full list answers
        return next((n for n in self._all() if n not in names), None)

    def first(self) -> str | None:
        """The first client node, if any node runs pods."""
        return self.first_not_in(frozenset())
