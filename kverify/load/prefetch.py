"""Reading a big input file in a thread while the command imports the rest of kverify (issue 11).

Reading a 200 MB snapshot takes 0.1-0.2 s, nearly all of it in the kernel, copying into freshly
mapped pages; the read releases the GIL. Begun before the command imports what it runs, it runs on
another core meanwhile. :func:`prefetch_command_input` begins it from the raw command line, before
even the command line's parser is imported (building it imports the model: 0.03 s of start-up);
:func:`kverify.load.sources.read_bytes` takes the bytes. This module imports nothing of kverify's, so
that ``python -m kverify`` reaches it first.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from typing import BinaryIO

#: Files larger than this are refused unless the limit is raised (``--max-input-size``): the largest
#: snapshots seen (16,000 nodes, 480,000 endpoints) are about 200 MB of JSON and need ~1.3 GB to load.
DEFAULT_MAX_INPUT_BYTES = 512 * 10**6
#: Files smaller than this are read when the loader comes to them: a thread costs more than it saves.
PREFETCH_MIN_BYTES = 8 * 10**6
#: Bytes read at a time once a file turns out longer than its size said (or from standard input).
BLOCK = 1 << 20

#: Reads :func:`prefetch` began, by absolute path: the thread, and once it ends [the bytes] (nothing if
#: the read failed, or the file was not a regular file within the limit when opened).
_prefetched: dict[str, tuple[threading.Thread, list[bytes]]] = {}


def megabytes(text: str) -> int:
    """A size in MB (10^6 bytes), as ``--max-input-size`` takes it, in bytes; ValueError if it is none."""
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not 0 < number < 1e9:  # also refuses nan and inf
        raise ValueError(f"Invalid value: {text!r}: must be a size in MB, e.g. 1024")
    return int(number * 1e6)


def read_up_to(stream: BinaryIO, most: int, expected: int) -> bytes:
    """At most ``most`` bytes of ``stream``: first the ``expected`` bytes (a regular file's size plus
    one, to see that it ends there), then blocks while more come. ``read(n)`` allocates ``n`` bytes
    before reading, so one ``read(limit + 1)`` took the whole input limit (512 MB) for any file: a
    tiny file failed with MemoryError under a 300 MB ``ulimit -v``."""
    first = stream.read(min(most, expected))
    if len(first) < expected or len(first) >= most:  # the end came where expected, or the limit is reached
        return first
    chunks, total = [first], len(first)
    while total < most and (chunk := stream.read(min(BLOCK, most - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def prefetch(file: str, limit: int) -> None:
    """Begin reading ``file`` in a thread if it is a regular file of at least ``PREFETCH_MIN_BYTES``
    and at most ``limit`` bytes, and no read of it is under way. Whatever goes wrong is left for the
    loader's own read to find and report (:func:`kverify.load.sources.read_bytes`)."""
    key = os.path.abspath(file) if "\0" not in file else None
    if key is None or key in _prefetched:
        return
    try:
        info = os.stat(file)
    except (OSError, ValueError):  # missing, unreadable: the loader says so later
        return
    if not stat.S_ISREG(info.st_mode) or not PREFETCH_MIN_BYTES <= info.st_size <= limit:
        return
    read: list[bytes] = []

    def read_file() -> None:
        try:
            # Opened non-blocking, and checked again once open: the name may be a FIFO by now.
            fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as handle:
                opened = os.fstat(fd)
                if stat.S_ISREG(opened.st_mode) and opened.st_size <= limit:
                    raw = read_up_to(handle, limit + 1, opened.st_size + 1)
                    if len(raw) <= limit:
                        read.append(raw)
        except (OSError, MemoryError, ValueError):  # the loader's own read meets it again and says so
            pass

    thread = threading.Thread(target=read_file, name="kverify-prefetch", daemon=True)
    thread.start()
    _prefetched[key] = (thread, read)


def take_prefetched(file: str) -> bytes | None:
    """The bytes of ``file`` a :func:`prefetch` read (waiting for the read to end), once; ``None`` if
    none was begun, or it read nothing."""
    begun = _prefetched.pop(os.path.abspath(file), None) if "\0" not in file else None
    if begun is None:
        return None
    thread, read = begun
    thread.join()
    return read[0] if read else None


def is_prefetching(file: str) -> bool:
    """Whether a read of ``file`` was begun and not taken yet."""
    return "\0" not in file and os.path.abspath(file) in _prefetched


def drop_prefetched() -> None:
    """Forget the reads :func:`prefetch` began that the loader did not take (a command that stopped
    before it read its input): the bytes are freed when their thread ends, and a later read of the same
    file in this process (tests, library use) reads it again instead of taking bytes read before."""
    _prefetched.clear()


#: The options of ``kverify check`` and ``kverify trace`` that take a value (the next word, or after
#: ``=``), and those that take none. ``tests/test_read_memory.py`` checks them against the parsers.
VALUE_OPTIONS = {
    "check": frozenset(
        {
            "--cilium-set",
            "--cilium-version",
            "--cluster-cidr",
            "--cni",
            "--color",
            "--dataplane",
            "--feature-gates",
            "--format",
            "--iptables-localhost-nodeports",
            "--kubernetes-version",
            "--load-balancer",
            "--max-input-size",
            "--metallb-version",
            "--namespace",
            "--needs-client-ip",
            "--node-pool",
            "--nodeport-address",
            "--output",
            "--write-counterexamples",
            "-n",
            "-o",
        }
    ),
    "trace": frozenset(
        {
            "--cilium-set",
            "--cilium-version",
            "--cluster-cidr",
            "--cni",
            "--dataplane",
            "--dst-ip",
            "--feature-gates",
            "--format",
            "--from",
            "--iptables-localhost-nodeports",
            "--kubernetes-version",
            "--load-balancer",
            "--max-input-size",
            "--max-outcomes",
            "--metallb-version",
            "--namespace",
            "--node",
            "--node-pool",
            "--nodeport-address",
            "--port",
            "--protocol",
            "--service",
            "--service-cidr",
            "--src-ip",
            "--to",
            "--to-address",
            "-n",
        }
    ),
}
FLAG_OPTIONS = {
    "check": frozenset(
        {
            "--allow-nothing-checked",
            "--fixes",
            "--help",
            "--list-checks",
            "--masquerade-all",
            "--no-local-detector",
            "--no-pictures",
            "--verbose",
            "-h",
            "-v",
        }
    ),
    "trace": frozenset(
        {
            "--help",
            "--hops",
            "--masquerade-all",
            "--no-local-detector",
            "--no-proxy-protocol",
            "--proxy-protocol",
            "--verbose",
            "-h",
            "-v",
        }
    ),
}


def command_input(words: Sequence[str]) -> tuple[str, int] | None:
    """The first input file of a ``kverify check`` or ``kverify trace`` command line, and the input
    limit it sets, read from the words as the command's parser would; ``None`` for any other command,
    or a word the scan does not know for sure (an abbreviated option, short options run together, a
    bad ``--max-input-size``): the command then begins the read once it has parsed its command line."""
    if not words or words[0] not in VALUE_OPTIONS:
        return None
    values, flags = VALUE_OPTIONS[words[0]], FLAG_OPTIONS[words[0]]
    first, limit = None, DEFAULT_MAX_INPUT_BYTES
    rest = iter(words[1:])
    for word in rest:
        if word == "--":  # the rest are inputs
            first = first or next(rest, None)
            break
        if word == "-" or not word.startswith("-"):
            first = first or word
            continue
        name, equals, value = word.partition("=")
        if name in values:
            value = value if equals else next(rest, "")
            if name == "--max-input-size":
                try:
                    limit = megabytes(value)
                except ValueError:
                    return None
        elif word not in flags:
            return None
    return (first, limit) if first is not None else None


def prefetch_command_input(words: Sequence[str]) -> None:
    """Begin reading the first input of a ``kverify check`` or ``kverify trace`` command line (see
    :func:`command_input`), the standard input aside."""
    found = command_input(words)
    if found is not None and found[0] != "-":
        prefetch(*found)
