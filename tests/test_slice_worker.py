"""The worker process that decodes the EndpointSlices at the end of a big JSON List
(``kverify.load.slice_worker``, records in ``kverify.load.slice_records``): loading with it gives
exactly what loading without it gives (values, Pods, warnings, problems and lines), on generated
Lists in any order, whoever decodes which chunk, and when the worker fails or dies; it is started
only where it should be."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("msgspec")
from kverify.load import json_list, slice_records, slice_worker  # imports msgspec
from tests.test_endpoint_columns import _NODES, _SERVICE, _slice, _slices, loaded_outcome

# The worker is forked only with no other thread running; pytest-xdist's workers run one, and these
# tests start the worker regardless. What it runs (msgspec, marshal, os.write) takes no lock a thread
# may hold; Python 3.12 warns of forking with threads all the same.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


def _forced(monkeypatch: pytest.MonkeyPatch, chunk: int = 1) -> None:
    """Start a worker for any List, with chunks of ``chunk`` elements."""
    monkeypatch.setattr(json_list, "worker_wanted", lambda size: True)
    monkeypatch.setattr(slice_worker, "CHUNK", chunk)


def _without_worker(path: Path) -> object:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(slice_worker.SWITCH, "0")
        return loaded_outcome(path)


def _write_list(path: Path, items: list[Any], indent: int | None = 1) -> Path:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=indent))
    return path


@pytest.fixture
def records_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many items were built from the worker's records (a list of one count)."""
    made = [0]
    build = slice_records.item_from_record

    def counted(*args: Any) -> Any:
        made[0] += 1
        return build(*args)

    monkeypatch.setattr(json_list, "item_from_record", counted)
    yield made


def _big_list(slices: int, entries: int = 30) -> list[Any]:
    """A List as ``kubectl get nodes,services,endpointslices`` writes it, of plain slices."""
    slice_items = []
    for i in range(slices):
        endpoints: list[object] = [
            {
                "addresses": [f"10.{i // 250}.{i % 250}.{j}"],
                "conditions": {"ready": j % 7 != 0, "serving": True, "terminating": False},
                "nodeName": f"node-{(i + j) % 3}",
                "targetRef": {"kind": "Pod", "name": f"web-{i}-{j}", "namespace": "shop"},
            }
            for j in range(entries)
        ]
        slice_items.append(_slice(f"web-{i}", endpoints))
    return [*_NODES, _SERVICE, *slice_items]


def test_the_worker_decodes_slices_and_the_model_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records_made: list[int]
) -> None:
    path = _write_list(tmp_path / "snapshot.json", _big_list(400))
    expected = _without_worker(path)
    assert records_made[0] == 0
    _forced(monkeypatch, chunk=16)
    assert loaded_outcome(path) == expected
    assert records_made[0] > 0  # the worker's records were used, not only this process's decodes


@settings(max_examples=60, deadline=None)
@given(
    slices=st.lists(_slices(), min_size=1, max_size=6),
    pods=st.booleans(),
    order=st.randoms(use_true_random=False),
    chunk=st.integers(1, 3),
    indent=st.sampled_from([None, 1, 4]),
)
def test_generated_lists_load_alike_with_the_worker(
    tmp_path_factory: pytest.TempPathFactory,
    slices: list[list[object]],
    pods: bool,
    order: Any,
    chunk: int,
    indent: int | None,
) -> None:
    """Slices of every kind (odd entries, problems), Nodes before and after them, Pods or none."""
    items: list[Any] = [*_NODES, _SERVICE, *(_slice(f"web-{i}", entries) for i, entries in enumerate(slices))]
    if pods:
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}})
    order.shuffle(items)
    path = _write_list(tmp_path_factory.mktemp("worker") / "snapshot.json", items, indent)
    expected = _without_worker(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _forced(monkeypatch, chunk)
        assert loaded_outcome(path) == expected


@pytest.mark.parametrize("claims", ["this process", "the worker", "both", "neither"])
def test_whoever_claims_a_chunk_the_model_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records_made: list[int], claims: str
) -> None:
    """The claims are made without a lock: a chunk may be decoded twice, or by neither process first."""
    path = _write_list(tmp_path / "snapshot.json", _big_list(60))
    expected = _without_worker(path)
    _forced(monkeypatch, chunk=4)
    claim = slice_worker.SliceWorker.claim

    def racing(self: slice_worker.SliceWorker, index: int) -> tuple[int, dict[int, Any]]:
        if claims == "this process":
            return claim(self, index)
        found = self.records()  # the worker has finished every chunk it claimed
        if claims == "the worker":
            return 1 << 62, found
        if claims == "both":  # this process decodes every slice; the worker's records are ignored
            return index + 1, {}
        return 1 << 62, {}  # neither: no record, this process decodes the rest

    monkeypatch.setattr(slice_worker.SliceWorker, "claim", racing)
    assert loaded_outcome(path) == expected
    if claims == "the worker":
        assert records_made[0] > 50  # nearly every slice is the worker's
    elif claims != "this process":
        assert records_made[0] == 0


def test_a_worker_that_fails_or_dies_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_list(tmp_path / "snapshot.json", _big_list(60))
    expected = _without_worker(path)
    _forced(monkeypatch, chunk=4)
    made = [0]

    def failing(found: Any) -> Any:  # raises in the worker after a few records
        made[0] += 1
        if made[0] > 5:
            raise RuntimeError("the worker fails")
        return slice_records.slice_record(found)

    monkeypatch.setattr(json_list, "slice_record", failing)
    assert loaded_outcome(path) == expected
    assert made[0] == 0  # the worker's count is its own: this process made no record

    def killed(found: Any) -> Any:
        os.kill(os.getpid(), 9)

    monkeypatch.setattr(json_list, "slice_record", killed)
    assert loaded_outcome(path) == expected


def _cut_short(write_all: Any, fd: int, data: bytes) -> None:
    """A worker killed while it writes a frame: part of it is in the file."""
    write_all(fd, data[: len(data) // 2])
    os.kill(os.getpid(), 9)


def _garbled(write_all: Any, fd: int, data: bytes) -> None:
    """A frame whose header is whole and whose records are no marshal data."""
    header = slice_worker._FRAME.size
    write_all(fd, data[:header] + b"\xff" * (len(data) - header))


@pytest.mark.parametrize("write", [_cut_short, _garbled], ids=["cut short", "garbled"])
def test_only_whole_frames_that_load_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Any) -> None:
    """What the worker's file holds past its last good frame is not read (nor raises)."""
    path = _write_list(tmp_path / "snapshot.json", _big_list(60))
    expected = _without_worker(path)
    _forced(monkeypatch, chunk=4)
    write_all = slice_worker._write_all
    monkeypatch.setattr(slice_worker, "_write_all", lambda fd, data: write(write_all, fd, data))
    assert loaded_outcome(path) == expected


def test_the_worker_starts_only_where_it_repays(monkeypatch: pytest.MonkeyPatch) -> None:
    big = slice_worker.MIN_BYTES
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # as in the command-line program
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert slice_worker.worker_wanted(big)
    assert not slice_worker.worker_wanted(big - 1)  # a small List: the fork costs more than it saves
    monkeypatch.setenv(slice_worker.SWITCH, "0")
    assert not slice_worker.worker_wanted(big)
    monkeypatch.delenv(slice_worker.SWITCH)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not slice_worker.worker_wanted(big)  # one core: nothing to gain
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not slice_worker.worker_wanted(big)  # a fork would copy no other thread, but its locks


@pytest.mark.parametrize(
    ("cpu_max", "wanted"),
    [
        ("max 100000\n", True),
        ("200000 100000\n", True),
        ("100000 100000\n", False),
        ("50000 100000\n", False),
        (None, True),
        ("garbage\n", True),
    ],
)
def test_a_cgroup_quota_under_two_cpus_starts_no_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str | None, wanted: bool
) -> None:
    """A container limited to one CPU sees the host's cores in its affinity mask: its quota decides."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    limit = tmp_path / "cpu.max"
    if cpu_max is not None:
        limit.write_text(cpu_max)
    monkeypatch.setattr(slice_worker, "CPU_MAX", str(limit))
    assert slice_worker.worker_wanted(slice_worker.MIN_BYTES) is wanted


def test_records_give_back_the_item_of_a_decode(tmp_path: Path) -> None:
    """A record rebuilt is the item ``as_item`` gives, but for node names not known to be the Nodes'."""
    from kverify.load.slice_columns import SameConditions
    from kverify.load.slice_typed import decode_slice

    text = json.dumps(_big_list(1, entries=5)[-1]).encode()
    found = decode_slice(text)
    record = slice_records.slice_record(found)
    assert record is not None
    rebuilt = slice_records.item_from_record(record, text)  # type: ignore[arg-type]
    item = found.as_item(text)  # type: ignore[arg-type]
    assert item is not None
    entries, built = item.pop("endpoints"), rebuilt.pop("endpoints")
    assert rebuilt == item
    assert built.ips == entries.ips and built.nodes == entries.nodes and built.refs() == entries.refs()
    assert not isinstance(entries.conditions, SameConditions)  # one entry in seven is not ready
    assert built.conditions == entries.conditions
    assert built.as_dicts() == entries.as_dicts()
