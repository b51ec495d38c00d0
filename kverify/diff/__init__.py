"""``kverify diff``: the behaviour that changes between two revisions of manifests and specs."""

from kverify.diff.behaviour import Kind, Observed, Probe
from kverify.diff.compare import BehaviourChange, ClaimChange, Diff, diff
from kverify.diff.revision import Environment, Revision, read_revision

__all__ = [
    "BehaviourChange",
    "ClaimChange",
    "Diff",
    "Environment",
    "Kind",
    "Observed",
    "Probe",
    "Revision",
    "diff",
    "read_revision",
]
