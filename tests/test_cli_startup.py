"""What ``kverify trace`` and ``kverify check`` load at start-up: not the Z3 engine, not Hypothesis,
not package metadata, not PyYAML for JSON input (issue 11: on a big snapshot every tenth of a second of
start-up counts against the parse time). Each runs in a fresh interpreter, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_MANIFEST = json.loads((Path(__file__).parent / "data" / "startup-snapshot.json").read_text())

#: Modules these commands must not load on JSON input: the solver, the fuzzer, importlib.metadata (--version
#: only), PyYAML (YAML input and written counterexamples only: ~30 ms) and jsonschema (the tests' own).
_HEAVY = ("z3", "hypothesis", "importlib.metadata", "yaml", "jsonschema")

_PROBE = """
import json, sys
from kverify.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}), file=sys.stderr)
"""


#: _MANIFEST with a second node, which has none of the eTP Local Service's endpoints: a finding, whose
#: counterexample carries a reproducing command (built without the solver).
_WITH_FINDING = {
    **_MANIFEST,
    "items": [
        *_MANIFEST["items"][:1],  # type: ignore[index]
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-b"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.11"}]},
        },
        *_MANIFEST["items"][1:],  # type: ignore[index]
    ],
}


@pytest.mark.parametrize(
    ("command", "manifest"),
    [
        (["trace", "{file}", "--service", "shop/web", "--to", "node-port", "--from", "external"], _MANIFEST),
        (
            ["trace", "{file}", "--service", "shop/web", "--to", "node-port", "--from", "external", "--format", "json"],
            _MANIFEST,
        ),
        (["check", "{file}", "--format", "json"], _MANIFEST),
        (["check", "{file}"], _MANIFEST),
        (["check", "{file}", "--format", "json"], _WITH_FINDING),
    ],
    ids=["trace", "trace --format json", "check --format json", "check", "check with a finding"],
)
def test_trace_and_check_of_manifests_load_neither_the_solver_nor_hypothesis(
    tmp_path: Path, command: list[str], manifest: dict[str, object]
) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(manifest))
    argv = [part.replace("{file}", str(snapshot)) for part in command]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (_HEAVY,), *argv], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == (1 if manifest is _WITH_FINDING else 0), done.stderr
    # A counterexample on a cluster this small carries the cluster written as YAML (its manifest): PyYAML's
    # emitter is then needed. Everything else on this list never is.
    needed = ["yaml"] if manifest is _WITH_FINDING else []
    assert report["loaded"] == needed, f"{' '.join(command[:1])} loaded {report['loaded']} at start-up"


def test_version_is_still_printed() -> None:
    done = subprocess.run([sys.executable, "-m", "kverify", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("kverify ") and done.stdout.strip() != "kverify"


_TOP_LEVEL_PROBE = """
import json, sys
from kverify.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules if m.startswith("kverify."))}), file=sys.stderr)
"""


@pytest.mark.parametrize(("argv", "code"), [(["--version"], 0), (["--help"], 0), (["-h", "check"], 0), ([], 2)])
def test_version_and_help_build_no_subcommand(argv: list[str], code: int) -> None:
    """``kverify --version``, ``--help`` and a bare ``kverify`` end before any subcommand is read: none of the
    subcommands' arguments is built, so neither the model nor the loader (their defaults) is imported."""
    done = subprocess.run([sys.executable, "-c", _TOP_LEVEL_PROBE, *argv], capture_output=True, text=True, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": code, "loaded": ["kverify.cli", "kverify.errors"]}, done.stderr


_CHECK_PROBE = """
import json, sys
from kverify.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.startswith("kverify.check"))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def test_trace_does_not_load_the_check_engine(tmp_path: Path) -> None:
    """``kverify.check`` (spec files, the built-in checks) is imported by trace only for ``--node-pool``."""
    manifest = tmp_path / "snapshot.json"
    manifest.write_text(json.dumps(_MANIFEST))
    argv = ["trace", str(manifest), "--service", "shop/web", "--to", "node-port", "--from", "external"]
    done = subprocess.run(
        [sys.executable, "-c", _CHECK_PROBE, *argv], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}, done.stderr


def test_trace_of_json_loads_neither_hashlib_nor_socket(tmp_path: Path) -> None:
    """hashlib (OpenSSL) is imported only to allocate an address a Service lacks, and slice_columns takes
    inet_pton from socket's C module: a trace of a snapshot with every address given needs neither."""
    assert _trace_of_the_snapshot_loads(tmp_path, ("hashlib", "socket")) == []


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_trace_of_a_snapshot_does_not_load_the_workload_model(tmp_path: Path, output: str) -> None:
    """Pods, scheduling and rollouts (kverify.model.workload, ~12 ms of attrs classes) are for design-time
    manifests; a snapshot's Nodes, Service and EndpointSlices are routed without them."""
    modules = ("kverify.model.workload", "kverify.load.workloads", "kverify.load.scheduling")
    assert _trace_of_the_snapshot_loads(tmp_path, modules, "--format", output) == []


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_check_of_a_snapshot_loads_neither_the_workload_model_nor_the_spec_language(
    tmp_path: Path, output: str
) -> None:
    """A snapshot has no workloads and no spec file: the check of one imports neither (issue 11: 21 attrs
    classes, ~10 ms of start-up). A spec file or a Deployment in the input imports them where needed."""
    modules = ("kverify.model.workload", "kverify.check.specfile", "kverify.check.specfile.pools")
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(_WITH_FINDING))
    argv = ["check", str(snapshot), "--format", output]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (modules,), *argv], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 1, done.stderr
    assert report["loaded"] == []


def _trace_of_the_snapshot_loads(tmp_path: Path, modules: tuple[str, ...], *options: str) -> list[str]:
    """Which of ``modules`` a fresh ``kverify trace`` of _MANIFEST (with ``options``) loads; it must exit 0."""
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(_MANIFEST))
    argv = ["trace", str(snapshot), "--service", "shop/web", "--to", "node-port", "--from", "external", *options]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (modules,), *argv], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return report["loaded"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_trace_to_a_service_does_not_load_the_address_question(tmp_path: Path, output: str) -> None:
    """A packet to an address of no Service (``--to-address``: AddressFlow, the service CIDR's route and
    its rule's situation, three attrs classes built at import) is imported only when asked."""
    modules = ("kverify.model.address_flow", "kverify.concrete.service_cidr", "kverify.semantics.unallocated")
    assert _trace_of_the_snapshot_loads(tmp_path, modules, "--format", output) == []


def test_the_address_question_is_still_exported_where_it_was() -> None:
    """``kverify.model.AddressFlow`` and ``kverify.concrete.route_address``, imported on first use, are the
    classes and functions their modules define; a name neither package has is still an AttributeError."""
    import kverify.concrete
    import kverify.model
    from kverify.concrete.service_cidr import route_address
    from kverify.model.address_flow import AddressFlow

    assert kverify.model.AddressFlow is AddressFlow
    assert kverify.concrete.route_address is route_address
    assert "AddressFlow" in kverify.model.__all__ and "route_address" in kverify.concrete.__all__
    for package in (kverify.model, kverify.concrete):
        with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
            package.nothing_here  # noqa: B018
