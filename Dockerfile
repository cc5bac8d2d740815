# microblog: one image for Fly.io, docker compose and any container host.
# The Python minor version matches .python-version (a test keeps them equal).
FROM python:3.11-slim-bookworm

# Unbuffered output reaches the platform's log collector at once; no .pyc
# files in the layers; the venv's programs come first on PATH.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:${PATH}" \
    PORT=8000

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir --require-hashes -r requirements.txt

COPY . .

# The build steps Heroku runs too (bin/build): compiled translations and
# gzip variants of the static files. A platform's release step could not do
# this: the files it writes are thrown away.
RUN bin/build

# Run as an unprivileged user; only the instance folder (SQLite default) is writable.
# A numeric id, so that Kubernetes' runAsNonRoot can check it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid app --home-dir /app \
        --shell /usr/sbin/nologin app \
    && mkdir -p /app/instance \
    && chown app:app /app/instance
USER 10001:10001

# Same port as fly.toml's internal_port and gunicorn's default PORT.
EXPOSE 8000

# The slim image has no curl; Python is there anyway. /healthz touches no database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# Docker, Fly (with kill_signal = "SIGTERM") and compose stop with SIGTERM: gunicorn
# then finishes in-flight requests. Exec form so that gunicorn itself receives it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "microblog:create_app()"]
