"""Reading YAML manifests into :class:`~kverify.load.sources.RawDoc` values (for ``read_file``).

Documents are built from libyaml's events, without composing nodes
(:func:`~kverify.load.yaml_build.build_events`), and no node is kept: only where each object's
text starts and ends, to compose that span again if the line of a field is asked for
(:mod:`kverify.load.yaml_locate`). A module of its own so that reading JSON never imports PyYAML
(~30 ms at start-up, with this module's loader set-up).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from kverify.errors import Problem, one_line
from kverify.load.sources import RawDoc, _beyond_parser
from kverify.load.yaml_build import NotPlain, build, build_events, span_of, unreadable_scalar
from kverify.load.yaml_locate import YamlLocator, YamlText, document_text

try:  # libyaml is ~10x faster; its nodes carry the same marks.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader, reading plain scalars as Kubernetes (go-yaml) does where the two differ.

    YAML 1.1 resolves a bare ``=`` to its "value" type, which PyYAML cannot construct; go-yaml, behind
    ``kubectl`` and the API server, has no such type and reads the string "=" (kube-prometheus's
    AlertmanagerConfig CRD lists it in an ``enum``)."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))

#: The implicit resolvers to try for a plain scalar, by its first character (PyYAML's table, with
#: the wildcard resolvers appended as ``Resolver.resolve`` does on every call).
_PLAIN_RESOLVERS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(resolvers + _Loader.yaml_implicit_resolvers.get(None, []))
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
    if first is not None
}
_WILDCARD_RESOLVERS = tuple(_Loader.yaml_implicit_resolvers.get(None, []))


def _resolve(_loader: object, kind: type, value: str | None, implicit: Any) -> str:
    """The tag of a node, as ``BaseResolver.resolve`` finds it for a loader without path resolvers.

    libyaml's composer calls this once per node: PyYAML's version builds a list on every call and
    took a third of the composition time of a large manifest."""
    if kind is yaml.ScalarNode:
        if implicit[0]:
            for tag, regexp in _PLAIN_RESOLVERS.get(value[:1], _WILDCARD_RESOLVERS):  # type: ignore[index]
                if regexp.match(value):  # type: ignore[arg-type]
                    return tag
        return _Loader.DEFAULT_SCALAR_TAG  # type: ignore[no-any-return]
    if kind is yaml.SequenceNode:
        return _Loader.DEFAULT_SEQUENCE_TAG  # type: ignore[no-any-return]
    return _Loader.DEFAULT_MAPPING_TAG  # type: ignore[no-any-return]


if not _Loader.yaml_path_resolvers:  # always so for the safe loaders; path resolvers need PyYAML's own
    _Loader.resolve = _resolve


def yaml_problem(exc: Exception, text: str, file: str) -> Problem:
    """The one-line problem for an error PyYAML (or Python's limits) raised reading ``text``."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML forbids: say which, and where
        pos = _reader_position(exc.position, text)
        line = text.count("\n", 0, pos) + 1
        at = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = one_line(chr(exc.character)) if isinstance(exc.character, int) else repr(exc.character)
        return Problem(f"invalid YAML: {exc.reason}: {char} (column {at})", file, line)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "syntax error"
        column = f" (column {mark.column + 1})" if mark else ""
        context = ""
        if exc.context and exc.problem and exc.context_mark:
            # The parser notices the problem where it gives up; say where the construct began too.
            start = exc.context_mark
            context = f", {exc.context} that starts at line {start.line + 1}, column {start.column + 1}"
        where = mark.line + 1 if mark else None
        return Problem(f"invalid YAML: {what}{column}{context}{_template_hint(text)}", file, where)
    if isinstance(exc, yaml.YAMLError):
        return Problem(f"invalid YAML: {one_line(str(exc), 200)}{_template_hint(text)}", file)
    return _beyond_parser(exc, text, "YAML", file, None)


def _reader_position(position: int, text: str) -> int:
    """The character index in ``text`` of a reader error's ``position``. PyYAML's own reader counts
    characters; libyaml reports ``problem_offset``, a byte offset into the UTF-8 it was given (its
    reader.c ``yaml_parser_update_buffer`` sets it from ``parser->offset``, which advances by each
    character's width), so every multi-byte character before the error moved it on."""
    if _BaseLoader is yaml.SafeLoader:
        return position
    return len(text.encode(errors="surrogatepass")[:position].decode(errors="ignore"))


#: Go template actions, as in a Helm chart's templates/: ``{{ .Values.x }}``, ``{{- include ... }}``.
_GO_TEMPLATE = re.compile(r"\{\{-?\s*[-.$/a-zA-Z(\"]")


def _template_hint(text: str) -> str:
    """What to do when the YAML that failed to parse is a Go template (a chart's templates/), else ""."""
    if _GO_TEMPLATE.search(text) is None:
        return ""
    return (
        "; this is a Go template (a Helm chart's templates/?): render it first, "
        "e.g. helm template NAME CHART | kverify check -"
    )


def _yaml_docs(text: str, file: str, problems: list[Problem]) -> Iterator[RawDoc]:
    loader = _Loader(text)
    source = YamlText(text)
    document = -1
    plain: dict[str, Any] = {}
    try:
        loader.get_event()  # StreamStartEvent
        while not loader.check_event(yaml.StreamEndEvent):
            begins = loader.get_event().start_mark  # DocumentStartEvent: where its directives or `---` are
            document += 1
            try:
                built = build_events(loader, plain)
            except NotPlain:  # merge keys, tags, anchors the composer judges: the document composed again
                yield _composed_again(text, begins, _document_end(loader, text), source, document)
                continue
            items = None
            if built.items is not None:
                items = tuple(
                    (item, span[2] + 1, YamlLocator(source, span, document, k))
                    for k, (item, span) in enumerate(zip(built.value["items"], built.items, strict=True))
                )
            yield RawDoc(built.value, built.span[2] + 1, YamlLocator(source, built.span, document), items)
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        problems.append(yaml_problem(exc, text, file))
    finally:
        loader.dispose()


def _document_end(loader: Any, text: str) -> int:
    """Where the document under way ends, its remaining events skipped. If they hold an error, the
    composer would have met it no sooner: the document is then composed to the end of the text,
    for the composer to raise the error it meets first."""
    try:
        event = loader.get_event()
        while type(event) is not yaml.DocumentEndEvent:
            event = loader.get_event()
    except yaml.YAMLError:
        return len(text)
    return event.end_mark.index  # type: ignore[no-any-return]


def _composed_again(text: str, begins: yaml.Mark, end: int, source: YamlText, document: int) -> RawDoc:
    """The document from ``begins`` to ``end`` composed, and built (PyYAML's constructor where
    :func:`build` declines), as the loader built every document before it read events."""
    alone, shift = document_text(text, begins, end)
    loader = _Loader(alone)
    try:
        loader.check_node()
        node = loader.get_node()
        try:
            data = build(loader, node)
        except Exception:  # NotPlain, too deep, a bad scalar: PyYAML's constructor gives its value or error
            try:
                data = loader.construct_document(node)
            except (AttributeError, KeyError, TypeError) as exc:  # PyYAML fails on `!!timestamp nope`, `!!bool x`
                raise unreadable_scalar(loader, node) from exc
    except yaml.reader.ReaderError as exc:  # its position is in the document alone: move it into the file
        padding = begins.index - shift
        before = len(text[: begins.index].encode()) if _BaseLoader is not yaml.SafeLoader else begins.index
        exc.position += before - padding  # libyaml counts bytes, PyYAML's reader characters
        raise
    finally:
        loader.dispose()
    items = None
    if type(data) is dict and type(data.get("items")) is list and isinstance(node, yaml.MappingNode):
        seq = next((v for k, v in node.value if k.value == "items"), None)
        if isinstance(seq, yaml.SequenceNode) and len(seq.value) == len(data["items"]):
            items = tuple(
                (
                    item,
                    n.start_mark.line + 1,
                    YamlLocator(source, span_of(n.start_mark, n.end_mark, shift), document, k),
                )
                for k, (item, n) in enumerate(zip(data["items"], seq.value, strict=True))
            )
    return RawDoc(
        data,
        node.start_mark.line + 1,
        YamlLocator(source, span_of(node.start_mark, node.end_mark, shift), document),
        items,
    )
