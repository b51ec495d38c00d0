"""A JSON file that is one ``List`` object (``kubectl get -o json``) read by msgspec, from its bytes.

The careful reader (:func:`kverify.load.sources._json_docs`) decodes the whole file to text and scans it
with the json module; on a 200 MB snapshot that, and building every EndpointSlice entry as a dict,
took longer than parsing the file with the fastest parser (issue 11). Here:

- the ``items`` array is split into its elements by msgspec (``list[msgspec.Raw]``: the exact bytes
  of each element, validated, nothing built), so each element's offset and line are known exactly:
  it starts where the one before ended, past a comma and whitespace;
- each element is decoded once: as a :class:`~kverify.load.slice_typed.TypedSlice` if it is a plain
  IPv4 EndpointSlice (its entries checked by msgspec, in C), as a
  :class:`~kverify.load.service_structs.TypedService` or :class:`~kverify.load.node_structs.TypedNode`
  if it is a Service or Node of the types their typed readers take, else into the dicts the json
  module gives; the first ``kind`` key in the element picks the one typed decoder tried;
- the few members of the List object around ``items`` are read by the json module itself;
- on a big List, a forked worker decodes EndpointSlices from the end of ``items`` meanwhile and
  hands back compact records of them (:mod:`kverify.load.slice_worker`); what is read is the same.

msgspec accepts a subset of what the json module accepts (it refuses NaN, Infinity, numbers beyond
the double range, lone surrogates) and gives the same values on it, integers beyond 64 bits included
(``tests/test_json_list.py`` checks both on generated documents). Whatever it refuses, and any file
laid out otherwise (a stream of values, a top-level array, an escaped ``"items"`` key, a second
``items`` member), makes :func:`read_list` return ``None``: the careful reader then reads the file,
with its exact messages and lines. Invalid UTF-8, which msgspec does not look for in what it skips,
is checked first.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from typing import Any

import msgspec

from kverify.load.fields import Path
from kverify.load.node_structs import decode_node
from kverify.load.service_structs import decode_service
from kverify.load.slice_records import item_from_record, slice_record
from kverify.load.slice_typed import SliceDecoder, decode_slice
from kverify.load.slice_worker import SliceWorker, worker_wanted
from kverify.load.sources import JsonLocator, RawDoc

_WS = rb"[ \t\n\r]*"
_LEADING_WS = re.compile(_WS)
#: The ``items`` member's key, up to the ``[`` that opens its value.
_ITEMS_KEY = re.compile(rb'"items"' + _WS + b":" + _WS + rb"\[")
#: What separates two elements of an array msgspec has validated.
_BETWEEN = re.compile(_WS + b"," + _WS)
#: The members around ``items`` are a few short fields in a List; a file where they are not (or
#: where the ``items`` key or the end of its array is not found in a few tries) is left to the careful
#: reader, so that the search costs little whatever the file holds.
_AROUND_LIMIT = 1 << 16
_TRIES = 8
#: Frames of the recursion limit kept back while msgspec decodes (see :func:`read_list`).
_DEPTH_MARGIN = 50
#: The bytes checked as UTF-8 at a time: the copies stay small beside a file of 200 MB.
_UTF8_BLOCK = 1 << 22

_decode_raw_list = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_plain = msgspec.json.Decoder().decode
#: What follows the ``"kind"`` key of an element of a kind decoded typed, and that kind.
_TYPED_KIND = re.compile(_WS + b":" + _WS + rb'"(Service|Node|EndpointSlice)"')
_KIND_KEY = re.compile(rb'"kind"')


def _service_item(element: msgspec.Raw) -> dict[str, Any]:
    """A Service decoded typed (raises msgspec.DecodeError if it does not fit the structs)."""
    return decode_service(element).as_item(element)


def _node_item(element: msgspec.Raw) -> dict[str, Any]:
    """A Node decoded typed (raises msgspec.DecodeError if it does not fit the structs)."""
    return decode_node(element).as_item(element)


class BytesLocator:
    """Lines of fields inside one JSON value: ``raw[start:end]``, on line ``line`` of the file. The
    value's text is decoded only when a line is asked for (for a message)."""

    __slots__ = ("end", "line", "raw", "start")

    def __init__(self, raw: bytes, start: int, end: int, line: int) -> None:
        self.raw, self.start, self.end, self.line = raw, start, end, line

    def __call__(self, path: Path) -> int:
        text = self.raw[self.start : self.end].decode("utf-8")
        return JsonLocator(text, 0, self.line)(path)


def read_list(raw: bytes, *, typed_slices: bool = False) -> RawDoc | None:
    """The one document of ``raw`` (a file's bytes, a BOM allowed) if it is a JSON object holding an
    ``items`` array, as :func:`~kverify.load.sources._json_docs` reads it (with ``typed_slices``, a
    plain EndpointSlice's entries and a plain Service's fields as typed structs); ``None`` if the
    careful reader must read it (see the module)."""
    bom = 3 if raw.startswith(codecs.BOM_UTF8) else 0
    start = _LEADING_WS.match(raw, bom).end()  # type: ignore[union-attr]
    end = len(raw.rstrip(b" \t\n\r"))
    if raw[start : start + 1] != b"{" or raw[end - 1 : end] != b"}" or not _utf8(raw):
        return None
    limit = sys.getrecursionlimit()
    # Nesting too deep for the json module is refused by msgspec too: both count it against the
    # recursion limit, but the careful reader calls the json module from a few frames deeper.
    sys.setrecursionlimit(max(limit - _DEPTH_MARGIN, 100))
    try:
        found = _items_member(raw, start, end)
        if found is None:
            return None
        head, opens, closes, tail = found
        elements = _decode_raw_list(memoryview(raw)[opens : closes + 1])
        line = 1 + raw.count(b"\n", 0, start)
        items, located = _elements(raw, elements, opens, line + raw.count(b"\n", start, opens), typed_slices)
    except (msgspec.DecodeError, RecursionError):  # msgspec refuses what the json module may accept
        return None
    finally:
        sys.setrecursionlimit(limit)
    data = {**head, "items": items, **tail}  # a key in both keeps its first place and its last value, as in json
    return RawDoc(data, line, BytesLocator(raw, start, end, line), located)


def _utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8 (as ``bytes.decode`` judges it), a block at a time."""
    if raw.isascii():
        return True
    check = codecs.getincrementaldecoder("utf-8")().decode
    try:
        for at in range(0, len(raw), _UTF8_BLOCK):
            check(raw[at : at + _UTF8_BLOCK])
        check(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def _items_member(raw: bytes, start: int, end: int) -> tuple[dict[str, Any], int, int, dict[str, Any]] | None:
    """The members before ``items`` (as the json module reads them), where its array opens and
    closes, and the members after it; ``None`` if they cannot be found so."""
    key = _ITEMS_KEY.search(raw, start, min(end, start + _AROUND_LIMIT))
    for _ in range(_TRIES):
        if key is None:
            return None
        head = _members(raw[start : key.start()], before=True)
        if head is not None:
            break
        key = _ITEMS_KEY.search(raw, key.end(), min(end, start + _AROUND_LIMIT))
    else:
        return None
    if "items" in head:  # written with an escape: the member after it wins, which the careful reader handles
        return None
    opens = key.end() - 1
    closes = raw.rfind(b"]", opens, end)
    for _ in range(_TRIES):
        if closes < max(opens + 1, end - _AROUND_LIMIT):
            return None
        # The array closes at the last ']' after which the object's members continue validly: one
        # inside a member after it leaves unbalanced brackets. msgspec validates the choice: the
        # array that opens at `opens` is one value, which ends at one place only.
        tail = _members(raw[closes + 1 : end], before=False)
        if tail is not None:
            return (head, opens, closes, tail) if "items" not in tail else None
        closes = raw.rfind(b"]", opens, closes)
    return None


def _members(text: bytes, *, before: bool) -> dict[str, Any] | None:
    """The members of the List object in ``text``, read by the json module: before ``items``,
    ``text`` is ``{`` and members each followed by a comma; after it, members each preceded by a
    comma, and ``}``. ``None`` if ``text`` is not so."""
    body = text.strip(b" \t\n\r")
    if before:
        if body == b"{":
            return {}
        # A member between the brace and the comma: "{," (no member) is invalid JSON.
        if not body.endswith(b",") or body[1:-1].strip(b" \t\n\r") == b"":
            return None
        body = body[:-1] + b"}"
    else:
        if body == b"}":
            return {}
        # A member between the comma and the brace: ",}" (a trailing comma) is invalid JSON.
        if not body.startswith(b",") or not body[1:].lstrip(b" \t\n\r").startswith(b'"'):
            return None
        body = b"{" + body[1:]
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return value if type(value) is dict else None


def _elements(
    raw: bytes, elements: list[msgspec.Raw], opens: int, line: int, typed_slices: bool
) -> tuple[list[Any], tuple[tuple[Any, int, BytesLocator], ...]]:
    """Each element decoded (with ``typed_slices``, a plain EndpointSlice or Service typed), with its
    line and locator. Each element starts where the one before ends, past the comma and whitespace msgspec
    validated between them. On a big List, a worker process decodes the slices at its end meanwhile
    (:mod:`kverify.load.slice_worker`)."""
    values: list[Any] = []
    located: list[tuple[Any, int, BytesLocator]] = []
    count, between, find, kind_value = raw.count, _BETWEEN.match, raw.find, _TYPED_KIND.match
    slices = SliceDecoder()
    slice_item = slices.item
    typed_items = {b"Service": _service_item, b"Node": _node_item, b"EndpointSlice": slice_item}
    pos = _LEADING_WS.match(raw, opens + 1).end()  # type: ignore[union-attr]
    line += count(b"\n", opens, pos)
    worker = _start_worker(elements) if typed_slices and worker_wanted(len(raw) - pos) else None
    claim_at = 0 if worker is not None else len(elements)  # where this process claims its next chunk
    records: dict[int, Any] = {}  # the worker's, by element index, once this process stopped claiming
    try:
        for index, element in enumerate(elements):
            size = len(element)
            value: Any = None
            typed_item = made = None
            if typed_slices:
                if index >= claim_at:
                    claim_at, records = worker.claim(index)  # type: ignore[union-attr]
                # The first "kind" key of the element picks the one typed decoder to try (each checks the
                # kind itself: a wrong guess costs time, never a wrong value). kubectl writes an object's
                # keys sorted: a Service's or a Node's kind comes before its fields, a slice's after its
                # endpoints (whose targetRefs have kinds), so an element whose first kind is no typed kind
                # may still be a slice. An element a typed decoder refuses is decoded as dicts.
                at = find(b'"kind"', pos, pos + size)
                guess = kind_value(raw, at + 6, pos + size) if at >= 0 else None
                typed_item = typed_items[guess[1]] if guess is not None else slice_item
                if typed_item is slice_item and (made := records.pop(index, None)) is not None:
                    newlines, record = made
                    value = item_from_record(record, element)
                if value is None:
                    try:
                        value = typed_item(element)
                    except msgspec.DecodeError:  # not of the types the typed readers take
                        value = None
            if value is None:  # the dicts the json module gives, for the loaders
                value = _decode_plain(element)
            if typed_slices and typed_item is not slice_item:
                slices.passed(value)
            values.append(value)
            located.append((value, line, BytesLocator(raw, pos, pos + size, line)))
            after = pos + size
            if (gap := between(raw, after)) is not None:
                pos = gap.end()
                # The element's lines, counted by the worker if it made the element's record.
                line += count(b"\n", after, pos) + newlines if made is not None else count(b"\n", after - size, pos)
    finally:
        if worker is not None:
            worker.close()
    return values, tuple(located)


def _start_worker(elements: list[msgspec.Raw]) -> SliceWorker | None:
    """A worker making records of the plain slices among ``elements`` (see
    :mod:`kverify.load.slice_worker`), each with the count of line breaks in the slice's text. It
    decodes node names as plain strings: the records carry them as text, and a string is decoded
    faster than it is matched against thousands of names."""

    def record_of(index: int) -> Any:
        element = elements[index]
        view = memoryview(element)  # the guess of the reading loop above, on the element's own bytes
        key = _KIND_KEY.search(view)
        guess = _TYPED_KIND.match(view, key.end()) if key is not None else None
        if guess is not None and guess[1] != b"EndpointSlice":  # a Node or Service: decoded by the reader
            return None
        try:
            record = slice_record(decode_slice(element))
        except msgspec.DecodeError:
            return None
        return None if record is None else (bytes(view).count(b"\n"), record)

    return SliceWorker.start(len(elements), record_of)
