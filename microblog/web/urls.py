"""Checks on URLs that come from the client."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a same-site relative path, else None.

    Browsers read ``//host``, ``/\\host`` and ``https:///host`` as other sites, so
    only a single leading slash followed by a non-slash is accepted.
    """
    if not target or len(target) > 2048:
        return None
    if any(ord(char) < 0x20 or char == "\\" for char in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
