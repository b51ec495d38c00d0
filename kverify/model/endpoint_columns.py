"""Endpoints held as columns: the form a big EndpointSlice is loaded in.

A snapshot's EndpointSlices hold hundreds of thousands of endpoints, and most code reads them a field
at a time over all of them (the endpoint set's indexes, the loader's checks of node and Pod names).
Building one :class:`~kverify.model.cluster.Endpoint` object per endpoint cost as much as reading
the file (issue 11). :class:`EndpointColumns` keeps each field as one tuple instead, and is a
``Sequence[Endpoint]`` all the same: code that asks for Endpoint objects gets them, built once, on
first use, equal to those the columns describe. Code in a hot loop reads the columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain, compress
from typing import Any, overload

import attrs

from kverify.model.cluster import Endpoint, EndpointPort

#: An Endpoint's fields, in order. :meth:`EndpointColumns._build` sets each slot directly (attrs'
#: ``__init__``, with its converter calls, doubled the cost); a field added to Endpoint must be set
#: there too, hence this check at import time.
_ENDPOINT_FIELDS = ("ip", "node_name", "ready", "serving", "terminating", "zone_hints", "node_hints", "pod", "ports")
if tuple(field.name for field in attrs.fields(Endpoint)) != _ENDPOINT_FIELDS:  # pragma: no cover - guard
    raise ImportError("kverify.model.cluster.Endpoint changed: update kverify.model.endpoint_columns")

_NO_HINTS: frozenset[str] = frozenset()


class EndpointColumns(Sequence[Endpoint]):
    """Endpoints without topology hints, one tuple per field; a read-only sequence of :class:`Endpoint`.

    ``EndpointColumns(ips=..., ...)[i]`` equals ``Endpoint(ip=ips[i], node_name=node_names[i],
    ready=ready[i], serving=serving[i], terminating=terminating[i], pod=pods[i], ports=ports[i])``;
    the Endpoint objects are built together, the first time one is asked for. It equals (and hashes
    as) the tuple of those Endpoints. With the model's validators on, every endpoint is validated as
    ``Endpoint(...)`` validates it; the loader, which has checked every field, builds with them off.
    """

    __slots__ = ("_built", "_pods", "_serving", "_terminating", "ips", "node_names", "ports", "ready")

    ips: tuple[str, ...]
    node_names: tuple[str | None, ...]
    ready: tuple[bool, ...]
    #: The :attr:`serving`, :attr:`terminating` and :attr:`pods` columns, or what makes each on first
    #: use (see :meth:`checked`).
    _serving: tuple[bool, ...] | Callable[[], Iterable[bool]]
    _terminating: tuple[bool, ...] | Callable[[], Iterable[bool]]
    _pods: tuple[str | None, ...] | Callable[[], Iterable[str | None]]
    #: Each endpoint's ports (the endpoints of one slice share its one tuple).
    ports: tuple[tuple[EndpointPort, ...], ...]
    _built: tuple[Endpoint, ...] | None

    def __init__(
        self,
        *,
        ips: Iterable[str],
        node_names: Iterable[str | None],
        ready: Iterable[bool],
        serving: Iterable[bool],
        terminating: Iterable[bool],
        pods: Iterable[str | None],
        ports: Iterable[tuple[EndpointPort, ...]],
    ) -> None:
        columns = (
            tuple(ips),
            tuple(node_names),
            tuple(ready),
            tuple(serving),
            tuple(terminating),
            tuple(pods),
            tuple(ports),
        )
        if len(set(map(len, columns))) != 1:
            raise ValueError(f"endpoint columns of unequal lengths: {', '.join(str(len(c)) for c in columns)}")
        validate = not attrs.validators.get_disabled()
        if validate:  # each endpoint's ports as Endpoint converts them (a tuple stays the same object)
            columns = (*columns[:-1], tuple(map(tuple, columns[-1])))
        for slot, column in zip(_SLOTS, columns, strict=True):
            object.__setattr__(self, slot, column)
        object.__setattr__(self, "_built", None)
        if validate:
            self._build(validate=True)

    @classmethod
    def checked(
        cls,
        *,
        ips: Iterable[str],
        node_names: Iterable[str | None],
        ready: Iterable[bool],
        serving: Iterable[bool] | Callable[[], Iterable[bool]],
        terminating: Iterable[bool] | Callable[[], Iterable[bool]],
        pods: Callable[[], Iterable[str | None]],
        ports: tuple[EndpointPort, ...],
    ) -> EndpointColumns:
        """Columns of the same length whose every value the loader has checked, the endpoints sharing
        ``ports``. ``pods`` makes the Pod column (as many values) when it is first read, and so may
        ``serving`` and ``terminating``, given as callables. Most of a snapshot's Pod names are never
        read (building them cost a tenth of loading it, issue 11); nor are the other two conditions
        of a Service whose endpoints are all Ready (see :mod:`kverify.check.endpoint_reads`)."""
        # Built once per slice (16,000 on issue 11's List): each slot set through its descriptor, which
        # takes a third of the time object.__setattr__ takes (it finds the descriptor again each call).
        made = _new(cls)
        _set_ips(made, ips := tuple(ips))
        _set_node_names(made, tuple(node_names))
        _set_ready(made, tuple(ready))
        _set_serving(made, serving if callable(serving) else tuple(serving))
        _set_terminating(made, terminating if callable(terminating) else tuple(terminating))
        _set_pods(made, pods)
        _set_ports(made, (ports,) * len(ips))
        _set_built(made, None)
        return made

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"EndpointColumns is read-only: cannot set {name}")

    @property
    def serving(self) -> tuple[bool, ...]:
        """Each endpoint's ``serving`` condition."""
        serving = self._serving
        return serving if type(serving) is tuple else self._make("_serving")  # type: ignore[return-value]

    @property
    def terminating(self) -> tuple[bool, ...]:
        """Each endpoint's ``terminating`` condition."""
        terminating = self._terminating
        return terminating if type(terminating) is tuple else self._make("_terminating")  # type: ignore[return-value]

    @property
    def pods(self) -> tuple[str | None, ...]:
        """``namespace/name`` of each endpoint's Pod (its targetRef), or None."""
        pods = self._pods
        return pods if type(pods) is tuple else self._make("_pods")

    def _make(self, slot: str) -> tuple[Any, ...]:
        """The column of ``slot``, made by what it holds, and kept."""
        made = tuple(getattr(self, slot)())
        object.__setattr__(self, slot, made)
        return made

    @classmethod
    def join(cls, parts: Sequence[EndpointColumns]) -> EndpointColumns:
        """The endpoints of ``parts``, one after another (the slices of one Service); a column not
        made yet in a part is made when the joined one's is first read."""
        if len(parts) == 1:
            return parts[0]
        parts = tuple(parts)
        joined = _made(
            () if name in _LAZY else tuple(chain.from_iterable(getattr(part, name) for part in parts))
            for name in _COLUMNS
        )
        for name, slot in _LAZY.items():
            if all(type(getattr(part, slot)) is tuple for part in parts):
                column: object = tuple(chain.from_iterable(getattr(part, name) for part in parts))
            else:
                column = partial(_chained, parts, name)
            object.__setattr__(joined, slot, column)
        return joined

    def select(self, keep: Iterable[bool]) -> EndpointColumns:
        """The endpoints for which ``keep`` is true, in order."""
        keep = tuple(keep)
        if len(keep) != len(self.ips):
            raise ValueError(f"select: {len(keep)} flags for {len(self.ips)} endpoints")
        return _made(tuple(compress(getattr(self, name), keep)) for name in _COLUMNS)

    def __len__(self) -> int:
        return len(self.ips)

    @overload
    def __getitem__(self, index: int) -> Endpoint: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Endpoint, ...]: ...

    def __getitem__(self, index: int | slice) -> Endpoint | tuple[Endpoint, ...]:
        return self.endpoints[index]

    def endpoint_at(self, i: int) -> Endpoint:
        """``self[i]``, without building every Endpoint when they are not built yet: for a caller that
        needs a few of them (a trace names the first endpoint of each group of outcomes)."""
        built = self._built
        if built is not None:
            return built[i]
        endpoint = object.__new__(Endpoint)  # slots set directly, as _build does
        slots = Endpoint.__dict__
        for name, column in zip(_ENDPOINT_FIELDS, _FIELD_COLUMNS, strict=True):
            slots[name].__set__(endpoint, _NO_HINTS if column is None else getattr(self, column)[i])
        return endpoint

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.endpoints)

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The Endpoint objects, built on first use and kept."""
        built = self._built
        return built if built is not None else self._build(validate=False)

    def _build(self, *, validate: bool) -> tuple[Endpoint, ...]:
        if validate:
            built = tuple(
                Endpoint(ip=ip, node_name=node, ready=r, serving=s, terminating=t, pod=pod, ports=ports)
                for ip, node, r, s, t, pod, ports in self._rows()
            )
        else:
            # One object per endpoint, its slots set directly: every value was checked when the
            # columns were made, and attrs' __init__ would run its converters once per endpoint.
            new, cls, slots = object.__new__, Endpoint, Endpoint.__dict__
            set_ip, set_node, set_ready, set_serving, set_terminating, set_zones, set_hints, set_pod, set_ports = (
                slots[name].__set__ for name in _ENDPOINT_FIELDS
            )
            out: list[Endpoint] = []
            append = out.append
            for ip, node, r, s, t, pod, ports in self._rows():
                endpoint = new(cls)
                set_ip(endpoint, ip)
                set_node(endpoint, node)
                set_ready(endpoint, r)
                set_serving(endpoint, s)
                set_terminating(endpoint, t)
                set_zones(endpoint, _NO_HINTS)
                set_hints(endpoint, _NO_HINTS)
                set_pod(endpoint, pod)
                set_ports(endpoint, ports)
                append(endpoint)
            built = tuple(out)
        object.__setattr__(self, "_built", built)
        return built

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        return zip(*(getattr(self, name) for name in _COLUMNS), strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EndpointColumns):
            return all(getattr(self, name) == getattr(other, name) for name in _COLUMNS)
        if isinstance(other, tuple):
            return self.endpoints == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.endpoints)

    def __repr__(self) -> str:
        return repr(self.endpoints)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_made, (tuple(getattr(self, name) for name in _COLUMNS),))


#: The column attributes, in the order of the constructor's arguments.
_COLUMNS = ("ips", "node_names", "ready", "serving", "terminating", "pods", "ports")
#: The slots that hold them (three may be made on first use: see :meth:`EndpointColumns.checked`).
_SLOTS = ("ips", "node_names", "ready", "_serving", "_terminating", "_pods", "ports")
#: The columns that may be made on first use, and their slots.
_LAZY = {"serving": "_serving", "terminating": "_terminating", "pods": "_pods"}
#: The column holding each of an Endpoint's fields (None: the hints, which columns never have).
_FIELD_COLUMNS = ("ips", "node_names", "ready", "serving", "terminating", None, None, "pods", "ports")


def _chained(parts: Sequence[EndpointColumns], name: str) -> Iterator[Any]:
    """The ``name`` column of each part, one after another."""
    return chain.from_iterable(getattr(part, name) for part in parts)


#: Each slot's setter (its descriptor's ``__set__``): the class's own ``__setattr__`` refuses every write.
_set_ips, _set_node_names, _set_ready, _set_serving, _set_terminating, _set_pods, _set_ports, _set_built = (
    getattr(EndpointColumns, slot).__set__ for slot in (*_SLOTS, "_built")
)
_SLOT_SETTERS = (_set_ips, _set_node_names, _set_ready, _set_serving, _set_terminating, _set_pods, _set_ports)
_new = object.__new__


def _made(columns: Iterable[tuple[Any, ...]]) -> EndpointColumns:
    """Columns taken from columns already checked (joined, selected, unpickled): not checked again."""
    made = _new(EndpointColumns)
    for set_slot, column in zip(_SLOT_SETTERS, columns, strict=True):
        set_slot(made, column)
    _set_built(made, None)
    return made
