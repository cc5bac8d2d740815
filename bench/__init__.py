"""``make bench``: the app against a hello-world Flask app under the same gunicorn."""
