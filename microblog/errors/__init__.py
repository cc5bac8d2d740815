"""Error pages: HTML for browsers, JSON for API clients (see ``handlers.init_app``)."""
