"""A trace summarised in groups of outcomes, written as the groups are made.

From every node of a Service with 100,000 endpoints and ``externalTrafficPolicy: Cluster``, each of
1,000 nodes' groups reaches every endpoint: holding the groups all at once took more than 16 GB
(issue 11). ``kverify trace`` reads them once, in order, and writes each as it comes: only the first
groups are held, to decide whether the outcomes are few enough to be listed one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kverify.concrete.endpoint_set import EndpointSet
    from kverify.concrete.route import OutcomeGroup

#: Stands for the outcome groups while the rest of a trace's JSON document is encoded, then replaced
#: by the groups' texts (a document that holds it elsewhere is encoded whole: :func:`write_json`).
PLACEHOLDER = "kverify:outcome-groups:7f3c9a1e5b2d4c68"


def up_to(groups: Iterator[OutcomeGroup], limit: int) -> tuple[list[OutcomeGroup], int]:
    """The first of ``groups`` until they stand for more than ``limit`` outcomes (the group that passes
    it included), and how many outcomes those stand for; ``groups`` goes on with the rest."""
    first: list[OutcomeGroup] = []
    counted = 0
    for group in groups:
        first.append(group)
        counted += group.count
        if counted > limit:
            break
    return first, counted


def write_json(document: Mapping[str, object], groups: Iterable[OutcomeGroup], write: Callable[[str], object]) -> None:
    """Write ``document`` as compact JSON and a newline, with ``groups`` as its ``outcome_groups`` (where
    it holds :data:`PLACEHOLDER`), each group encoded and written as it comes: the same text as
    encoding the whole document at once, since the compact text of a list is its items' joined by
    commas."""
    from kverify.report.compact_json import dumps  # orjson's import costs a trace that lists its outcomes

    text = dumps(document)
    marker = f'"{PLACEHOLDER}"'
    if text.count(marker) != 1:  # the placeholder spelled in a manifest: no streaming, the same text
        write(dumps({**document, "outcome_groups": [group.to_json() for group in groups]}) + "\n")
        return
    before, after = text.split(marker)
    write(before + "[")
    texts = _EndpointTexts()
    for n, group in enumerate(groups):
        write(("," if n else "") + _group_text(group, texts, dumps))
    write("]" + after + "\n")


def _group_text(group: OutcomeGroup, texts: _EndpointTexts, dumps: Callable[[object], str]) -> str:
    """``dumps(group.to_json())``, its endpoints joined from texts made once per endpoint set: from every
    node of an eTP Cluster Service, each endpoint is in every node's group."""
    members = group.members
    if members is None or not group.positions:
        return dumps(group.to_json())
    document = group.outcome.to_json()
    document["count"] = group.count
    document["endpoints"] = []
    head = dumps(document)
    return head[: -len("[]}")] + "[" + ",".join(group.pick(texts.of(members, dumps))) + "]}"


class _EndpointTexts:
    """Each endpoint's compact JSON text (``{"ip":...,"node":...,"pod":...}``), for the last endpoint
    set asked about (a trace's groups share one)."""

    def __init__(self) -> None:
        self._members: EndpointSet | None = None
        self._texts: list[str] = []

    def of(self, members: EndpointSet, dumps: Callable[[object], str]) -> list[str]:
        if members is not self._members:
            ips, pods, names = members.ips, members.pods, members.node_names
            node_text = {name: dumps(name) for name in set(names)}  # a few per 100,000 endpoints
            nodes = map(node_text.__getitem__, names)
            # all(): no None and no empty string, a C-level truth test of each (an empty one takes the
            # other branch, which writes the same text).
            if all(pods) and _plain(ips) and _plain(pods):  # quoted as they are (every snapshot's case)
                if all(text == f'"{name}"' for name, text in node_text.items()):  # so are the node names
                    self._texts = [
                        f'{{"ip":"{ip}","node":"{node}","pod":"{pod}"}}'
                        for ip, node, pod in zip(ips, names, pods, strict=True)
                    ]
                else:
                    self._texts = [
                        f'{{"ip":"{ip}","node":{node},"pod":"{pod}"}}'
                        for ip, node, pod in zip(ips, nodes, pods, strict=True)
                    ]
            else:
                self._texts = [
                    f'{{"ip":{ip},"node":{node},"pod":{pod}}}'
                    for ip, node, pod in zip(_strings(ips, dumps), nodes, _strings(pods, dumps), strict=True)
                ]
            self._members = members
        return self._texts


def _plain(values: Sequence[str | None]) -> bool:
    """No value has a character compact JSON escapes (a quote, a backslash, a control character, DEL or
    anything not ASCII: json's ``ensure_ascii``): each is written as it is, between quotes."""
    text = "".join(values) if all(values) else "".join(filter(None, values))  # type: ignore[arg-type]  # no None
    # Printable ASCII is space to tilde: no control character, no DEL. Deleting every byte written as it
    # is leaves nothing (one C-level pass; str.isprintable looks each character up in Unicode's tables).
    return text.isascii() and not text.encode("ascii").translate(None, _AS_IS)


#: The bytes compact JSON writes as they are between quotes: printable ASCII but the quote and backslash.
_AS_IS = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')


def _strings(values: Sequence[str | None], dumps: Callable[[object], str]) -> list[str]:
    """The JSON text of each value (None: null): quoted as they are when no value has a character JSON
    escapes (addresses and Pod names never do), else each encoded by ``dumps``."""
    if not _plain(values):
        return [dumps(value) for value in values]
    return ["null" if value is None else f'"{value}"' for value in values]
