"""CPU time of the loader's first stage on a JSON snapshot, beside orjson.loads of the same bytes.

The stage is what turns the file's bytes into the documents the loaders take and the EndpointSlices
into endpoints: ``read_file`` plus every ``slice_from`` call, timed inside ``load_manifests`` (whose
total is printed too). In-process CPU time (``time.process_time``), GC off as the loader runs, best of
``--repeat``: the figure a shared machine distorts least. Usage::

    python benchmarks/load_stage.py /work/bench/check.json --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

from kverify.load import kinds, manifests, sources


def _timed(spent: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - started

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        import orjson
    except ImportError:  # pragma: no cover - depends on the environment
        orjson = None
    with open(args.file, "rb") as handle:
        raw = handle.read()
    spent: dict[str, float] = {}
    manifests.read_file = _timed(spent, "read_file", sources.read_file)  # type: ignore[attr-defined]
    manifests.slice_from = _timed(spent, "slice_from", kinds.slice_from)  # type: ignore[attr-defined]
    best: dict[str, float] = {}
    gc.disable()
    for _ in range(args.repeat):
        spent.clear()
        if orjson is not None:
            started = time.process_time()
            orjson.loads(raw)
            spent["orjson.loads"] = time.process_time() - started
        started = time.process_time()
        manifests.load_manifests([args.file])
        spent["load_manifests"] = time.process_time() - started
        spent["stage"] = spent["read_file"] + spent.get("slice_from", 0.0)
        for name, seconds in spent.items():
            best[name] = min(best.get(name, float("inf")), seconds)
    figures = "  ".join(f"{name} {seconds:.3f} s" for name, seconds in best.items())
    ratio = f"  stage/orjson.loads {best['stage'] / best['orjson.loads']:.2f}" if "orjson.loads" in best else ""
    print(f"{args.file}: {figures}{ratio}")


if __name__ == "__main__":
    main()
