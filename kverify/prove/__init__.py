"""``kverify prove``: the theorem library (``claims.py``) and its orchestration (``run.py``): each claim
proved by Z3 for clusters of any size, or refuted with a minimal counterexample replayed through the
executable model."""
