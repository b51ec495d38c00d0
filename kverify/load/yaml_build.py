"""Plain Python values from a composed YAML node graph, several times faster than PyYAML's constructor.

PyYAML's ``SafeConstructor`` builds every mapping and list through a generator, a constructor lookup
and a memo entry per node: on a 20 MB ``kubectl get -o yaml`` List it takes as long as libyaml's
parse and composition together. Manifests use only mappings, sequences and the core scalar types,
so :func:`build` constructs those directly and gives up (:class:`NotPlain`) on anything else: a merge
key ``<<``, an explicit collection tag (``!!set``, ``!!omap``, ``!!pairs``, a custom ``!Ref``), an
unhashable key. The caller then constructs the document with PyYAML's own constructor, so every
result and every error stays PyYAML's.
"""

from __future__ import annotations

from typing import Any

import yaml

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
#: Scalar tags whose PyYAML constructors are plain functions of the node (no generator, no state).
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "timestamp", "binary", "value")
)


class NotPlain(Exception):
    """The document uses a YAML feature :func:`build` leaves to PyYAML's constructor."""


def build(loader: yaml.BaseLoader, node: yaml.Node) -> Any:
    """The value of ``node`` as ``loader.construct_document(node)`` gives it, for plain documents.

    A node reached twice (through an alias) gives the same object both times, as with PyYAML, so an
    alias bomb stays as small in memory as its text. Raises :class:`NotPlain`, or ``RecursionError``
    on very deep nesting; either way the caller falls back to ``loader.construct_document``.
    """
    constructors = loader.yaml_constructors
    memo: dict[int, Any] = {}
    ScalarNode, MappingNode, SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode

    def value(node: yaml.Node) -> Any:
        kind, tag = type(node), node.tag
        if kind is ScalarNode:
            if tag == _STR:
                return node.value
            if tag in _SCALAR_TAGS:
                return constructors[tag](loader, node)
            raise NotPlain(tag)
        if (known := memo.get(id(node))) is not None:
            return known
        if kind is MappingNode and tag == _MAP:
            mapping: dict[Any, Any] = {}
            memo[id(node)] = mapping
            for key_node, value_node in node.value:
                if type(key_node) is ScalarNode and key_node.tag == _STR:
                    key = key_node.value
                else:
                    key = value(key_node)  # a merge key `<<` has its own tag: NotPlain
                    if type(key) in (dict, list):
                        raise NotPlain("unhashable key")
                if type(value_node) is ScalarNode and value_node.tag == _STR:
                    mapping[key] = value_node.value
                else:
                    mapping[key] = value(value_node)
            return mapping
        if kind is SequenceNode and tag == _SEQ:
            sequence: list[Any] = []
            memo[id(node)] = sequence
            append = sequence.append
            for item in node.value:
                append(item.value if type(item) is ScalarNode and item.tag == _STR else value(item))
            return sequence
        raise NotPlain(tag)

    return value(node)
