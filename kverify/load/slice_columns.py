"""A plain EndpointSlice's endpoints read column by column, in a few C-level passes per slice.

A snapshot holds hundreds of thousands of endpoints; a Python loop over them, building an Endpoint
object each, took longer than parsing the file (issue 11). Nearly every slice is *plain*: each entry
a mapping with one valid IPv4 address, conditions absent or booleans, a ``nodeName`` absent or a
non-empty string, a ``targetRef`` absent or with a string name, no ``hints``. Such a slice holds no
problem, so its endpoints are taken field by field over the whole slice (``map``, ``zip``, one regex
over the joined addresses) into :class:`~kverify.model.endpoint_columns.EndpointColumns`. Whatever
is not plain, including every problem, is left to the careful loop in :mod:`kverify.load.kinds`,
which reports it with its field path; ``tests/test_load_fast_paths.py`` checks that both read every
slice alike. The slices of a JSON List arrive here already decoded as typed structs
(:mod:`kverify.load.slice_typed`): :func:`typed_columns` takes their columns the same way
(``tests/test_json_list.py`` checks them against the careful loop).
"""

from __future__ import annotations

import _socket as socket  # socket's C module: the same inet_pton, without socket.py's enum set-up (~3 ms)
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import repeat
from operator import is_, is_not
from typing import Any, NamedTuple

from kverify.load.fields import IPV4_PATTERN, PTON_AGREES, validators_off
from kverify.load.sources import _orjson
from kverify.model.cluster import EndpointPort
from kverify.model.endpoint_columns import EndpointColumns

#: Dotted-quad IPv4 addresses, one a line: a whole slice's addresses checked by one regex call.
_IPV4_LINES = re.compile(rf"(?:{IPV4_PATTERN}\n)*")

_NONE = type(None)
_DICT = {dict}
_LIST = {list}
_STR = {str}
_BOOLS = {bool}
_OPT_BOOLS = {bool, _NONE}
_OPT_STRS = {str, _NONE}
_NONES = {_NONE}


def plain_columns(entries: list[Any], namespace: str, ports: tuple[EndpointPort, ...]) -> EndpointColumns | None:
    """The endpoints of a slice whose every entry is plain (see the module), or ``None`` if one is not.

    The values are those the careful loop gives (``pkg/proxy/endpointslicecache.go``
    ``newEndpointSliceInfo``: a nil ``ready`` or ``serving`` means true, a nil ``terminating`` false;
    kube-proxy uses ``addresses[0]``)."""
    n = len(entries)
    if not n or set(map(type, entries)) != _DICT:
        return None
    column = _columns_of(entries)
    if column("hints").count(None) != n:
        return None
    addresses = column("addresses")
    # Lists of at least one address each, n in all: one address each.
    if set(map(type, addresses)) != _LIST or sum(map(len, addresses)) != n or [] in addresses:
        return None
    ips = [a[0] for a in addresses]
    if not all_ipv4(ips):  # which also refuses anything but strings
        return None
    conditions = _conditions(column("conditions"), n)
    if conditions is None:
        return None
    node_names = column("nodeName")
    if not set(map(type, node_names)) <= _OPT_STRS or "" in node_names:
        return None
    pods = _pods(column("targetRef"), namespace, n)
    if pods is None:
        return None
    ready, serving, terminating = conditions
    with validators_off():  # every value was checked above
        return EndpointColumns(
            ips=ips,
            node_names=node_names,
            ready=ready,
            serving=serving,
            terminating=terminating,
            pods=pods,
            ports=(ports,) * n,
        )


def _columns_of(rows: list[dict[str, Any]]) -> Callable[[str], Sequence[Any]]:
    """A function giving the column of one key (``None`` where a row lacks it), as ``dict.get`` would.

    A list comprehension that subscripts each row (cheaper than ``map`` over ``dict.get`` or
    ``itemgetter``: Python 3.11 specializes it); a key some row lacks is read again with ``get``."""

    def column(key: str) -> list[Any]:
        try:
            return [row[key] for row in rows]
        except KeyError:
            return [row.get(key) for row in rows]

    return column


def _conditions(conditions: Sequence[Any], n: int) -> tuple[Sequence[bool], Sequence[bool], Sequence[bool]] | None:
    """(ready, serving, terminating) of each entry, or ``None`` if one entry's conditions are not plain."""
    kinds = set(map(type, conditions))
    if kinds == _NONES:  # no conditions at all: the defaults
        return (True,) * n, (True,) * n, (False,) * n
    if kinds != _DICT:  # not mappings, or some entries without: the careful loop
        return None
    first = conditions[0]
    if all(type(first[key]) is bool for key in _CONDITIONS if key in first) and _alike(conditions, first):
        # The common case: every entry's conditions the same (all ready, say): the first's, n times.
        r, s, t = map(first.get, _CONDITIONS)
        return (r is not False,) * n, (s is not False,) * n, (t is True,) * n
    column = _columns_of(conditions)  # type: ignore[arg-type]
    ready, serving, terminating = column("ready"), column("serving"), column("terminating")
    if not all(set(map(type, values)) <= _OPT_BOOLS for values in (ready, serving, terminating)):
        return None
    # A column of booleans is its own answer; a None (unset) is ready, serving, not terminating.
    if set(map(type, ready)) != _BOOLS:
        ready = tuple(map(is_not, ready, repeat(False)))
    if set(map(type, serving)) != _BOOLS:
        serving = tuple(map(is_not, serving, repeat(False)))
    if set(map(type, terminating)) != _BOOLS:
        terminating = tuple(map(is_, terminating, repeat(True)))
    return ready, serving, terminating


_CONDITIONS = ("ready", "serving", "terminating")


def _alike(values: Sequence[Any], first: Any) -> bool:
    """Whether every value is ``first``'s equal, of the same JSON types too (``True`` is not ``1``): their
    JSON texts are the same, as orjson (if installed) writes them, at C speed. A ``null`` may stand for
    ``None`` or for a float NaN, which orjson writes so: callers rely only on values that are not null."""
    dumps = getattr(_orjson(), "dumps", None)
    if dumps is None:
        return False
    try:
        one = dumps(first)
        return dumps(values) == b"[" + b",".join([one] * len(values)) + b"]"  # type: ignore[no-any-return]
    except TypeError:  # a value orjson does not write (a key not a string, an integer past 64 bits)
        return False


def _pods(refs: Sequence[Any], namespace: str, n: int) -> Sequence[str | None] | None:
    """Each entry's Pod (``namespace/name`` of a ``targetRef`` of kind Pod), or ``None`` if a
    ``targetRef`` is not a mapping with a string name."""
    kinds = set(map(type, refs))
    if kinds == _NONES:
        return refs
    if kinds == _DICT:  # the common case: every entry has one
        column = _columns_of(refs)  # type: ignore[arg-type]
        names = column("name")
        if set(map(type, names)) != _STR:
            return None
        spaces = column("namespace")
        if column("kind").count("Pod") == n and spaces.count(namespace) + spaces.count(None) == n:
            return tuple(map(f"{namespace}/".__add__, names))  # every Pod in the slice's namespace
    elif not kinds <= {dict, _NONE} or any(type(ref.get("name")) is not str for ref in refs if ref is not None):
        return None
    return tuple(
        f"{ref.get('namespace') or namespace}/{ref['name']}" if ref is not None and ref.get("kind") == "Pod" else None
        for ref in refs
    )


def all_ipv4(ips: Sequence[Any]) -> bool:
    """Every address a string, a dotted-quad IPv4 address as ``ipaddress`` accepts it: the C library's
    ``inet_pton`` once per address where it is known to agree (a third of the regex's cost), else one
    regex over the addresses joined one a line (an address holding a line break would add a line, and
    is refused by the count)."""
    try:
        if PTON_AGREES:
            return all(map(socket.inet_pton, _AF_INET_REPEATED, ips))
        lines = "\n".join(ips) + "\n"
    except (OSError, ValueError, TypeError):  # refused, a NUL or lone surrogate, not a string
        return False
    return lines.count("\n") == len(ips) and _IPV4_LINES.fullmatch(lines) is not None


_AF_INET_REPEATED = repeat(socket.AF_INET)  # map() stops at the shortest: the addresses


class SameConditions(NamedTuple):
    """The conditions of a slice whose every entry's are equal (not ``null``): one entry's, and how many."""

    first: Any
    size: int


class TypedEntries:
    """A slice's entries decoded as typed plain entries (:class:`kverify.load.slice_typed.TypedEntry`),
    as the columns :func:`typed_columns` reads, and a way to decode them again as the json module gives
    them, for the careful loop. ``nodes_known``: every entry's ``nodeName`` (if any) is the very string
    of a Node of the file (:class:`kverify.load.slice_typed.SliceDecoder`).

    The columns are taken as soon as the slice is decoded, and the entries let go: a List's 480,000
    entry structs and their one-address tuples (55 MB) are then freed slice by slice, and the next
    slice is decoded into the same memory instead of pages the kernel must map and zero first."""

    __slots__ = ("_as_dicts", "_refs", "conditions", "ips", "ips_checked", "nodes", "nodes_known")

    def __init__(self, entries: list[Any], as_dicts: Callable[[], Any], nodes_known: bool = False) -> None:
        # Tuples, as EndpointColumns keeps them: it takes these very objects, and the lists they are
        # copied from are freed at once (their memory holds the next slice's), not kept beside them.
        self.ips: tuple[str, ...] = tuple([entry.addresses[0] for entry in entries])
        self.ips_checked = False  # whether each is known to be a valid IPv4 address
        conditions = [entry.conditions for entry in entries]
        first = conditions[0] if conditions else None
        # Most slices' entries have equal conditions (all Ready): kept once, the structs are freed with
        # the entries and their memory holds the next slice's (msgspec compares two structs in C).
        self.conditions: list[Any] | SameConditions = (
            SameConditions(first, len(conditions))
            if first is not None and conditions.count(first) == len(conditions)
            else conditions
        )
        self._refs: list[Any] | Callable[[], list[Any]] = [entry.targetRef for entry in entries]
        self.nodes: tuple[Any, ...] = tuple([entry.nodeName for entry in entries])  # each a str, or None
        self._as_dicts, self.nodes_known = as_dicts, nodes_known

    @classmethod
    def of(
        cls,
        ips: tuple[str, ...],
        conditions: list[Any] | SameConditions,
        refs: Callable[[], list[Any]],
        nodes: tuple[Any, ...],
        as_dicts: Callable[[], Any],
    ) -> TypedEntries:
        """Entries from their columns (a slice decoded in another process:
        :mod:`kverify.load.slice_records`): the addresses checked already, the targetRefs decoded
        when first read, the node names not known to be the Nodes' strings."""
        made = cls.__new__(cls)
        made.ips, made.ips_checked, made.conditions, made._refs, made.nodes = ips, True, conditions, refs, nodes
        made._as_dicts, made.nodes_known = as_dicts, False
        return made

    def refs(self) -> list[Any]:
        """Each entry's typed ``targetRef``, or ``None``."""
        refs = self._refs
        if callable(refs):
            refs = self._refs = refs()
        return refs

    def as_dicts(self) -> Any:
        """The ``endpoints`` value as the json module gives it."""
        return self._as_dicts()


def typed_columns(
    typed: TypedEntries, namespace: str, ports: tuple[EndpointPort, ...], node_names: Mapping[str, str] | None = None
) -> EndpointColumns | None:
    """The endpoints of plain entries, or ``None`` if an address is no valid IPv4 address.

    The values are the careful loop's (``pkg/proxy/endpointslicecache.go`` ``newEndpointSliceInfo``:
    a nil ``ready`` or ``serving`` means true, a nil ``terminating`` false; kube-proxy uses
    ``addresses[0]``), taken a field at a time over the whole slice. A node name found in
    ``node_names`` (the Nodes read so far, each name to itself) is that Node's own string: equal, and
    hashed already, so the sets of node names that later checks look every endpoint up in (480,000 on
    a big snapshot) compare pointers instead of hashing and comparing one new string per endpoint.
    Entries decoded with their Nodes' strings already (``typed.nodes_known``) are not looked up."""
    ips = typed.ips
    if not typed.ips_checked and not all_ipv4(ips):
        return None
    n = len(ips)
    ready, serving, terminating = _typed_conditions(typed.conditions)
    refs = typed.refs
    nodes = typed.nodes
    if node_names and not typed.nodes_known:
        nodes = tuple(map(node_names.get, nodes, nodes))  # the Node's string, else the entry's own
    return EndpointColumns.checked(  # every value was checked by the decoder and above
        ips=ips,
        node_names=nodes,
        ready=ready,
        serving=serving,
        terminating=terminating,
        pods=lambda: _typed_pods(refs(), namespace, n),  # most are never read
        ports=ports,
    )


#: A column of conditions, or what makes it when it is first read.
_LazyFlags = Sequence[bool] | Callable[[], Sequence[bool]]


def _typed_conditions(conditions: list[Any] | SameConditions) -> tuple[Sequence[bool], _LazyFlags, _LazyFlags]:
    """(ready, serving, terminating) of each entry from its typed conditions: each ``None`` (``null``,
    the defaults) or each field ``None`` or a boolean (an absent field has its default already).
    Unless an entry's conditions are ``null``, serving and terminating are what makes them when they
    are first read: most Services' endpoints are all Ready, and then nothing reads them."""
    if isinstance(conditions, SameConditions):
        first, n = conditions
        return (first.ready is not False,) * n, (first.serving is not False,) * n, (first.terminating is True,) * n
    if None in conditions:
        return (
            [c is None or c.ready is not False for c in conditions],
            [c is None or c.serving is not False for c in conditions],
            [c is not None and c.terminating is True for c in conditions],
        )
    ready = [c.ready for c in conditions]
    # A column of booleans is its own answer; a None (null) is ready, serving, not terminating.
    if None in ready:
        ready = [value is not False for value in ready]
    return ready, partial(_typed_serving, conditions), partial(_typed_terminating, conditions)


def _typed_serving(conditions: list[Any]) -> list[bool]:
    serving = [c.serving for c in conditions]
    return [value is not False for value in serving] if None in serving else serving


def _typed_terminating(conditions: list[Any]) -> list[bool]:
    terminating = [c.terminating for c in conditions]
    return [value is True for value in terminating] if None in terminating else terminating


def _typed_pods(refs: list[Any], namespace: str, n: int) -> Sequence[str | None]:
    """Each entry's Pod from its typed targetRef (``None`` or with a string name), as the careful loop
    names it: ``<its namespace, or the slice's>/<name>`` if its kind is Pod, else ``None``."""
    if refs.count(None) == n:
        return refs
    if not refs.count(None):
        kinds, spaces = [ref.kind for ref in refs], [ref.namespace for ref in refs]
        if kinds.count("Pod") == n and spaces.count(namespace) + spaces.count(None) == n:
            return list(map(f"{namespace}/".__add__, [ref.name for ref in refs]))  # all Pods in the slice's namespace
    return [
        f"{ref.namespace or namespace}/{ref.name}" if ref is not None and ref.kind == "Pod" else None for ref in refs
    ]
