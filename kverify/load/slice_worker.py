"""A forked worker process that decodes the EndpointSlices at the end of a big JSON List while this
process reads the List from its front, on a second core (issue 11).

Decoding a snapshot's slices is most of reading it (a third of the time to check a 200 MB List, in C
already). The List's elements are cut into chunks of :data:`CHUNK` elements. This process takes
chunks from the front, the worker from the back; each claims a chunk (two counters in a page both
share) before decoding it, so they meet wherever their speeds say, whatever else either is given to
do (this process decodes the Nodes and Services, which ``kubectl`` writes first, and builds every
item; the worker leaves them to it). The worker turns each slice into a compact record
(:mod:`kverify.load.slice_records`), writes each chunk's records to an in-memory file (which never
fills, as a pipe would, while this process is busy) and says it is done through a pipe.

The answer never depends on the claims or on the worker at all. Claims are made without locks: two
processes may both claim a chunk (this process keeps its own decode) or neither (each saw the
other's claim), and the worker may die or be killed; every slice without a record is decoded here,
as if there were no worker. A worker is started only on Linux (``fork``, ``memfd_create``), with two
cores free to this process (its affinity, and its cgroup's CPU quota if any), no other thread
running (a fork copies no thread, nor a lock another thread holds), for a List big enough to repay
the fork, and unless ``KVERIFY_SLICE_WORKER=0``.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import struct
import threading
from collections.abc import Callable
from mmap import mmap
from typing import Any

try:
    from posix import _exit as _exit_at_once  # os._exit, even where a caller replaced that one
except ImportError:  # no fork either: no worker is started
    _exit_at_once = os._exit

#: Elements per chunk: small enough that the last chunk, which one process may wait for the other to
#: finish, is short (about 6 ms of decoding on a snapshot), large enough that claims cost nothing.
CHUNK = 128
#: Bytes of elements, from the first slice on, below which a worker is not started: the fork copies
#: this process's page tables and taking the records back costs time; at 19 MB it saved nothing
#: measurable (``benchmarks/scale_check.py --nodes 1600 --services 1600 --endpoints 48000``).
MIN_BYTES = 32 << 20
#: The environment variable that turns the worker off (``0``).
SWITCH = "KVERIFY_SLICE_WORKER"

#: A frame of the worker's file: the chunk's number and the length of its records, marshalled.
_FRAME = struct.Struct("<qq")
_DONE = b"."

#: What turns the element of one index into a record (``None``: not a plain slice, decoded here).
RecordOf = Callable[[int], Any]


def worker_wanted(size: int) -> bool:
    """Whether a worker may be started for elements of ``size`` bytes (see the module)."""
    return (
        size >= MIN_BYTES
        and os.environ.get(SWITCH, "1") != "0"
        and hasattr(os, "fork")
        and hasattr(os, "memfd_create")
        and hasattr(os, "sched_getaffinity")
        and len(os.sched_getaffinity(0)) >= 2
        and _cpu_quota() >= 2
        and threading.active_count() == 1
    )


#: cgroup v2's CPU limit of this process's group (a container's): "max 100000", or a quota and a period.
CPU_MAX = "/sys/fs/cgroup/cpu.max"


def _cpu_quota() -> float:
    """How many CPUs' time the cgroup this process runs in may use (a container's ``--cpus``):
    infinite where no limit is set or none can be read. The affinity mask alone counts the host's
    cores, which a worker would compete for with this process under a quota of one."""
    try:
        with open(CPU_MAX) as limit:
            quota, period = limit.read().split()[:2]
        return float("inf") if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return float("inf")


class SliceWorker:
    """A running worker (see the module): :meth:`claim` each chunk in turn, which gives the worker's
    records once a claim fails; :meth:`close` in any case."""

    __slots__ = ("_counters", "_done", "_file", "_pid", "_shared")

    def __init__(self, pid: int, shared: mmap, file: int, done: int) -> None:
        self._pid, self._shared, self._file, self._done = pid, shared, file, done
        self._counters = memoryview(shared).cast("q")  # [the next chunk of this process, the worker's last]

    @classmethod
    def start(cls, elements: int, record_of: RecordOf) -> SliceWorker | None:
        """A worker making records of the List's ``elements`` (by index) with ``record_of``, or ``None``
        if it could not be started (this process then decodes them all)."""
        chunks = -(-elements // CHUNK)
        try:
            shared = mmap(-1, 16)
            file = os.memfd_create("kverify-slices", os.MFD_CLOEXEC)
            done_read, done_write = os.pipe()
        except OSError:
            return None
        counters = memoryview(shared).cast("q")
        counters[0], counters[1] = 0, chunks
        counters.release()
        try:
            pid = os.fork()
        except OSError:
            for fd in (file, done_read, done_write):
                os.close(fd)
            return None
        if pid == 0:  # the worker, which never returns
            _work(shared, file, done_write, elements, record_of)
        os.close(done_write)
        return cls(pid, shared, file, done_read)

    def claim(self, index: int) -> tuple[int, dict[int, Any]]:
        """Claim the chunk holding element ``index`` for this process: where the next chunk begins, and
        no records, if it is this process's to decode; else (the worker has it, and every chunk after
        it) no next claim and the worker's :meth:`records`."""
        chunk = index // CHUNK
        counters = self._counters
        counters[0] = chunk + 1
        if chunk < counters[1]:
            return (chunk + 1) * CHUNK, {}
        return 1 << 62, self.records()

    def records(self) -> dict[int, Any]:
        """The records the worker made, by element index, once it stopped (it ends at the first chunk
        this process claimed; only chunks it wrote whole are read)."""
        try:
            os.read(self._done, 1)  # its marker, or the end of the pipe if it died
            size = os.lseek(self._file, 0, os.SEEK_END)
            data = os.pread(self._file, size, 0) if size else b""
        except OSError:
            return {}
        found: dict[int, Any] = {}
        at, frame = 0, _FRAME.size
        while at + frame <= len(data):
            chunk, length = _FRAME.unpack_from(data, at)
            at += frame
            if at + length > len(data):
                break
            try:
                records = marshal.loads(data[at : at + length])
            except (ValueError, EOFError, TypeError):  # not a frame the worker wrote whole: stop there
                break
            start = chunk * CHUNK
            found.update((start + offset, record) for offset, record in enumerate(records) if record is not None)
            at += length
        return found

    def close(self) -> None:
        """Stop the worker if it runs still, reap it and free what it shared."""
        self._counters[0] = 1 << 62  # it claims nothing more
        with contextlib.suppress(ChildProcessError):  # reaped already
            os.waitpid(self._pid, 0)
        for fd in (self._file, self._done):
            os.close(fd)
        self._counters.release()
        self._shared.close()


def _work(shared: mmap, file: int, done: int, end: int, record_of: RecordOf) -> None:
    """The worker: claims chunks from the back until it meets this process's claims, writes the
    records of each, says it is done, and exits (without running this process's exit handlers)."""
    code = 1
    try:
        counters = memoryview(shared).cast("q")
        while True:
            chunk = counters[1] - 1
            counters[1] = chunk
            if chunk < counters[0]:
                break
            start = chunk * CHUNK
            payload = marshal.dumps([record_of(index) for index in range(start, min(start + CHUNK, end))])
            _write_all(file, _FRAME.pack(chunk, len(payload)) + payload)
        os.write(done, _DONE)
        code = 0
    finally:
        _exit_at_once(code)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
