"""What the scale benchmarks share: the parse they compare kverify against, and kverify's own peak memory."""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None


def parse_seconds(
    path: str, repeat: int = 3, *, stdlib: bool = False, msgspec_dicts: bool = False
) -> tuple[float, float, str]:
    """Best wall time and best CPU time to parse the file with orjson (the reference the goals are
    stated against), the standard library (``stdlib``) or msgspec into plain dicts (``msgspec_dicts``:
    kverify's own JSON decoder, faster than orjson on these files). CPU time is what a loaded machine
    distorts least: the figures below give both."""
    with open(path, "rb") as handle:
        raw = handle.read()
    best = best_cpu = float("inf")
    if path.endswith(".json") and msgspec_dicts:
        import msgspec

        name = "msgspec"
        decode = msgspec.json.Decoder().decode

        def parse() -> object:
            return decode(raw)
    elif path.endswith(".json"):
        fast = orjson is not None and not stdlib
        name = "orjson" if fast else "json"

        def parse() -> object:
            return orjson.loads(raw) if fast else json.loads(raw)
    else:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        name = loader.__name__

        def parse() -> object:
            return list(yaml.load_all(raw, Loader=loader))

    # kverify loads with the cyclic GC off; the parse is timed so too, the fastest it can be (with the
    # GC on, collections over the growing heap double the time of a large YAML parse).
    for _ in range(repeat):
        gc.disable()
        try:
            started, started_cpu = time.perf_counter(), time.process_time()
            parse()
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - started_cpu)
        finally:
            gc.enable()
    return best, best_cpu, name


def msgspec_ratio_line(path: str, repeat: int, wall: float, cpu: float, goal: str, digits: int) -> str | None:
    """The line giving the parse with msgspec into plain dicts (faster than orjson on these files) and
    kverify's ratio to it, the stricter reading of "its parse time"; ``None`` for YAML."""
    if not path.endswith(".json"):
        return None
    fastest, fastest_cpu, _ = parse_seconds(path, repeat, msgspec_dicts=True)
    return (
        f"  parse (msgspec into dicts, best of {repeat}): {fastest:.{digits}f} s wall, {fastest_cpu:.{digits}f} s "
        f"CPU; ratio to it: {wall / fastest:.2f}x wall, {cpu / fastest_cpu:.2f}x CPU ({goal})"
    )


#: A program that only parses the file, as kverify's timed runs are programs: a fresh interpreter that
#: reads the file and parses it with the GC off (kverify loads with it off too).
_PARSE_PROGRAM = (
    "import gc, sys\n"
    "gc.disable()\n"
    "import orjson\n"
    "with open(sys.argv[1], 'rb') as handle:\n"
    "    orjson.loads(handle.read())\n"
)


def parse_process_seconds(path: str, repeat: int = 3) -> tuple[float, float] | None:
    """Best wall time and best CPU time (user + system) of a fresh interpreter that reads ``path`` and
    parses it with orjson, its start included: the same footing as the timed ``kverify`` runs. The
    in-process parse of :func:`parse_seconds` repeats in a heap that an earlier parse has grown, and
    pays fewer page faults than any fresh process can (on a 200 MB List, 1.2 s against 1.6-2.0 s, half
    of it system time); both are reported. ``None`` without orjson, or for YAML."""
    if orjson is None or not path.endswith(".json"):
        return None
    best = best_cpu = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _PARSE_PROGRAM, path], check=True)
        best = min(best, time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return best, best_cpu


def paired_rounds(path: str, rounds: int, kverify: Callable[[], float]) -> str | None:
    """A line giving kverify's ratio to the orjson parse round by round: in each round the parse in
    process, ``kverify()`` (its wall time) and the parse in a fresh interpreter run one right after
    another, so that a machine whose speed drifts over minutes (this project's VMs swing 10-30%) slows
    or speeds up all three alike; the median of the rounds' ratios, and their range. ``None`` without
    orjson, or for YAML."""
    if orjson is None or not path.endswith(".json"):
        return None
    warm, fresh = [], []
    for _ in range(rounds):
        parse = parse_seconds(path, 1)[0]
        wall = kverify()
        process = parse_process_seconds(path, 1)
        warm.append(wall / parse)
        fresh.append(wall / process[0] if process else float("nan"))

    def spread(ratios: list[float]) -> str:
        return f"median {statistics.median(ratios):.2f}x (from {min(ratios):.2f}x to {max(ratios):.2f}x)"

    return (
        f"  paired rounds ({rounds}: parse, kverify, fresh-process parse, one after another): kverify / orjson "
        f"in process {spread(warm)}; kverify / orjson in a fresh interpreter {spread(fresh)}"
    )


def kverify_child_env(root: str) -> dict[str, str]:
    """The environment for the timed ``kverify`` children, as a user's install runs: ``root`` on the
    path, and bytecode caching on (a PYTHONDONTWRITEBYTECODE set here would make every child compile
    all of kverify from source, ~0.25 s CPU that no install pays: pip compiles bytecode on install,
    an editable install caches it on first run)."""
    # PYTHONUNBUFFERED too, set in some CI environments: a user's stdout is buffered.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return env


def compile_kverify(root: str) -> str:
    """Compile kverify's modules to cached bytecode before the timed runs (what pip does on install),
    untimed; returns the line saying so, to print."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.join(root, "kverify")],
        check=True,
        env=kverify_child_env(root),
    )
    return (
        "kverify children: bytecode compiled first (untimed, as pip does on install), "
        "PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED unset"
    )


def peak_total_memory_mb(command: list[str], env: dict[str, str]) -> float | None:
    """The peak memory of ``command`` and the processes it forks (kverify's slice worker), in MB: their
    proportional set sizes summed (each shared page counted once in all), sampled every 5 ms while it
    runs (an untimed run: reading a process's page tables costs it time). ``None`` without Linux's
    ``/proc``."""
    if not os.path.exists("/proc/self/smaps_rollup"):
        return None
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kb = 0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/task/{process.pid}/children") as children:
                pids = [process.pid, *map(int, children.read().split())]
        except OSError:
            pids = [process.pid]
        peak_kb = max(peak_kb, sum(map(_pss_kb, pids)))
        time.sleep(0.005)
    return peak_kb / 1024


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:  # it ended
        return 0


#: Runs kverify, then prints its peak memory (KB) on stderr: the process's own high-water mark
#: (VmHWM), not ru_maxrss, which Linux carries over fork and exec from the parent (this script, that
#: held the generated snapshot: it reported 4.7 GB for a run that peaked at 1.1 GB).
PEAK_SCRIPT = (
    "import resource, runpy, sys; sys.argv = ['kverify', *sys.argv[1:]]\n"
    "def peak_kb():\n"
    "    try:\n"
    "        with open('/proc/self/status') as status:\n"
    "            return next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))\n"
    "    except (OSError, StopIteration):\n"
    "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    # The console entry point ends with os._exit (no teardown, no finally): print the peak just before.
    "import os\n_exit = os._exit\n"
    "def exit_after_peak(code):\n"
    "    print(peak_kb(), file=sys.stderr); sys.stderr.flush(); _exit(code)\n"
    "os._exit = exit_after_peak\n"
    "try:\n    runpy.run_module('kverify', run_name='__main__')\n"
    "finally:\n    print(peak_kb(), file=sys.stderr)\n"
)
