"""Running in production.

Health probes, logs, the access log, the migration lock, the deploy check and
the end of each request's database session.
"""
