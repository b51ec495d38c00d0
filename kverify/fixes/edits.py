"""Small edits to the user's own YAML text, shown as unified diffs.

kverify never rewrites a manifest through a YAML library (comments, order and quoting would be lost
and the patch would touch every line). An edit finds the object's document by the line the loader
recorded, then one field at the indentation of its parent mapping, and replaces, inserts or deletes
that line (and a deleted field's block). Where the text does not have the expected shape (a JSON
list, flow style), the edit says so and the fix is shown without a patch.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable, Mapping

import attrs


class EditError(Exception):
    """The text does not have the shape an edit needs."""


@attrs.frozen
class TextEdit:
    """A change to one object of a file: ``apply`` takes the text of the YAML document that holds the
    object and the object's line in that text (1-based), and returns the document's new text (or
    raises :class:`EditError`). Only the document is handed over, so that a fix to one object of a
    file of thousands costs the size of its document, not of the file."""

    file: str
    line: int
    apply: Callable[[str, int], str] = attrs.field(eq=False)


#: Lines of context around each change in a patch (``diff -u``'s default).
CONTEXT = 3


class SourceText:
    """A file's text as lines, read once for all the fixes of a run, with the lines where its YAML
    documents are separated (``---``), so that finding an object's document is a binary search."""

    def __init__(self, text: str, refused: str = "") -> None:
        self.lines = text.splitlines(keepends=True)
        self.separators = [i for i, line in enumerate(self.lines) if line.startswith("---")]
        self.refused = refused  # why no edit applies to this file, if none does

    def editable_document(self, line: int) -> tuple[int, int]:
        """:meth:`document` of the object at ``line``; raises :class:`EditError` where the edits cannot
        apply: the file is refused, or the object is an item of a list (``kubectl get -o yaml`` writes a
        ``List``), whose fields the edits would look for at the top of the document, in the List's own
        ``metadata``."""
        if self.refused:
            raise EditError(self.refused)
        begin, end = self.document(line)
        if self.lines[line - 1].lstrip(" ").startswith("- "):
            raise EditError(
                "an item of a List: kverify patches objects at the top of a YAML document; make this change by hand"
            )
        return begin, end

    def document(self, line: int) -> tuple[int, int]:
        """The 0-based [begin, end) lines of the YAML document holding 1-based ``line``: from the line
        after the ``---`` before it (a ``---`` line opens the document after it) up to the next one."""
        if not 1 <= line <= len(self.lines):
            raise EditError(f"line {line} is not in the file")
        index, separators = line - 1, self.separators
        if self.lines[index].startswith("---"):
            begin = index + 1
        else:
            before = bisect.bisect_left(separators, index)
            begin = separators[before - 1] + 1 if before else 0
        after = bisect.bisect_right(separators, index)
        return begin, separators[after] if after < len(separators) else len(self.lines)

    def unified(self, path: str, changed: Mapping[int, tuple[int, str]]) -> str:
        """The unified diff (``a/path``, ``b/path``) of replacing, for each ``begin`` of ``changed``,
        lines [begin, end) by the text given, computed over the changed documents and their context
        only, its hunks numbered as in the file. Where the documents differ it is what difflib gives
        for the whole file; where they repeat, difflib over the whole file may align the change with
        another copy and patch two documents, while this diff stays in the one changed."""
        spans = sorted(changed.items())
        low = max(0, spans[0][0] - CONTEXT)
        high = min(len(self.lines), max(end for _, (end, _text) in spans) + CONTEXT)
        after: list[str] = []
        at = low
        for begin, (end, text) in spans:
            after += self.lines[at:begin]
            after += text.splitlines(keepends=True)
            at = end
        after += self.lines[at:high]
        diff = difflib.unified_diff(self.lines[low:high], after, fromfile=f"a/{path}", tofile=f"b/{path}")
        return "".join(_shifted(line, low) for line in diff)


class SourceTexts:
    """The files the fixes of one run edit, each read once (a snapshot of 200 MB has thousands of
    findings: reading it again for each fix made the fixes quadratic in its size)."""

    def __init__(self) -> None:
        self._read: dict[str, SourceText] = {}

    def get(self, file: str) -> SourceText:
        """The text of ``file``, read on first use."""
        found = self._read.get(file)
        if found is None:
            if file.endswith(".json"):  # the loader read it as JSON: flow style, which no edit here writes
                found = SourceText("", refused="a JSON file: kverify patches YAML only; make this change by hand")
            else:
                with open(file, encoding="utf-8") as handle:
                    found = SourceText(handle.read())
            self._read[file] = found
        return found


#: A hunk's header: ``@@ -start[,length] +start[,length] @@``.
_HUNK = re.compile(r"@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def _shifted(line: str, offset: int) -> str:
    """``line`` of a diff of lines from ``offset`` on, its hunk header numbered as in the whole file
    (every other line of a unified diff starts with ``---``, ``+++``, a space, ``-`` or ``+``)."""
    if not offset or not line.startswith("@@ -"):
        return line
    found = _HUNK.match(line)
    if found is None:  # pragma: no cover - difflib writes every header so
        return line
    old, old_length, new, new_length = found.groups()
    return f"@@ -{int(old) + offset}{old_length or ''} +{int(new) + offset}{new_length or ''} @@" + line[found.end() :]


def apply_command(patch: str) -> str:
    """The command that applies ``patch`` from the working directory: ``git apply`` refuses a file
    outside it (an absolute path) unless told it stands in for GNU patch (``--unsafe-paths``)."""
    outside = any(line.startswith("--- a//") for line in patch.splitlines())
    return "git apply --unsafe-paths" if outside else "git apply"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _document(lines: list[str], start: int) -> tuple[int, int]:
    """The 0-based [begin, end) lines of the YAML document holding 1-based line ``start``."""
    begin = start - 1
    if lines[begin].startswith("---"):
        begin += 1
    while begin > 0 and not lines[begin - 1].startswith("---"):
        begin -= 1
    end = start
    while end < len(lines) and not lines[end].startswith("---"):
        end += 1
    return begin, end


def _block(lines: list[str], begin: int, end: int, path: tuple[str, ...]) -> tuple[int, int, int]:
    """The mapping at ``path`` inside lines [begin, end): (first child line, end, child indent).
    An empty path is the document's top level."""
    child_begin, child_end, indent = begin, end, 0
    for key in path:
        found = None
        for i in range(child_begin, child_end):
            line = lines[i]
            if _indent(line) == indent and re.match(rf"{re.escape(key)}:\s*(#.*)?$", line.strip()):
                found = i
                break
        if found is None:
            raise EditError(f"no `{key}:` block")
        j = found + 1
        while j < child_end and (not lines[j].strip() or lines[j].lstrip().startswith("#")):
            j += 1
        if j >= child_end or _indent(lines[j]) <= indent:
            raise EditError(f"`{key}:` is empty or not a block mapping")
        new_indent = _indent(lines[j])
        k = j
        while k < child_end and (not lines[k].strip() or _indent(lines[k]) >= new_indent):
            k += 1
        child_begin, child_end, indent = found + 1, k, new_indent
    return child_begin, child_end, indent


def _field(lines: list[str], begin: int, end: int, indent: int, key: str) -> int | None:
    for i in range(begin, end):
        if _indent(lines[i]) == indent and lines[i].strip().startswith(f"{key}:"):
            return i
    return None


def set_field(text: str, start: int, path: tuple[str, ...], key: str, value: str) -> str:
    """``path.key: value`` in the object that starts at line ``start`` (replaced, or inserted first)."""
    lines = text.splitlines(keepends=True)
    begin, end = _document(lines, start)
    b, e, indent = _block(lines, begin, end, path)
    i = _field(lines, b, e, indent, key)
    new = " " * indent + f"{key}: {value}\n"
    if i is not None:
        lines[i] = new
    else:
        lines.insert(b, new)
    return "".join(lines)


def delete_field(text: str, start: int, path: tuple[str, ...], key: str) -> str:
    """Remove ``path.key`` (and its block) from the object that starts at line ``start``, if present."""
    lines = text.splitlines(keepends=True)
    begin, end = _document(lines, start)
    b, e, indent = _block(lines, begin, end, path)
    i = _field(lines, b, e, indent, key)
    if i is None:
        return text
    j = i + 1
    while j < e and (not lines[j].strip() or _indent(lines[j]) > indent):
        j += 1
    del lines[i:j]
    return "".join(lines)


def add_spread(text: str, start: int, labels: dict[str, str]) -> str:
    """A hostname ``topologySpreadConstraints`` entry (maxSkew 1, DoNotSchedule) selecting ``labels``,
    first in the pod template's spec of the workload that starts at line ``start``."""
    lines = text.splitlines(keepends=True)
    begin, end = _document(lines, start)
    b, e, indent = _block(lines, begin, end, ("spec", "template", "spec"))
    if _field(lines, b, e, indent, "topologySpreadConstraints") is not None:
        raise EditError("the pod template already has topologySpreadConstraints: add the entry by hand")
    pad = " " * indent
    block = [
        f"{pad}topologySpreadConstraints:\n",
        f"{pad}- maxSkew: 1\n",
        f"{pad}  topologyKey: kubernetes.io/hostname\n",
        f"{pad}  whenUnsatisfiable: DoNotSchedule\n",
        f"{pad}  labelSelector:\n",
        f"{pad}    matchLabels:\n",
        *[f"{pad}      {k}: {v}\n" for k, v in sorted(labels.items())],
    ]
    lines[b:b] = block
    return "".join(lines)


def set_annotation(text: str, start: int, key: str, value: str, *, replace: bool = True) -> str:
    """``metadata.annotations[key]: value`` in the object that starts at line ``start``; the
    ``annotations:`` block is added first in ``metadata`` when the object has none. ``replace=False``:
    an annotation already there is left for the user to merge (an EditError says so)."""
    lines = text.splitlines(keepends=True)
    begin, end = _document(lines, start)
    try:
        b, e, indent = _block(lines, begin, end, ("metadata", "annotations"))
    except EditError:
        pass
    else:
        if not replace and _field(lines, b, e, indent, key) is not None:
            raise EditError(f"annotation {key} is already set: add {value} to it by hand")
        return set_field(text, start, ("metadata", "annotations"), key, value)
    b, e, indent = _block(lines, begin, end, ("metadata",))
    if _field(lines, b, e, indent, "annotations") is not None:
        raise EditError("metadata.annotations is not a block mapping: add the annotation by hand")
    pad = " " * indent
    lines[b:b] = [f"{pad}annotations:\n", f"{pad}  {key}: {value}\n"]
    return "".join(lines)
