"""Helpers for users' own tests: Hypothesis strategies, assertions, the pytest plugin."""
