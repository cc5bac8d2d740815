"""Read replicas: GET requests read from a replica, everything else uses the primary.

- ``session``: the session that picks a database per statement.
- ``routing``: which requests may read from a replica, and from which one.
- ``lag``: how far behind each replica is.
- ``read_your_writes``: a writer's reads stay on the primary for a while.
"""
