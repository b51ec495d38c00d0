"""Converters for attrs fields: collections become immutable, with types mypy's attrs plugin can read."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any


def to_tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def to_frozenset(values: Iterable[Any]) -> frozenset[Any]:
    return frozenset(values)


def read_only(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(mapping))
