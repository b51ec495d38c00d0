"""What the built-in checks read from a Service's endpoints, without building an Endpoint per endpoint.

A snapshot's Services hold their endpoints as :class:`~kverify.model.endpoint_columns.EndpointColumns`
(one tuple per field); iterating them as :class:`~kverify.model.cluster.Endpoint` objects builds one
object per endpoint, which for the 480,000 endpoints of issue 11's List cost a second of a check that
otherwise reads a few fields. Each reader here takes either form: the columns in C-level passes, a
tuple of Endpoints field by field, with the same answer (``tests/test_check_endpoint_reads.py``).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from itertools import compress
from operator import and_, attrgetter, or_

from kverify.model import Endpoint
from kverify.model.endpoint_columns import EndpointColumns

_NODE_NAME = attrgetter("node_name")


def node_names(endpoints: Sequence[Endpoint]) -> Iterable[str | None]:
    """Each endpoint's ``nodeName`` (``None`` where it names none), in order."""
    return endpoints.node_names if type(endpoints) is EndpointColumns else map(_NODE_NAME, endpoints)


def _usable_flags(columns: EndpointColumns) -> Iterable[bool]:
    """:attr:`Endpoint.usable` of each endpoint: Ready, or serving while terminating. When every
    endpoint is Ready (most Services), that is all: the other two columns are not read (a snapshot's
    loader makes them on first read)."""
    if False not in columns.ready:
        return columns.ready
    return map(or_, columns.ready, map(and_, columns.serving, columns.terminating))


def ready_nodes(endpoints: Sequence[Endpoint]) -> set[str]:
    """The nodes with a Ready endpoint."""
    if type(endpoints) is EndpointColumns:
        found = set(compress(endpoints.node_names, endpoints.ready))
    else:
        found = {e.node_name for e in endpoints if e.ready}
    found.discard(None)  # type: ignore[arg-type]
    return found  # type: ignore[return-value]


def usable_nodes(endpoints: Sequence[Endpoint]) -> set[str]:
    """The nodes with an endpoint kube-proxy may send to (Ready, or serving while terminating)."""
    if type(endpoints) is EndpointColumns:
        found = set(compress(endpoints.node_names, _usable_flags(endpoints)))
    else:
        found = {e.node_name for e in endpoints if e.usable}
    found.discard(None)  # type: ignore[arg-type]
    return found  # type: ignore[return-value]


def any_usable(endpoints: Sequence[Endpoint]) -> bool:
    """Whether some endpoint is Ready, or serving while terminating."""
    if type(endpoints) is EndpointColumns:
        return any(endpoints.ready) or any(_usable_flags(endpoints))
    return any(e.usable for e in endpoints)


def any_ready(endpoints: Sequence[Endpoint]) -> bool:
    """Whether some endpoint is Ready."""
    if type(endpoints) is EndpointColumns:
        return any(endpoints.ready)
    return any(e.ready for e in endpoints)


def first_usable_node_in(endpoints: Sequence[Endpoint], known: Container[str]) -> str | None:
    """The node of the first usable endpoint (in order) whose node is in ``known``."""
    if type(endpoints) is EndpointColumns:
        usable = compress(endpoints.node_names, _usable_flags(endpoints))
        return next((n for n in usable if n in known), None)  # type: ignore[operator]
    return next((e.node_name for e in endpoints if e.usable and e.node_name in known), None)  # type: ignore[operator]
