"""``python -m kverify``."""

from kverify.cli import main

raise SystemExit(main())
