"""Spec files: claims about Services, decided on the manifests they name (or an inline topology)."""

from kverify.check.specfile.evaluate import builtin_run, claim_result, decide_claim, evaluate
from kverify.check.specfile.loader import is_spec_file, load_spec
from kverify.check.specfile.model import Spec, SpecClaim

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
