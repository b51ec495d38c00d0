"""Built-in checks: what ``kverify check MANIFESTS`` finds without a spec."""

from kverify.check.catalogue import CHECKS, BuiltinCheck
from kverify.check.run import facts_for, run_builtin

__all__ = ["CHECKS", "BuiltinCheck", "facts_for", "run_builtin"]
