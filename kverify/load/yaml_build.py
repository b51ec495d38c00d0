"""Plain Python values from YAML nodes or events, several times faster than PyYAML's constructor.

PyYAML's ``SafeConstructor`` builds every mapping and list through a generator, a constructor lookup
and a memo entry per node: on a 20 MB ``kubectl get -o yaml`` List it takes as long as libyaml's
parse and composition together. Manifests use only mappings, sequences and the core scalar types,
so :func:`build` constructs those directly and gives up (:class:`NotPlain`) on anything else: a merge
key ``<<``, an explicit collection tag (``!!set``, ``!!omap``, ``!!pairs``, a custom ``!Ref``), an
unhashable key. The caller then constructs the document with PyYAML's own constructor, so every
result and every error stays PyYAML's.

:func:`build_events` builds the same values from the parser's events, with no node graph at all:
the graph of a 140 MB List is many times the size of its values. It declines what :func:`build`
declines, and what the composer judges (anchors it would refuse, deep nesting); the caller then
composes that one document and goes through :func:`build`.
"""

from __future__ import annotations

from typing import Any

import attrs
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


#: Deeper documents are left to the composer, which says where it gives up ("nested too deeply");
#: no Kubernetes object comes near this depth.
MAX_EVENT_DEPTH = 100


#: Where a node's text is: its start and end index, and its first line and column (from 0).
Span = tuple[int, int, int, int]


def span_of(start: yaml.Mark, end: yaml.Mark, shift: int = 0) -> Span:
    """The span between a node's two marks; ``shift`` is added to their indexes."""
    return start.index + shift, end.index + shift, start.line, start.column


@attrs.frozen
class Built:
    """A document built from events: its value, where its root node's text is, and, when it is a
    mapping with an ``items`` list, where each item's text is (ints: marks are large objects)."""

    value: Any
    span: Span
    items: list[Span] | None


_NO_KEY = object()


class _Open:
    """A mapping or list being built from events: for a mapping, the key waiting for its value."""

    __slots__ = ("anchor", "container", "items", "key", "start")

    def __init__(self, container: dict[Any, Any] | list[Any], start: Any, anchor: str | None) -> None:
        self.container, self.start, self.anchor = container, start, anchor
        self.key: Any = _NO_KEY
        self.items: list[Span] | None = None  # where its elements are, for a List's items


#: How many distinct plain scalars a file's :func:`build_events` calls remember with their values:
#: keys and many values repeat (``name``, ``true``, ``TCP``), and each is then resolved and
#: constructed once, and stored once.
PLAIN_CACHE_SIZE = 1 << 16


def build_events(loader: Any, plain: dict[str, Any] | None = None) -> Built:
    """The next document of ``loader`` (its ``DocumentStartEvent`` already taken) built as
    :func:`build` builds it from the composed node, but from the parser's events: a node graph is
    many times the size of the values, and it would be garbage as soon as they are built.

    Raises :class:`NotPlain` where :func:`build` would, and where the composer has a say (an
    undefined or repeated anchor, nesting deeper than :data:`MAX_EVENT_DEPTH`): the caller then
    composes the document. Scanner and parser errors are PyYAML's own. ``plain``: the plain scalars
    already read (in earlier documents of the file) and their values, immutable; filled as it goes.
    """
    plain = {} if plain is None else plain
    get_event, resolve = loader.get_event, loader.resolve
    ScalarEvent, AliasEvent, ScalarNode = yaml.ScalarEvent, yaml.AliasEvent, yaml.ScalarNode
    MappingStartEvent, SequenceStartEvent = yaml.MappingStartEvent, yaml.SequenceStartEvent
    MappingEndEvent, SequenceEndEvent = yaml.MappingEndEvent, yaml.SequenceEndEvent
    anchors: dict[str, list[Any]] = {}  # anchor -> [value, start mark, end mark (None while open)]
    stack: list[_Open] = []
    items: _Open | None = None  # the root mapping's first `items` list
    while True:
        event = get_event()
        kind = type(event)
        if kind is ScalarEvent:
            value = event.value
            if event.tag is None and event.implicit[0]:  # plain: its value depends on its text alone
                known = plain.get(value, _NO_KEY)
                if known is _NO_KEY:
                    known = _scalar(loader, resolve(ScalarNode, value, event.implicit), event)
                    if len(plain) < PLAIN_CACHE_SIZE:
                        plain[value] = known
                value = known
            else:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(ScalarNode, value, event.implicit) if event.implicit[0] else _STR
                if tag != _STR:
                    value = _scalar(loader, tag, event)
            start, end = event.start_mark, event.end_mark
            if event.anchor is not None:
                _add_anchor(anchors, event.anchor, [value, start, end])
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            mapping = kind is MappingStartEvent
            if event.tag not in (None, "!", _MAP if mapping else _SEQ):
                raise NotPlain(event.tag)
            if len(stack) >= MAX_EVENT_DEPTH:
                raise NotPlain("deeper than MAX_EVENT_DEPTH")
            opened = _Open({} if mapping else [], event.start_mark, event.anchor)
            if event.anchor is not None:
                _add_anchor(anchors, event.anchor, [opened.container, event.start_mark, None])
            if len(stack) == 1 and not mapping and items is None and stack[0].key == "items":
                items = opened  # the first `items` key, as a lookup by key finds it
                items.items = []
            stack.append(opened)
            continue
        elif kind is AliasEvent:
            if event.anchor not in anchors:
                raise NotPlain("undefined alias")
            value, start, end = anchors[event.anchor]
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            closed = stack.pop()
            value, start, end = closed.container, closed.start, event.end_mark
            if closed.anchor is not None:
                anchors[closed.anchor][2] = end
        else:  # pragma: no cover - the parser closes the root before the document ends
            raise NotPlain(kind.__name__)
        if not stack:
            if type(get_event()) is not yaml.DocumentEndEvent:  # pragma: no cover - one root per document
                raise NotPlain("more than one root")
            marks = None
            if items is not None and type(value) is dict and value.get("items") is items.container:
                marks = items.items  # None if an element was an alias inside its own anchor
            return Built(value, span_of(start, end), marks)
        parent = stack[-1]
        container = parent.container
        if type(container) is list:
            container.append(value)
            if parent.items is not None:
                if end is None:  # an alias inside its own anchor's list: no span of its own
                    parent.items = None
                else:
                    parent.items.append(span_of(start, end))
        elif parent.key is _NO_KEY:
            if type(value) in (dict, list):
                raise NotPlain("unhashable key")
            parent.key = value
        else:
            container[parent.key] = value
            parent.key = _NO_KEY


def _scalar(loader: Any, tag: str, event: yaml.ScalarEvent) -> Any:
    """The value of a scalar of this tag, as PyYAML's constructor gives it."""
    if tag == _STR:
        return event.value
    if tag not in _SCALAR_TAGS:
        raise NotPlain(tag)
    try:
        return loader.yaml_constructors[tag](
            loader, yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        )
    except Exception as exc:  # a bad timestamp or base64: PyYAML's constructor says so
        raise NotPlain(tag) from exc


def _add_anchor(anchors: dict[str, list[Any]], anchor: str, entry: list[Any]) -> None:
    if anchor in anchors:  # the composer's to judge (PyYAML allows it, with the later one winning)
        raise NotPlain("repeated anchor")
    anchors[anchor] = entry


def unreadable_scalar(loader: Any, node: yaml.Node) -> yaml.constructor.ConstructorError:
    """The error for the first scalar under ``node`` that its explicit tag's PyYAML constructor
    cannot read and fails on (``!!timestamp nope``, ``!!bool maybe``), in go-yaml's words
    (``resolve``, resolve.go: "cannot decode !!str `nope` as a !!timestamp")."""
    pending, seen = [node], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                loader.yaml_constructors.get(node.tag, lambda *_: None)(loader, node)
            except (AttributeError, KeyError, TypeError):
                short = node.tag.replace("tag:yaml.org,2002:", "!!")
                return yaml.constructor.ConstructorError(
                    None, None, f"cannot decode !!str `{node.value}` as a {short}", node.start_mark
                )
            except Exception:  # an error PyYAML reports itself (a YAMLError, a ValueError)
                pass
        elif isinstance(node, yaml.MappingNode):
            pending.extend(n for pair in reversed(node.value) for n in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(reversed(node.value))
    return yaml.constructor.ConstructorError(None, None, "a value PyYAML cannot read", node.start_mark)
