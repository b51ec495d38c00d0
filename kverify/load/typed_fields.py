"""What the loader holds of an object of a JSON List decoded typed (a Service, a Node): its structs and
its text, to decode again as the json module's dicts when the careful reader is needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TypedFields:
    """An object's typed struct (``typed``), held under ``spec`` in its item, and its text. A reader that
    walks dicts finds no mapping there: only the typed readers look under it."""

    __slots__ = ("_decode", "source", "typed")

    def __init__(self, typed: Any, source: Any, decode: Callable[[Any], Any]) -> None:
        self.typed, self.source, self._decode = typed, source, decode

    def as_dict(self) -> dict[str, Any]:
        """The whole object as the json module gives it (for the careful readers)."""
        value: dict[str, Any] = self._decode(self.source)
        return value


def typed_item(kind: str, typed: Any, source: Any, decode: Callable[[Any], Any], unset: object) -> dict[str, Any]:
    """The item the loader takes for ``typed``, a struct decoded from ``source``: ``kind``, ``apiVersion``
    and ``metadata`` as the json module gives them (absent when ``unset``), and under ``spec`` a
    :class:`TypedFields` (``decode`` gives the object's dicts again if the careful reader is needed)."""
    item: dict[str, Any] = {"kind": kind}
    if typed.apiVersion is not unset:
        item["apiVersion"] = typed.apiVersion
    if typed.metadata is not unset:
        item["metadata"] = typed.metadata
    item["spec"] = TypedFields(typed, source, decode)
    return item
