"""gunicorn's access log as JSON lines, matching the app's own logs on a platform.

gunicorn formats access lines with a %-template, which cannot escape a quote
in a user agent; this logger builds each line with ``json.dumps`` instead.
``gunicorn.conf.py`` selects it when ``LOG_FORMAT`` is ``json``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    """One JSON object per request, with the request id the app echoed."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Log one finished request (gunicorn calls this after each response)."""
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{atoms['r']} {atoms['s']}",
            "request_id": atoms.get("{x-request-id}o", "-"),
            "method": atoms["m"],
            "path": atoms["U"],
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "remote_addr": atoms["h"],
            "user_agent": atoms["a"],
        }
        self.access_log.info(json.dumps(entry, ensure_ascii=False))
