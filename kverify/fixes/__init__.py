"""Fixes: for a refuted claim, the smallest sets of changes that make it hold, each decided again."""

from kverify.fixes.candidates import Change, changes_for
from kverify.fixes.search import ClaimFixes, Fix, fixes_for

__all__ = ["Change", "ClaimFixes", "Fix", "changes_for", "fixes_for"]
