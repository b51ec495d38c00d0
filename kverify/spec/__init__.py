"""Spec files: claims about Services, decided on the manifests they name (or an inline topology)."""

from kverify.spec.evaluate import builtin_run, claim_result, decide_claim, evaluate
from kverify.spec.loader import is_spec_file, load_spec
from kverify.spec.model import Spec, SpecClaim

__all__ = [
    "Spec",
    "SpecClaim",
    "builtin_run",
    "claim_result",
    "decide_claim",
    "evaluate",
    "is_spec_file",
    "load_spec",
]
