"""A fix's patch is computed from its object's YAML document only (kverify/fixes/edits.py SourceText). Applied
to the file, it must give exactly what the edit gives on the whole text; and where the file's documents
differ from one another, it must be exactly difflib's diff of the whole file, as kverify computed it before.
(Where documents repeat, difflib over the whole file may align a change with a neighbouring copy and patch
two documents, one of them far away; the document's own diff is then the smaller, local one.) The
documents, their fields and the edits are generated; hunk headers must carry the file's own line numbers."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.cli import main
from kverify.fixes import edits

KEYS = st.sampled_from(["type", "externalTrafficPolicy", "internalTrafficPolicy", "loadBalancerClass", "replicas"])
VALUES = st.sampled_from(["Local", "Cluster", "3", "LoadBalancer", "service.k8s.aws/nlb"])


@st.composite
def documents(draw: st.DrawFn, name: str | None = None) -> str:
    """One Service-like document: metadata (with or without annotations) and a spec of a few fields."""
    name = name or draw(st.from_regex(r"[a-z]{1,6}", fullmatch=True))
    lines = ["apiVersion: v1\n", "kind: Service\n", "metadata:\n", f"  name: {name}\n"]
    if draw(st.booleans()):
        lines += ["  annotations:\n", "    team: web\n"]
    lines.append("spec:\n")
    for key in draw(st.lists(KEYS, unique=True, min_size=1, max_size=4)):
        lines.append(f"  {key}: {draw(VALUES)}\n")
    if draw(st.booleans()):
        lines.append("# a comment\n")
    return "".join(lines)


@st.composite
def files(draw: st.DrawFn, distinct: bool = False) -> tuple[str, list[int]]:
    """A multi-document file and the 1-based line where each document's object starts; with ``distinct``,
    each document has a name of its own."""
    count = draw(st.integers(1, 8))
    docs = [draw(documents(f"service-{i}" if distinct else None)) for i in range(count)]
    text, starts, line = "", [], 1
    for i, doc in enumerate(docs):
        if i or draw(st.booleans()):
            separator = draw(st.sampled_from(["---\n", "--- # next\n"]))
            text += separator
            line += 1
        starts.append(line)
        text += doc
        line += doc.count("\n")
    return text, starts


def _edit(kind: str, key: str, value: str):  # type: ignore[no-untyped-def]
    if kind == "set":
        return lambda text, line: edits.set_field(text, line, ("spec",), key, value)
    if kind == "delete":
        return lambda text, line: edits.delete_field(text, line, ("spec",), key)
    return lambda text, line: edits.set_annotation(text, line, f"example.com/{key}", value)


def _whole_file_edit(text: str, changes: list[tuple[int, object]]) -> str:
    """The reference: each edit applied to the whole text at the object's line, the last object of the file
    first, so that lines an edit inserts do not move the objects still to edit. (kverify applied them in the
    fix's order before, and the second of two changes to one file could land in the wrong document.)"""
    for line, apply in sorted(changes, key=lambda change: -change[0]):
        text = apply(text, line)  # type: ignore[operator]
    return text


def _whole_file_patch(text: str, changes: list[tuple[int, object]]) -> str:
    """The reference patch: difflib over the whole file, before and after :func:`_whole_file_edit`."""
    after = _whole_file_edit(text, changes)
    diff = difflib.unified_diff(
        text.splitlines(keepends=True), after.splitlines(keepends=True), fromfile="a/f.yaml", tofile="b/f.yaml"
    )
    return "".join(diff)


def _document_patch(text: str, changes: list[tuple[int, object]]) -> str:
    """As kverify.fixes.search._patch computes it: each edit on its document's text only."""
    source = edits.SourceText(text)
    changed: dict[int, tuple[int, str]] = {}
    for line, apply in changes:
        begin, end = source.editable_document(line)
        current = changed[begin][1] if begin in changed else "".join(source.lines[begin:end])
        changed[begin] = (end, apply(current, max(1, line - begin)))  # type: ignore[operator]
    return source.unified("f.yaml", changed)


def _applied(text: str, patch: str) -> str:
    """``text`` with a unified diff applied, each hunk where its header says, its old lines checked."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    body = patch.splitlines(keepends=True)[2:]  # past the ---/+++ header
    i = 0
    while i < len(body):
        header = body[i]
        assert header.startswith("@@ -"), header
        old = header.split()[1][1:].split(",")
        start = int(old[0]) - (1 if len(old) == 1 or old[1] != "0" else 0)
        out += lines[at:start]
        at = start
        i += 1
        while i < len(body) and not body[i].startswith("@@ -"):
            mark, line = body[i][0], body[i][1:]
            if mark in " -":
                assert lines[at] == line, (at, lines[at], line)
                at += 1
            if mark in " +":
                out.append(line)
            i += 1
    return "".join(out + lines[at:])


def _wanted() -> st.SearchStrategy[list[tuple[int, str, str, str]]]:
    return st.lists(
        st.tuples(st.integers(0, 7), st.sampled_from(["set", "delete", "annotate"]), KEYS, VALUES),
        min_size=1,
        max_size=2,
    )


def _changes(starts: list[int], wanted: list[tuple[int, str, str, str]]) -> list[tuple[int, object]]:
    return [(starts[i % len(starts)], _edit(kind, key, value)) for i, kind, key, value in wanted]


@settings(max_examples=60, deadline=None)
@given(files(), _wanted())
def test_a_patch_from_the_documents_makes_the_edit_of_the_whole_file(
    file: tuple[str, list[int]], wanted: list[tuple[int, str, str, str]]
) -> None:
    text, starts = file
    changes = _changes(starts, wanted)
    try:
        expected = _whole_file_edit(text, changes)
    except edits.EditError:
        with pytest.raises(edits.EditError):
            _document_patch(text, changes)
        return
    assert _applied(text, _document_patch(text, changes)) == expected


@settings(max_examples=60, deadline=None)
@given(files(distinct=True), _wanted())
def test_where_documents_differ_the_patch_is_difflibs_patch_of_the_whole_file(
    file: tuple[str, list[int]], wanted: list[tuple[int, str, str, str]]
) -> None:
    text, starts = file
    changes = _changes(starts, wanted)
    try:
        expected = _whole_file_patch(text, changes)
    except edits.EditError:
        return
    assert _document_patch(text, changes) == expected


def test_hunk_headers_carry_the_file_line_numbers() -> None:
    docs = [f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\nspec:\n  type: NodePort\n" for i in range(300)]
    text = "---\n".join(docs)
    line = 1 + 7 * 250  # the 251st document: each is 6 lines and a separator
    source = edits.SourceText(text)
    begin, end = source.editable_document(line)
    assert source.lines[begin] == "apiVersion: v1\n" and source.lines[begin + 3] == "  name: s250\n"
    after = edits.set_field("".join(source.lines[begin:end]), line - begin, ("spec",), "type", "LoadBalancer")
    patch = source.unified("f.yaml", {begin: (end, after)})
    assert "@@ -1753,7 +1753,7 @@" in patch  # "  type: NodePort" of s250 is line 1756; 3 lines of context before
    assert _applied(text, patch) == _whole_file_edit(
        text, [(line, lambda t, n: edits.set_field(t, n, ("spec",), "type", "LoadBalancer"))]
    )


def test_where_documents_repeat_the_patch_stays_in_the_edited_document() -> None:
    # difflib over the whole file aligned this change with the next copy and deleted the last document.
    doc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  type: Local\n"
    text = "---\n".join([doc] * 12)
    change = [(8, _edit("set", "type", "Cluster"))]
    patch = _document_patch(text, change)
    assert patch.count("@@") == 2 and "@@ -10,7 +10,7 @@" in patch
    assert [line for line in patch.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-  type: Local",
        "+  type: Cluster",
    ]
    assert _applied(text, patch) == _whole_file_edit(text, change)


def test_a_line_outside_the_file_is_an_edit_error_not_a_crash() -> None:
    with pytest.raises(edits.EditError):
        edits.SourceText("a: 1\n").editable_document(5)


def test_an_item_of_a_list_is_refused_rather_than_patched_into_the_list_metadata() -> None:
    # kubectl get -o yaml: before, the annotations of a load-balancer fix went into the List's own metadata.
    text = (
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: web\n"
        "kind: List\nmetadata:\n  resourceVersion: ''\n"
    )
    with pytest.raises(edits.EditError, match="an item of a List"):
        edits.SourceText(text).editable_document(3)


SNAPSHOT_LIST = """\
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Node
  metadata: {name: node-a}
  status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
- apiVersion: v1
  kind: Node
  metadata: {name: node-b}
  status: {addresses: [{type: InternalIP, address: 192.168.0.12}]}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
  spec:
    type: LoadBalancer
    externalTrafficPolicy: Local
    healthCheckNodePort: 31000
    clusterIP: 10.96.0.20
    ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]
    selector: {app: web}
  status: {loadBalancer: {ingress: [{ip: 198.51.100.20}]}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: web-abc
    namespace: shop
    labels: {kubernetes.io/service-name: web}
  addressType: IPv4
  ports: [{port: 8080, protocol: TCP}]
  endpoints:
  - addresses: [10.244.1.5]
    conditions: {ready: true}
    nodeName: node-a
"""


def test_fixes_for_a_snapshot_list_say_why_there_is_no_patch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in (("cluster.yaml", SNAPSHOT_LIST), ("cluster.json", None)):
        path = tmp_path / name
        if text is None:
            import yaml

            path.write_text(json.dumps(yaml.safe_load(SNAPSHOT_LIST)))
        else:
            path.write_text(text)
        code = main(["check", str(path), "--load-balancer", "no-health-check", "--fixes", "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 1
        fixes = [fix for found in report["fixes"] for fix in found["fixes"]]
        assert {fix["changes"][0]["id"] for fix in fixes} >= {
            "external-traffic-policy-cluster",
            "load-balancer-aws-nlb-ip",
        }
        assert all(not fix["patch"] for fix in fixes)
        why = "an item of a List" if text is not None else "a JSON file: kverify patches YAML only"
        service_changes = [fix for fix in fixes if fix["changes"][0]["id"].startswith(("external-", "load-balancer-"))]
        for fix in service_changes:  # each would edit the Service (the others are flags and kubectl commands)
            assert any(why in reason for reason in fix["no_patch"]), fix["no_patch"]


def test_fixes_tell_their_progress_once_per_refuted_result(tmp_path: Path) -> None:
    # kverify check --fixes draws a bar from it on a terminal: deciding every fix again takes minutes on a
    # snapshot of thousands of nodes and findings.
    from kverify.check.findings import HOLDS
    from kverify.check.session import run_check
    from kverify.fixes.run import fixes_in_run
    from kverify.model import LoadBalancerProfile, ProxyConfig
    from kverify.verdicts import Refuted

    path = tmp_path / "cluster.yaml"
    path.write_text(SNAPSHOT_LIST)
    proxy, lb = ProxyConfig(), LoadBalancerProfile.NO_HEALTH_CHECK
    run = run_check([str(path)], proxy=proxy, load_balancer=lb)
    refuted = [r for r in run.failed if r.expected == HOLDS and isinstance(r.verdict, Refuted)]
    seen: list[tuple[int, int]] = []
    found = fixes_in_run([str(path)], run, proxy=proxy, load_balancer=lb, progress=lambda *told: seen.append(told))
    assert refuted and found
    assert seen == [(done, len(refuted)) for done in range(len(refuted) + 1)]
