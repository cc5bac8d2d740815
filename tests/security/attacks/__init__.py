"""The attack suite: attack inputs against a running gunicorn on PostgreSQL.

One live server (``target.LiveApp``, CSRF on, rate limits off) serves every
file here; each file attacks one thing. Each attack must fail safely: no
redirect off-site, no script run, no 5xx, nothing stored that should not be.
Every request goes to loopback only.
"""
