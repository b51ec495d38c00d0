"""Reading manifest files into plain objects, each with a way to find the line of any of its fields.

YAML files are read by :mod:`kverify.load.yaml_docs`, imported when the first one is read (reading
JSON never imports PyYAML). JSON files may be hundreds of megabytes, so they are parsed by
the C JSON scanner, one top-level value (and one ``items`` element) at a time; only each object's
start offset is kept, and the line of a field inside it is found on demand by re-scanning that one
object (:class:`JsonLocator`).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import attrs

from kverify.errors import Problem, one_line
from kverify.load.fields import Path
from kverify.load.prefetch import BLOCK, DEFAULT_MAX_INPUT_BYTES, is_prefetching, read_up_to, take_prefetched

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

#: orjson (optional, kverify[fast]: reads the items of big JSON Lists faster, see _json_items_fast),
#: imported when the first JSON file is read (YAML-only runs never pay for it); None when not installed.
orjson: Any = ...


def _orjson() -> Any:
    global orjson  # the module, imported once, on first use
    if orjson is ...:
        try:
            orjson = importlib.import_module("orjson")
        except ImportError:  # pragma: no cover - depends on the environment
            orjson = None
    return orjson


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # (text, index) -> (value, end); raises StopIteration


class JsonLocator:
    """Lines of fields inside one JSON value that starts at ``offset`` (on line ``line``) of ``text``."""

    __slots__ = ("line", "offset", "text")

    def __init__(self, text: str, offset: int, line: int) -> None:
        self.text, self.offset, self.line = text, offset, line

    def __call__(self, path: Path) -> int:
        text, pos = self.text, self.offset
        found = pos
        try:
            for part in path:
                found_here, pos = _child(text, pos, part)
                if found_here < 0:
                    break
                found = found_here
        except (StopIteration, IndexError):  # pragma: no cover - text was valid JSON
            pass
        return self.line + text.count("\n", self.offset, found)


def _child(text: str, pos: int, part: str | int) -> tuple[int, int]:
    """Where the key (mapping) or element (list) ``part`` of the value at ``pos`` starts, and where
    its value starts; ``(-1, -1)`` if there is no such child."""
    opener = text[pos]
    if (opener == "{") != isinstance(part, str) or opener not in "{[":
        return -1, -1
    closer = "}" if opener == "{" else "]"
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    index = 0
    while text[pos] != closer:
        start = pos
        if opener == "{":
            key, pos = _SCAN(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # past ':'
            if key == part:
                return start, pos
        elif index == part:
            return start, start
        _, pos = _SCAN(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        index += 1
    return -1, -1


@attrs.frozen
class RawDoc:
    """One top-level document: its data, its start line, and its ``items`` as (data, line, locator)."""

    data: Any
    line: int
    locate: Any  # Callable[[Path], int]
    items: tuple[tuple[Any, int, Any], ...] | None = None  # filled when the document is a list


#: The file name that means standard input, as in ``kubectl apply -f -``.
STDIN = "-"


def expand(paths: list[str], problems: list[Problem]) -> list[str]:
    """Files named, with directories replaced by their manifest files, recursively (as
    ``kubectl apply -R``; hidden directories such as ``.git`` are left out). ``-`` stays: stdin."""
    files: list[str] = []
    for path in paths:
        if path == STDIN:
            files.append(path)
        elif os.path.isdir(path):
            found = sorted(_walk(path))
            if not found:
                problems.append(Problem("directory has no .yaml, .yml or .json files", path))
            files.extend(found)
        elif not os.path.exists(path):
            problems.append(Problem("no such file or directory", path))
        else:
            files.append(path)
    return files


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(MANIFEST_SUFFIXES):
                yield os.path.join(root, name)


_stdin_read: list[tuple[object, bytes]] = []


#: The input limit in force (a context variable, so that the CLI flag reaches spec files and
#: manifests alike without threading a parameter through every loader).
max_input_bytes: ContextVar[int] = ContextVar("max_input_bytes", default=DEFAULT_MAX_INPUT_BYTES)


def read_bytes(file: str, problems: list[Problem]) -> bytes | None:
    """The content of a regular file within the size limit; anything else is a problem.

    The file is opened non-blocking and checked before any read: a FIFO would block forever and a
    device such as ``/dev/zero`` never ends. Standard input (``-``) is read once and kept (a spec and
    the manifests may both be looked at), within the same limit. A file whose read was begun before
    (:mod:`kverify.load.prefetch`) is taken from there.
    """
    if file == STDIN:
        return _read_stdin(file, problems)
    limit = max_input_bytes.get()
    prefetched = take_prefetched(file)
    if prefetched is not None and len(prefetched) <= limit:  # else a lower limit since: read (and refuse) it here
        return prefetched
    return _read_regular(file, problems, limit)


def _read_regular(file: str, problems: list[Problem], limit: int) -> bytes | None:
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        problems.append(Problem(exc.strerror or str(exc), file))
        return None
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(Problem(f"not a regular file ({_file_type(info.st_mode)}): kverify reads only files", file))
            return None
        try:
            raw = read_up_to(handle, limit + 1, info.st_size + 1) if info.st_size <= limit else b""
        except OSError as exc:
            problems.append(Problem(exc.strerror or str(exc), file))
            return None
        except MemoryError:
            problems.append(Problem(f"not enough memory to read {info.st_size / 1e6:.1f} MB", file))
            return None
        if info.st_size > limit or len(raw) > limit:
            problems.append(_too_big(file, max(info.st_size, len(raw))))
            return None
    return raw


def _read_stdin(file: str, problems: list[Problem]) -> bytes | None:
    import sys

    if not _stdin_read or _stdin_read[0][0] is not sys.stdin:
        _stdin_read[:] = [(sys.stdin, read_up_to(sys.stdin.buffer, max_input_bytes.get() + 1, BLOCK))]
    raw = _stdin_read[0][1]
    if len(raw) > max_input_bytes.get():
        problems.append(_too_big(file, len(raw)))
        return None
    return raw


def _too_big(file: str, size: int) -> Problem:
    limit = max_input_bytes.get()
    return Problem(
        f"file is {size / 1e6:.1f} MB, larger than the input limit of {limit / 1e6:g} MB "
        "(raise it with --max-input-size MB)",
        file,
    )


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_file(file: str, problems: list[Problem], *, typed_slices: bool = False) -> list[RawDoc]:
    """The documents of one file; unreadable or unparsable input becomes a problem.

    With ``typed_slices`` (the manifest loader), the plain IPv4 EndpointSlices of a JSON List hold
    their entries as :class:`~kverify.load.slice_columns.TypedEntries` (read by
    :func:`~kverify.load.kinds.slice_from`) where every other value is plain data."""
    # The reader of the file's kind first (msgspec or PyYAML: 10-20 ms of imports), then the bytes: a big
    # file's read may still be under way in the prefetch thread (kverify.load.prefetch): the imports are then free.
    read_list = _json_list_reader() if file.endswith(".json") else None
    if file.endswith((".yaml", ".yml")) and is_prefetching(file):
        from kverify.load import yaml_docs  # noqa: F401 - imported for the YAML reader below
    raw = read_bytes(file, problems)
    if raw is None:
        return []
    if file == STDIN and _JSON_OBJECT_START.match(raw):
        read_list = _json_list_reader()
    if read_list is not None:
        doc = read_list(raw, typed_slices=typed_slices)
        if doc is not None:  # a List as kubectl writes it: read from the bytes (kverify.load.json_list)
            return [doc]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.append(Problem(f"invalid UTF-8 (byte {exc.start})", file, line))
        return []
    del raw  # the text is a copy: do not hold a second one while the documents are built
    if file.endswith(".json") or (file == STDIN and text.lstrip()[:1] in ("{", "[")):
        return list(_json_docs(text, file, problems))
    from kverify.load.yaml_docs import _yaml_docs  # not at the top: JSON input never pays for PyYAML

    return list(_yaml_docs(text, file, problems))


#: A BOM, whitespace and the ``{`` that opens a JSON object: standard input that may be a List.
_JSON_OBJECT_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\n\r]*\{")

#: :func:`kverify.load.json_list.read_list`, imported when the first JSON file is read (it imports
#: msgspec); None when msgspec is not installed (the careful reader reads every file then).
_read_list: Any = ...


def _json_list_reader() -> Any:
    global _read_list  # the function, imported once, on first use
    if _read_list is ...:
        try:
            _read_list = importlib.import_module("kverify.load.json_list").read_list
        except ImportError:  # pragma: no cover - msgspec is a dependency; a broken install reads slower
            _read_list = None
    return _read_list


#: Python refuses to convert integers of more than 4,300 digits (CVE-2020-10735); find the line.
_HUGE_INT = re.compile(r"[0-9]{4300}")
TOO_DEEP = "nested too deeply"


def _beyond_parser(exc: Exception, text: str, kind: str, file: str, line: int | None) -> Problem:
    """A problem for an input the parser gives up on for Python's own limits (not a syntax error)."""
    if isinstance(exc, RecursionError):
        return Problem(f"invalid {kind}: {TOO_DEEP}", file, line)
    if (huge := _HUGE_INT.search(text)) is not None:
        where = text.count("\n", 0, huge.start()) + 1
        return Problem(f"invalid {kind}: a number has more than 4300 digits", file, where)
    return Problem(f"invalid {kind}: {one_line(str(exc), 200)}", file, line)


def _json_docs(text: str, file: str, problems: list[Problem]) -> Iterator[RawDoc]:
    """Top-level JSON values one after another (kubectl accepts a stream of them). With orjson
    installed, the items of Lists laid out for it are read by orjson (:func:`_json_items_fast`)."""
    fast = _orjson() is not None and not _has_long_number(text)
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    line = 1 + text.count("\n", 0, pos)
    while pos < len(text):
        try:
            if text[pos] == "{":
                data, end, items = _json_object(text, pos, line, fast=fast)
            else:
                (data, end), items = _SCAN(text, pos), None
        except (StopIteration, IndexError, ValueError, RecursionError):
            try:  # the fast path failed: let the decoder say where and why
                data, end = _DECODER.raw_decode(text, pos)
                items = None
            except json.JSONDecodeError as exc:
                problems.append(Problem(f"invalid JSON: {exc.msg} (column {exc.colno})", file, exc.lineno))
                return
            except (RecursionError, ValueError) as exc:
                problems.append(_beyond_parser(exc, text, "JSON", file, line))
                return
        yield RawDoc(data, line, JsonLocator(text, pos, line), items)
        nxt = _WS.match(text, end).end()  # type: ignore[union-attr]
        line += text.count("\n", pos, nxt)
        pos = nxt


def _json_object(
    text: str, pos: int, line: int, *, fast: bool = False
) -> tuple[dict[str, Any], int, tuple[Any, ...] | None]:
    """Scan the object at ``pos`` key by key, noting where each element of ``items`` starts."""
    ws = _WS.match
    obj: dict[str, Any] = {}
    items = None
    start = pos
    pos = ws(text, pos + 1).end()  # type: ignore[union-attr]
    while text[pos] != "}":
        if text[pos] != '"':
            raise ValueError("expected a key")
        key, pos = _SCAN(text, pos)
        pos = ws(text, pos).end()  # type: ignore[union-attr]
        if text[pos] != ":":
            raise ValueError("expected ':'")
        pos = ws(text, pos + 1).end()  # type: ignore[union-attr]
        if key == "items" and text[pos] == "[":
            items_line = line + text.count("\n", start, pos)
            read = (_json_items_fast(text, pos, items_line) if fast else None) or _json_items(text, pos, items_line)
            obj[key], pos, items = read
        else:
            obj[key], pos = _SCAN(text, pos)
        pos = ws(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = ws(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos] == "}":  # a trailing comma: invalid JSON, as the json module says below
                raise ValueError("expected a key")
        elif text[pos] != "}":
            raise ValueError("expected ',' or '}'")
    return obj, pos + 1, items


def _json_items(text: str, pos: int, line: int) -> tuple[list[Any], int, tuple[Any, ...]]:
    ws = _WS.match
    count = text.count
    values: list[Any] = []
    located: list[tuple[Any, int, JsonLocator]] = []
    start = pos
    pos = ws(text, pos + 1).end()  # type: ignore[union-attr]
    while text[pos] != "]":
        line += count("\n", start, pos)
        start = pos
        value, pos = _SCAN(text, pos)
        values.append(value)
        located.append((value, line, JsonLocator(text, start, line)))
        pos = ws(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = ws(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos] == "]":  # a trailing comma: invalid JSON, as the json module says below
                raise ValueError("expected a value")
        elif text[pos] != "]":
            raise ValueError("expected ',' or ']'")
    return values, pos + 1, tuple(located)


#: Every digit as "0": a run of 19 zeros in the translated text is a run of 19 digits in the file.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_NUMBER = b"0" * 19
#: Characters checked at a time: the copies the check makes stay small beside a file of 200 MB.
_GUARD_BLOCK = 1 << 20


def _has_long_number(text: str) -> bool:
    """Whether the text has 19 digits in a row anywhere (in a string or not): orjson reads an integer
    beyond 64 bits as a float where the json module keeps it exact, so such a file is read by the json
    module alone. C passes (encode, translate, find) over blocks that overlap by 18 characters, so a
    run across two blocks is seen: a few hundredths of a second per 30 MB."""
    step = _GUARD_BLOCK
    for start in range(0, len(text), step):
        block = text[max(0, start - 18) : start + step].encode("utf-8", "surrogatepass")
        if _LONG_NUMBER in block.translate(_DIGITS_AS_ZERO):
            return True
    return False


def _json_items_fast(text: str, pos: int, line: int) -> tuple[list[Any], int, tuple[Any, ...]] | None:
    """The ``items`` array at ``pos`` as :func:`_json_items` reads it, each element parsed by orjson;
    ``None`` when the elements are not laid out one per line (then :func:`_json_items` reads them).

    ``kubectl get -o json`` writes each element of ``items`` on its own line, at one indentation: a
    comma, a line break, that indentation and ``{`` separate two elements. The text from an element's
    start to the next such separator is handed to orjson; when orjson parses it as one complete value,
    that value *is* the element starting there (a JSON value is read deterministically from its first
    character, and orjson allows nothing after it but whitespace), so the next element starts after
    the separator. A separator inside an element (one of its nested objects at the same indentation)
    leaves a text that is no complete value: orjson refuses it and the json module's scanner reads
    that element, as it reads the last one (which no separator follows) and any value orjson refuses
    (NaN, Infinity, lone surrogates, floats beyond double range: the json module's values are kept).
    """
    assert orjson is not None  # callers pass fast=True only when it is installed
    first = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    newline = text.rfind("\n", pos, first)
    if newline < 0 or text[first] != "{":
        return None  # not one element per line (compact JSON), or an empty list
    next_line = text[newline:first] + "{"  # a line break, the indentation, "{": found by str.find at C speed
    loads, refused, count, find = orjson.loads, orjson.JSONDecodeError, text.count, text.find
    values: list[Any] = []
    located: list[tuple[Any, int, JsonLocator]] = []
    line += count("\n", pos, first)
    start = first
    while True:
        found = find(next_line, start)
        while found >= 0:
            comma = found
            while text[comma - 1] in " \t\r\n":  # the whitespace before the line break, usually none
                comma -= 1
            comma -= 1
            if text[comma] == ",":  # a separator, unless inside the element: then orjson refuses the text
                try:
                    value = loads(text[start:comma])
                except refused:
                    break  # not one element: the scanner below reads the element at start
                values.append(value)
                located.append((value, line, JsonLocator(text, start, line)))
                after = found + len(next_line) - 1
                line += count("\n", start, after)
                start = after
            found = find(next_line, found + 1)
        value, end = _SCAN(text, start)  # raises on invalid JSON: the caller lets the decoder say why
        values.append(value)
        located.append((value, line, JsonLocator(text, start, line)))
        end = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text[end] == "]":
            return values, end + 1, tuple(located)
        if text[end] != ",":
            raise ValueError("expected ',' or ']'")
        after = _WS.match(text, end + 1).end()  # type: ignore[union-attr]
        line += count("\n", start, after)
        start = after


#: What moved to :mod:`kverify.load.yaml_docs`, still importable from here (PEP 562: imported on first use).
_IN_YAML_DOCS = ("_Loader", "_yaml_docs", "yaml_problem")


def __getattr__(name: str) -> Any:
    if name in _IN_YAML_DOCS:
        from kverify.load import yaml_docs

        return getattr(yaml_docs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
