"""``kverify.cli._keep_until_exit``: the console entry point holds what a command built until its
``os._exit`` (freeing a big snapshot object by object is work the exit skips); ``main()`` called in a
process that goes on holds nothing, so repeated calls (tests, the pytest plugin) free as usual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kverify import cli

_SNAPSHOT = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-a"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.10"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": [{"addresses": ["10.244.0.5"], "nodeName": "node-a"}],
        },
    ],
}

#: Runs the console entry point with os._exit replaced: it reports what was kept, then exits.
_PROBE = """
import json, os, sys
from kverify import cli
real_exit = os._exit
def report_and_exit(code):
    kept = [type(v).__name__ for values in cli._KEPT_UNTIL_EXIT for v in values]
    print(json.dumps({"code": code, "kept": kept}), file=sys.stderr)
    sys.stderr.flush()
    real_exit(code)
os._exit = report_and_exit
sys.argv = ["kverify", *sys.argv[1:]]
cli.console_main()
"""


def _kept(tmp_path: Path, *argv: str) -> dict[str, object]:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(_SNAPSHOT))
    words = [str(snapshot) if word == "{file}" else word for word in argv]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *words], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    return json.loads(done.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_console_entry_point_keeps_the_snapshot_of_a_trace_and_of_a_check(tmp_path: Path) -> None:
    trace = _kept(tmp_path, "trace", "{file}", "--service", "shop/web", "--to", "cluster-ip", "--from", "pod")
    assert trace["code"] == 0
    # What the loader read on the way too (the documents, the objects read from them): see load_manifests.
    assert {"LoadedManifests", "Cluster", "_Assembly"} <= set(trace["kept"])  # type: ignore[arg-type]
    check = _kept(tmp_path, "check", "{file}", "--format", "json", "--allow-nothing-checked")
    assert check["code"] == 0
    assert {"LoadedManifests", "Cluster", "CheckRun", "_Assembly"} <= set(check["kept"])  # type: ignore[arg-type]


def test_main_in_a_process_that_goes_on_keeps_nothing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(_SNAPSHOT))
    argv = ["trace", str(snapshot), "--service", "shop/web", "--to", "cluster-ip", "--from", "pod"]
    assert cli.main(argv) == 0
    assert cli._KEPT_UNTIL_EXIT is None
    assert "delivered" in capsys.readouterr().out


#: As _PROBE, but reports whether the cyclic GC is on when the console entry point ends the process.
_GC_PROBE = _PROBE.replace('"kept": kept', '"kept": kept, "gc": __import__("gc").isenabled()')


def test_the_console_entry_point_ends_a_trace_and_a_check_with_the_cyclic_gc_still_off(tmp_path: Path) -> None:
    """Turned back on, the GC would walk every object the command allocated (all in its youngest
    generation) at the next allocation, just before the process ends: the console leaves it off."""
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(_SNAPSHOT))
    for argv in (
        ["trace", str(snapshot), "--service", "shop/web", "--to", "cluster-ip", "--from", "pod"],
        ["check", str(snapshot), "--format", "json", "--allow-nothing-checked"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", _GC_PROBE, *argv], capture_output=True, text=True, check=False, cwd=tmp_path
        )
        report = json.loads(done.stderr.strip().splitlines()[-1])
        assert (report["code"], report["gc"]) == (0, False), done.stderr


def test_main_in_a_process_that_goes_on_turns_the_cyclic_gc_back_on(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import gc

    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(_SNAPSHOT))
    assert gc.isenabled()
    assert cli.main(["trace", str(snapshot), "--service", "shop/web", "--to", "cluster-ip", "--from", "pod"]) == 0
    assert gc.isenabled()
    assert cli.main(["check", str(snapshot), "--format", "json", "--allow-nothing-checked"]) == 0
    assert gc.isenabled()
    capsys.readouterr()
