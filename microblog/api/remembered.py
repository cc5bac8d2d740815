"""API documents remembered by the values they show.

A read of one resource (``GET /api/users/<id>``) answers a pure function of
the row the view read for this very request and of what depends on the caller
(whether they look at themselves, which shows the e-mail address). Each worker
keeps the finished JSON of its most recent documents under exactly those
values, so answering a document that is the same as one written a moment ago
skips building it, marshmallow's pass over it and the JSON encoder.

As with remembered pages (``microblog/web/remembered_pages.py``), there is
nothing to invalidate: any change to the row, made on this instance or
another, changes the key; the caller's part is in the key; and nothing is
shared between processes. Status and headers still come from the view's
decorators, which pass a finished response through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import marshmallow as ma
from flask import Response, current_app, jsonify

from microblog.web.remembered_pages import memory

# A user document is about 600 bytes: this holds a few hundred KB at most.
DOCUMENTS_KEPT = 512


def remembered_document(
    schema: type[ma.Schema], key: Hashable, document: Callable[[], dict[str, Any]]
) -> Response:
    """``document()`` written through ``schema`` as JSON, or the same JSON
    written earlier under ``key`` (which must hold everything it shows)."""
    documents = memory("remembered_api_documents", DOCUMENTS_KEPT)
    full_key = (schema, key)
    body = documents.get(full_key)
    if body is None:
        # As flask-smorest would answer it: the schema's dump, then jsonify.
        body = jsonify(schema().dump(document())).get_data(as_text=True)
        documents.put(full_key, body)
    return current_app.response_class(body, mimetype="application/json")
