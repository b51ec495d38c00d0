"""``python -m kverify``."""

from kverify.launch import main

main()
