"""Run the development server: ``python microblog.py``.

The package ``microblog/`` shadows this file on import, so production servers
use ``gunicorn 'microblog:create_app()'`` (or the tutorial's ``microblog:app``).
Set ``FLASK_DEBUG=1`` in ``.env`` for the debugger and automatic reloading.
"""

from microblog import create_app

if __name__ == "__main__":
    app = create_app()
    # Loopback only: the Werkzeug server is not for the open network.
    app.run(host="127.0.0.1", port=app.config["PORT"], debug=app.config["DEBUG"])
