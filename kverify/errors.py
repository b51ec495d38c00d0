"""The one exception tree of kverify."""

from __future__ import annotations

from collections.abc import Iterable

import attrs


class KverifyError(Exception):
    """Base of every error kverify raises on purpose."""


#: Longest object label, field path or message printed (a 5 MB name must not become a 5 MB line).
PART_LIMIT = 2000


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` with every character ``repr`` would escape escaped (control and other unprintable
    characters, line and paragraph separators), so that user text can never end a line or move the
    cursor; printable text, accents and all, is kept. Longer than ``limit``: cut, with ``...``."""
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + "..." if cut else text


#: Longest rendering of a user's value in a message, in characters.
VALUE_LIMIT = 80


def quote(text: str, limit: int = VALUE_LIMIT) -> str:
    """User text in a message: double-quoted, escaped as ``repr`` would (and ``"``, ``\\``), at most
    ``limit`` characters of it."""
    cut = len(text) > limit
    body = text[:limit]
    if not body.isprintable() or '"' in body or "\\" in body:
        body = "".join(
            c if c.isprintable() and c not in '"\\' else ("\\" + c if c in '"\\' else repr(c)[1:-1]) for c in body
        )
    return f'"{body}..."' if cut else f'"{body}"'


#: A cluster with endpoints but no nodes: EndpointSlices (or Endpoints) given by hand, as in a snapshot,
#: are routed on the Node objects given with them; node pools place workloads, not such endpoints.
NO_NODES = (
    "the cluster has no nodes: endpoints given as EndpointSlices or Endpoints are routed on the Node objects "
    "given with them (a snapshot's kubectl get nodes -o yaml); --node-pool places workloads' pods only"
)


def names(items: Iterable[str], limit: int = 10) -> str:
    """Known names for a "Not found" message: sorted, escaped, at most ``limit`` of them."""
    ordered = sorted(items)
    if not ordered:
        return "none"
    shown = ", ".join(one_line(n, VALUE_LIMIT) for n in ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown}, ... ({len(ordered)} in all)"


@attrs.frozen
class Problem:
    """One problem with the input, in the shape of apimachinery's field errors.

    Rendered as ``FILE:LINE: Kind namespace/name: field.path: message``.
    """

    message: str
    file: str | None = None
    line: int | None = None
    obj: str | None = None  # "Kind namespace/name"
    field: str | None = None

    def __str__(self) -> str:
        """One line, whatever the parts hold (user text in them is escaped, long parts cut)."""
        where = ""
        if self.file:
            file = one_line(self.file, PART_LIMIT)
            where = f"{file}:{self.line}: " if self.line else f"{file}: "
        parts = [one_line(p, PART_LIMIT) for p in (self.obj, self.field) if p]
        return where + "".join(f"{p}: " for p in parts) + one_line(self.message, PART_LIMIT)


class InputError(KverifyError):
    """Bad input: every problem found, reported at once (exit code 2)."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NotModelled(InputError):
    """Valid input that kverify does not model (a load balancer profile on a dataplane it was not read
    for, a node label the rules do not read): the answer is unknown, not the input wrong (exit code 3)."""


class InternalError(KverifyError):
    """A bug in kverify, e.g. the two engines disagree. Never the user's fault."""

    def __init__(self, message: str) -> None:
        super().__init__(f"internal error (this is a bug in kverify): {message}")
