"""v1 Endpoints objects, read as the EndpointSlice mirroring controller copies them into EndpointSlices.

Expected values from ``kubernetes/kubernetes pkg/controller/endpointslicemirroring``: a Service without a
selector has its Endpoints mirrored (``addresses`` ready, ``notReadyAddresses`` not ready, each subset's
ports); a Service with a selector, an Endpoints labelled ``endpointslice.kubernetes.io/skip-mirror: "true"``,
or one without a Service is not. Before, kverify skipped every Endpoints object, so a selector-less Service
given its endpoints that way was traced as REJECTED (no endpoints), a wrong verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kverify.cli import main
from kverify.errors import InputError
from kverify.load import load_manifests

NODES = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
---
"""
#: A Service for a database outside the cluster, its endpoints written by hand (the shape of the
#: Kubernetes docs' "Services without selectors" example).
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: pg, port: 5432, targetPort: 5432}]
---
"""
ENDPOINTS = """\
apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: shop}
subsets:
- addresses: [{ip: 10.1.2.3}, {ip: 10.1.2.4, nodeName: node-b}]
  notReadyAddresses: [{ip: 10.1.2.5}]
  ports: [{name: pg, port: 5432}]
"""
SLICE = """\
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-x7k2p
  namespace: shop
  labels:
    kubernetes.io/service-name: db
    endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: [10.1.2.3]
  conditions: {ready: true}
- addresses: [10.1.2.4]
  conditions: {ready: true}
  nodeName: node-b
- addresses: [10.1.2.5]
  conditions: {ready: false}
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "db.yaml"
    path.write_text(text)
    return str(path)


def db_endpoints(path: str) -> list[tuple[str, str | None, bool]]:
    (service,) = load_manifests([path]).services
    return [(e.ip, e.node_name, e.ready) for e in service.endpoints]


def test_a_selector_less_service_gets_its_endpoints_as_the_mirroring_controller_copies_them(tmp_path: Path) -> None:
    mirrored = db_endpoints(write(tmp_path, NODES + SERVICE + ENDPOINTS))
    assert mirrored == [("10.1.2.3", None, True), ("10.1.2.4", "node-b", True), ("10.1.2.5", None, False)]
    # The same as the EndpointSlice the controller writes, given instead.
    assert mirrored == db_endpoints(write(tmp_path, NODES + SERVICE + SLICE.removeprefix("---\n")))


def test_trace_delivers_to_the_mirrored_endpoints_not_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, NODES + SERVICE + ENDPOINTS)
    args = ["trace", path, "--service", "shop/db", "--to", "cluster-ip", "--from", "pod", "--node", "node-a"]
    assert main([*args, "--format", "json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    # The two ready addresses, never the not-ready one, never a REJECT.
    assert sorted(o["endpoint_ip"] for o in outcomes) == ["10.1.2.3", "10.1.2.4"]
    assert all(o["delivered"] for o in outcomes)


def test_only_not_ready_addresses_leave_the_service_without_endpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_ready = ENDPOINTS.replace("addresses: [{ip: 10.1.2.3}, {ip: 10.1.2.4, nodeName: node-b}]", "addresses: []")
    path = write(tmp_path, NODES + SERVICE + not_ready)
    args = ["trace", path, "--service", "shop/db", "--to", "cluster-ip", "--from", "pod", "--node", "node-a"]
    assert main(args) == 0
    assert "REJECTED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(
            ("  ports: [{name: pg", "  selector: {app: db}\n  ports: [{name: pg"),
            "the Service has a selector: the EndpointSlice controller manages its endpoints",
            id="a Service with a selector keeps the EndpointSlice controller's endpoints",
        ),
        pytest.param(
            (
                "metadata: {name: db, namespace: shop}\nsubsets",
                "metadata:\n  name: db\n  namespace: shop\n"
                '  labels: {endpointslice.kubernetes.io/skip-mirror: "true"}\nsubsets',
            ),
            'labelled endpointslice.kubernetes.io/skip-mirror: "true": the mirroring controller does not copy it',
            id="skip-mirror",
        ),
        pytest.param(
            ("name: db, namespace: shop}\nspec", "name: other, namespace: shop}\nspec"),
            "no Service of this name in the manifests",
            id="no Service of the name",
        ),
    ],
)
def test_endpoints_the_controller_does_not_mirror_are_skipped_with_the_reason(
    tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    text = (NODES + SERVICE + ENDPOINTS).replace(*change)
    assert text != NODES + SERVICE + ENDPOINTS
    loaded = load_manifests([write(tmp_path, text)])
    assert [e.ip for s in loaded.services for e in s.endpoints] == []
    (line,) = [s for s in loaded.skipped if "Endpoints shop/db" in s]
    assert reason in line


def test_a_snapshot_with_the_mirrored_slice_too_is_not_counted_twice(tmp_path: Path) -> None:
    path = write(tmp_path, NODES + SERVICE + ENDPOINTS + SLICE)
    assert [ip for ip, _, _ in db_endpoints(path)] == ["10.1.2.3", "10.1.2.4", "10.1.2.5"]
    assert any("EndpointSlices of the Service are given" in s for s in load_manifests([path]).skipped)


def test_a_bad_address_names_file_object_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, NODES + SERVICE + ENDPOINTS.replace("ip: 10.1.2.4", "ip: 10.1.2.400"))
    with pytest.raises(InputError) as raised:
        load_manifests([path])
    message = str(raised.value)
    assert f"{path}:" in message and "Endpoints shop/db: subsets[0].addresses[1].ip: Invalid value" in message


def test_the_cli_says_bad_input_in_one_line_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, NODES + SERVICE + ENDPOINTS.replace("port: 5432}]\n", "port: 70000}]\n"))
    assert main(["check", path]) == 2
    err = capsys.readouterr().err
    assert "Endpoints shop/db: subsets[0].ports[0].port: Invalid value: 70000" in err
    assert "Traceback" not in err


def test_past_1000_addresses_a_subset_is_cut_as_the_controller_cuts_it(tmp_path: Path) -> None:
    addresses = ", ".join(f"{{ip: 10.1.{i // 250}.{i % 250 + 1}}}" for i in range(1001))
    many = ENDPOINTS.replace("[{ip: 10.1.2.3}, {ip: 10.1.2.4, nodeName: node-b}]", f"[{addresses}]")
    loaded = load_manifests([write(tmp_path, NODES + SERVICE + many)])
    (service,) = loaded.services
    assert len(service.endpoints) == 1000 and all(e.ready for e in service.endpoints)  # ready ones first
    assert any("2 addresses past 1000" in str(w) for w in loaded.warnings)


def test_without_endpoints_in_the_manifests_a_selector_less_service_is_unknown_not_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No controller makes a selector-less Service's endpoints: whoever writes them is outside the manifests,
    so a trace at design time cannot say the Service REJECTs (it did: no workload, no endpoint)."""
    path = write(tmp_path, SERVICE)
    assert main(["trace", path, "--service", "shop/db", "--to", "cluster-ip", "--from", "pod"]) == 3
    out = capsys.readouterr().out
    assert "UNKNOWN: the Service has no selector: its endpoints are EndpointSlices (or an Endpoints object)" in out
    assert "REJECTED" not in out
