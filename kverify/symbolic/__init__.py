"""The Z3 encoding: the rule table interpreted over symbolic clusters. The only layer that imports z3."""
