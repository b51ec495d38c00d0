"""Lines of fields in a YAML file, found again only when asked for.

A composed YAML node graph is many times the size of the values built from it: every node, and
each of its two marks, is a Python object. Kept alive for the whole load, the graph of a 140 MB
``kubectl get -o yaml`` List took 6 GB. So the loader keeps no nodes: each object keeps where its
text starts and ends (:class:`YamlLocator`), and the line of one of its fields is found, when an
error or a finding has to name it, by composing that span of text again. The node composed last is
kept (:class:`YamlText`), so several lookups in one object compose it once.
"""

from __future__ import annotations

import yaml

from kverify.load.fields import Path
from kverify.load.yaml_build import Span

#: Composes without resolving tags: a line needs only the node graph's shape and marks.
_Composer: type = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def line_in_node(node: yaml.Node, path: Path) -> int:
    """The line (from 1) of ``path`` under ``node``: of the key for a mapping field, of the element
    for a list index; a path that goes further than the document stops at its deepest existing part."""
    line = node.start_mark.line
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    child, line = value, key.start_mark.line
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return line + 1


def _compose(text: str) -> yaml.Node | None:
    """The one node of ``text``, or ``None`` if it is no YAML document by itself."""
    loader = _Composer(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return]
    except Exception:
        return None
    finally:
        loader.dispose()


class YamlText:
    """One file's YAML text, shared by the locators of its objects, and the node composed last."""

    __slots__ = ("_key", "_node", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._key: tuple[int, int] | None = None
        self._node: yaml.Node | None = None

    def span(self, start: int, end: int, column: int) -> yaml.Node | None:
        """The node whose text is ``text[start:end]`` and starts at ``column``, composed alone: the
        same lines as in the whole document (the first line keeps its indentation), or ``None`` when
        the span does not compose alone (it uses an anchor or ``%TAG`` handle defined outside it)."""
        if self._key != (start, end):
            self._key, self._node = (start, end), _compose(" " * column + self.text[start:end])
        return self._node

    def document(self, index: int) -> yaml.Node:
        """The root node of document ``index`` (from 0), composing the file up to it."""
        if self._key != (-1, index):
            self._key, self._node = (-1, index), None  # drop the cached node before composing
            loader = _Composer(self.text)
            try:
                for _ in range(index + 1):
                    loader.check_node()  # libyaml's get_node needs it first (else aliases fail)
                    node = loader.get_node()
            finally:
                loader.dispose()
            self._node = node
        return self._node  # type: ignore[return-value]


class YamlLocator:
    """Lines of fields inside one YAML node: the document ``document`` of ``source`` (from 0) or,
    when ``item`` is not negative, that document's ``items[item]``, whose text is at ``span``."""

    __slots__ = ("document", "item", "source", "span")

    def __init__(self, source: YamlText, span: Span, document: int, item: int = -1) -> None:
        self.source, self.document, self.item = source, document, item
        self.span: Span | None = span

    def __call__(self, path: Path) -> int:
        if self.span is not None:
            start, end, line, column = self.span
            node = self.source.span(start, end, column)
            if node is not None:
                return line + line_in_node(node, path)
            self.span = None  # it does not compose alone: use the whole document (cached) from now on
        root = self.source.document(self.document)  # the whole document: slow, but only for the rare span
        return line_in_node(root, path if self.item < 0 else ("items", self.item, *path))


def document_text(text: str, start: yaml.Mark, end: int) -> tuple[str, int]:
    """The document of ``text`` that starts at ``start`` (its directives or ``---``) and ends at
    index ``end``, alone, with its lines and columns where they are in ``text``, and what to add to
    an index in it to find it in ``text``."""
    padding = "\n" * start.line + " " * start.column
    return padding + text[start.index : end], start.index - len(padding)
