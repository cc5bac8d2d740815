"""Operations endpoints for load balancers and platform health checks."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from microblog.ops import routes  # noqa: E402,F401
