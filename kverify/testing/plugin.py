"""kverify's pytest plugin (registered under the ``pytest11`` entry point).

It must stay cheap to import: pytest loads it in every project that installs kverify.
"""
