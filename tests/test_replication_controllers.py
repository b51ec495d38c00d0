"""ReplicationControllers (core/v1) as workloads, as the API server defaults and validates them.

Rows from ``pkg/apis/core/v1/defaults.go`` ``SetDefaults_ReplicationController`` (an empty selector
becomes the template's labels; replicas default to 1) and ``pkg/apis/core/validation``
``ValidateReplicationControllerSpec`` (the selector is required, and must match the template's labels).
Before, kverify skipped them, so a Service in front of one (kubernetes/examples' guestbook) was Unknown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kverify.cli import main
from kverify.errors import InputError
from kverify.load import load_manifests
from kverify.model.workload import WorkloadKind

#: kubernetes/examples web/guestbook/legacy/frontend-controller.yaml, trimmed, with a NodePort Service
#: whose eTP is Local.
GUESTBOOK = """\
apiVersion: v1
kind: ReplicationController
metadata: {name: frontend}
spec:
  replicas: 3
  SELECTOR
  template:
    metadata:
      labels: {app: guestbook, tier: frontend}
    spec:
      containers:
      - name: php-redis
        image: gcr.io/google-samples/gb-frontend:v4
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: frontend}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  ports: [{port: 80}]
  selector: {app: guestbook, tier: frontend}
"""


def write(tmp_path: Path, selector: str) -> str:
    path = tmp_path / "frontend.yaml"
    path.write_text(GUESTBOOK.replace("SELECTOR", selector))
    return str(path)


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param("selector: {app: guestbook, tier: frontend}", id="a selector of its own"),
        pytest.param("selector: {}", id="an empty selector defaults to the template's labels"),
        pytest.param("", id="no selector defaults to the template's labels"),
    ],
)
def test_a_replication_controller_is_a_workload(tmp_path: Path, selector: str) -> None:
    (workload,) = load_manifests([write(tmp_path, selector)]).workloads
    assert workload.kind is WorkloadKind.REPLICATION_CONTROLLER
    assert workload.key.endswith("default/frontend") and workload.replicas == 3
    assert dict(workload.labels) == {"app": "guestbook", "tier": "frontend"}


def test_a_selector_the_template_does_not_match_is_the_api_server_s_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        load_manifests([write(tmp_path, "selector: {app: guestbook, tier: backend}")])
    assert "ReplicationController default/frontend: spec.template.metadata.labels: Invalid value: " in str(raised.value)
    assert "`selector` does not match template `labels`" in str(raised.value)


def test_the_service_in_front_is_decided_not_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three replicas cannot cover every node of every cluster: eTP Local on a NodePort drops on a node
    without one (rule drop-no-local-endpoints), which the solver shows with a placement."""
    assert main(["check", write(tmp_path, "selector: {app: guestbook, tier: frontend}")]) == 1
    out = capsys.readouterr().out
    assert "FAIL    etp-local-node-port" in out and "drop-no-local-endpoints" in out
    assert "ReplicationController" not in out.split("built-in checks")[0]  # not skipped
