"""``spec.publishNotReadyAddresses`` where kverify derives endpoint conditions from pods (a change: rollout,
node failure), rather than reading them from EndpointSlices.

Kubernetes (kubernetes/kubernetes staging/src/k8s.io/endpointslice/utils.go ``podToEndpoint``, at 115584ee):
``serving`` is the pod's readiness, ``terminating`` its deletion, and
``ready := service.Spec.PublishNotReadyAddresses || (serving && !terminating)``; the reconciler lists every pod
with an IP, terminating ones included (``ShouldPodBeInEndpoints(pod, true)``). kube-proxy sends to Ready
endpoints. So a pod that is not Ready yet, or NotReady on a dead node, still gets connections.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from kverify.change.timeline import INF, PodLife
from kverify.cli import main
from kverify.load import load_manifests

# A pod scheduled at 0 s on node-a, Ready at 30 s, deleted at 100 s with a 20 s PreStop sleep.
POD = PodLife(
    name="web-1", node="node-a", generation="new", created=0.0, ready_at=30.0, deleted_at=100.0, serving_for=20.0
)
# Created at 0 s, Pending until scheduled at 10 s, Ready 30 s after that.
LATE = PodLife(name="web-2", node="node-a", generation="new", created=0.0, ready_at=40.0, scheduled_at=10.0)
# On a node that fails: NotReady at 60 s, evicted at 360 s, never confirmed gone (no kubelet).
STRANDED = PodLife(
    name="web-3",
    node="node-b",
    generation="old",
    created=-INF,
    ready_at=-INF,
    not_ready_at=60.0,
    deleted_at=360.0,
    stranded=True,
)


@pytest.mark.parametrize(
    ("pod", "t", "plain", "published"),
    [
        pytest.param(POD, 10.0, None, (True, False, False), id="starting: left out, or listed Ready (not serving)"),
        pytest.param(POD, 50.0, (True, True, False), (True, True, False), id="Ready: the same either way"),
        pytest.param(POD, 110.0, (False, True, True), (True, True, True), id="PreStop: serving-terminating, or Ready"),
        pytest.param(POD, 130.0, None, None, id="gone: left out either way"),
        pytest.param(LATE, 5.0, None, None, id="Pending, no IP yet: left out either way"),
        pytest.param(LATE, 20.0, None, (True, False, False), id="scheduled, not Ready: listed Ready"),
        pytest.param(STRANDED, 100.0, (False, False, False), (True, False, False), id="NotReady on a dead node"),
        pytest.param(STRANDED, 400.0, (False, False, True), (True, False, True), id="evicted, stays terminating"),
    ],
)
def test_conditions_follow_pod_to_endpoint(
    pod: PodLife,
    t: float,
    plain: tuple[bool, bool, bool] | None,
    published: tuple[bool, bool, bool] | None,
) -> None:
    assert pod.conditions(t) == plain
    assert pod.conditions(t, publish_not_ready=True) == published


SERVICE = """\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  type: ClusterIP
  publishNotReadyAddresses: {value}
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""
DEPLOYMENT = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example/web:2
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /ready, port: 8080}, initialDelaySeconds: 10}
"""
SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: rollout}
manifests: [web.yaml]
nodes: [{pool: workers, count: 2}]
environment: {dataplane: iptables}
claims:
  - {id: rollout-reaches-ready-pods, service: shop/web, property: reaches-ready-pod, from: pod, via: cluster-ip,
     during: {rollout: {}}}
"""


def test_the_loader_reads_it_and_rejects_a_non_boolean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(SERVICE.format(value="true"))
    (service,) = load_manifests([str(path)]).services
    assert service.publish_not_ready_addresses
    path.write_text(SERVICE.format(value='"yes"'))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f'{path}:6: Service shop/web: spec.publishNotReadyAddresses: Invalid value: "yes": must be a boolean'
    )


@pytest.mark.parametrize(("value", "expected"), [("true", 1), ("false", 0)])
def test_a_rollout_sends_to_pods_not_ready_yet_only_when_they_are_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "web.yaml").write_text(SERVICE.format(value=value) + DEPLOYMENT)
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert main(["check", "spec.yaml"]) == expected
    out = capsys.readouterr().out
    if not expected:
        return  # maxSurge 1, maxUnavailable 0, no PreStop: every connection reaches a Ready pod
    assert "whose pod is not Ready (publishNotReadyAddresses" in out
    assert "listed Ready before its readiness probe passes" in out
    (command,) = [line.split("reproduce: ", 1)[1] for line in out.splitlines() if "reproduce: " in line]
    # The exported counterexample carries the flag and the conditions: kube-proxy delivers to the new pod.
    exported = next((tmp_path / ".kverify" / "counterexamples").glob("*.yaml")).read_text()
    assert "publishNotReadyAddresses: true" in exported
    main(shlex.split(command)[1:])
    assert "web-new-0" in capsys.readouterr().out


FAILURE_SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: failure}
manifests: [web.yaml]
nodes: [{pool: workers, count: 3}]
environment: {dataplane: iptables, loadBalancer: health-checked, kubernetesVersion: "1.34"}
claims:
  - id: never-drops
    service: shop/web-cluster
    property: never-dropped
    during: {nodeFailure: {nodes: 1}, healthCheck: gcp}
"""
BUNDLED = Path(__file__).parent.parent / "specs" / "manifests" / "design" / "web-failure.yaml"


@pytest.mark.parametrize(
    ("published", "lost"),
    [
        # The node lifecycle controller marks the pod NotReady after 50 s + 2 x 5 s (v1.32+): ready: false then.
        pytest.param(False, "connections not delivered 60 s per node failure", id="unpublished: lost for 60 s"),
        # ready stays true, and the evicted pod stays terminating (no kubelet confirms it gone): lost for good.
        pytest.param(True, "connections not delivered without end", id="published: kube-proxy keeps the dead pod"),
    ],
)
def test_a_dead_nodes_pod_stays_ready_for_kube_proxy_when_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, published: bool, lost: str
) -> None:
    monkeypatch.chdir(tmp_path)
    text = BUNDLED.read_text()
    if published:
        text = text.replace(
            "  externalTrafficPolicy: Cluster\n", "  externalTrafficPolicy: Cluster\n  publishNotReadyAddresses: true\n"
        )
        assert "publishNotReadyAddresses" in text
    (tmp_path / "web.yaml").write_text(text)
    (tmp_path / "spec.yaml").write_text(FAILURE_SPEC)
    assert main(["check", "spec.yaml"]) == 1
    assert lost in capsys.readouterr().out
