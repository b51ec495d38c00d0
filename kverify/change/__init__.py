"""Time as a sequence of states: rolling updates, node drains, and the load balancer's health-check window.

A change (a Deployment's rolling update, the drain of k nodes) is a timeline of states; each state is a
cluster the rule table routes, plus the nodes the load balancer still sends to (its health checks lag
behind the cluster by their interval x threshold). Claims are decided on every state
(:mod:`kverify.change.decide`).
"""
