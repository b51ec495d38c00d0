"""Where manifests come from: namespaces as ``kubectl apply -n`` sets them, standard input,
directories read recursively, and what is skipped (one line in every command)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
import yaml

from kverify.cli import main
from kverify.load import load_manifests
from kverify.load.manifests import skipped_summary

WEB = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
SHOP_DB = "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\nspec: {ports: [{port: 5432}]}\n"
NODE = (
    "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\n"
    "status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        pytest.param("default", {"default/web", "shop/db"}, id="objects without a namespace land in default"),
        pytest.param("team-a", {"team-a/web", "shop/db"}, id="-n puts objects without a namespace there, not others"),
    ],
)
def test_objects_without_a_namespace_land_where_kubectl_apply_n_puts_them(tmp_path, namespace, expected) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "m.yaml", WEB + "---\n" + SHOP_DB)
    assert {s.key for s in load_manifests([path], namespace=namespace).services} == expected


def test_a_directory_is_read_recursively_leaving_out_hidden_folders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "base/web.yaml", WEB)
    write(tmp_path, "overlays/prod/db.yml", SHOP_DB)
    write(tmp_path, "overlays/prod/node.json", json.dumps(yaml.safe_load(NODE)))
    write(tmp_path, ".git/config.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: broken\n")
    write(tmp_path, "README.md", "# not read")
    loaded = load_manifests([tmp_path])
    assert {s.key for s in loaded.services} == {"default/web", "shop/db"}
    assert [n.name for n in loaded.nodes] == ["node-a"]


def test_files_that_are_no_kubernetes_objects_and_kinds_not_modelled_are_counted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "chart/values.yaml", "replicaCount: 3\nimage: {repository: web, tag: '1.0'}\n")
    write(tmp_path, "chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")  # no kind, no metadata
    write(tmp_path, "kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
    write(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n" + WEB)
    loaded = load_manifests([tmp_path])
    kinds = ["(not a Kubernetes object)", "(not a Kubernetes object)", "ConfigMap", "Kustomization"]
    assert sorted(loaded.skipped_kinds) == kinds
    assert skipped_summary(loaded.skipped_kinds) == "skipped 4 objects of 3 kinds not modelled; --verbose lists them"
    assert skipped_summary(["ConfigMap"]) == "skipped 1 object of 1 kind not modelled; --verbose lists them"
    assert skipped_summary([]) is None


@pytest.mark.parametrize(
    "stdin",
    [
        pytest.param(WEB + "---\n" + NODE, id="YAML on standard input"),
        pytest.param(
            json.dumps({"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(WEB), yaml.safe_load(NODE)]}),
            id="a JSON list on standard input",
        ),
    ],
)
def test_dash_reads_standard_input(monkeypatch, capsys, stdin) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    argv = ["trace", "-", "-n", "web-ns", "--service", "web-ns/web", "--to", "cluster-ip", "--from", "pod"]
    assert main([*argv, "--node", "node-a", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["service"] == "web-ns/web"
    assert set(document["allocated"]) == {"spec.clusterIP"}


def test_check_reads_standard_input_and_says_what_it_skipped_in_one_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    text = WEB + "---\napiVersion: apps/v1\nkind: ControllerRevision\nmetadata: {name: r}\n---\n" + NODE
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\n"
    text += "metadata: {name: b}\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["check", "-", "--format", "json"]) in (0, 1)
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["skipped 3 objects of 2 kinds not modelled; --verbose lists them"]
    report = json.loads(captured.out)
    assert len(report["skipped"]) == 3
    assert set(report["allocated"]["default/web"]) == {"spec.clusterIP"}


def test_a_spec_says_where_objects_without_a_namespace_land(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kverify.check.specfile import load_spec

    write(tmp_path, "manifests/web.yaml", WEB + "---\n" + NODE)
    spec = write(
        tmp_path,
        "spec.yaml",
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: ns}\nnamespace: shop\n"
        "manifests: [manifests]\nclaims:\n- {id: c, service: shop/web, from: pod, property: never-dropped}\n",
    )
    loaded = load_spec(str(spec))
    assert [s.key for s in loaded.cluster.services] == ["shop/web"]
    assert loaded.namespace == "shop"


#: traefik/traefik-helm-chart traefik/templates/service.yaml's opening, unrendered.
CHART_TEMPLATE = """\
{{- if .Values.service.enabled -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ template "traefik.fullname" . }}
"""


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param(CHART_TEMPLATE, True, id="a chart's template says to render it first"),
        pytest.param("apiVersion: v1\nkind: Service\nmetadata: {name: web\n", False, id="plain bad YAML does not"),
    ],
)
def test_a_helm_template_is_bad_input_that_says_to_render_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, hint: bool
) -> None:
    path = write(tmp_path, "service.yaml", text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:") and ": invalid YAML: " in err and "Traceback" not in err
    assert ("render it first, e.g. helm template NAME CHART | kverify check -" in err) is hint
