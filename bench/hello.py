"""The baseline: the smallest Flask app, served by the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Hello, world."""
    return "Hello, World!"
