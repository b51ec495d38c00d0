"""A trace summarised in groups of outcomes, written as the groups are made.

From every node of a Service with 100,000 endpoints and ``externalTrafficPolicy: Cluster``, each of
1,000 nodes' groups reaches every endpoint: holding the groups all at once took more than 16 GB
(issue 11). ``kverify trace`` reads them once, in order, and writes each as it comes: only the first
groups are held, to decide whether the outcomes are few enough to be listed one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    for n, group in enumerate(groups):
        write(("," if n else "") + dumps(group.to_json()))
    write("]" + after + "\n")
