# microblog: one image for Fly.io, docker compose and any container host.
# Two stages on the same base: `build` installs the packages and runs the build
# steps; the final stage receives only their results, the venv and the app, so
# nothing that installs or compiles software ships. The Python minor version
# matches .python-version (a test keeps them equal).

FROM python:3.11-slim-bookworm AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A venv without pip of its own: the base image's pip installs into it, and
# checks every file against the hashes in requirements.txt. A layer of its own,
# rebuilt only when requirements.txt changes.
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-cache-dir \
        --require-hashes --requirement /tmp/requirements.txt

# The build steps Heroku runs too (bin/build): compiled translations and gzip
# variants of the static files. A platform's release step could not do this:
# the files it writes are thrown away.
WORKDIR /app
COPY . .
RUN PATH="/opt/venv/bin:${PATH}" bin/build


FROM python:3.11-slim-bookworm

# Unbuffered output reaches the platform's log collector at once; no .pyc
# files written at run time; the venv's programs come first on PATH.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:${PATH}" \
    PORT=8000

# Nothing in the running image can install packages: the base image's pip,
# setuptools and wheel go. Then an unprivileged user, with a numeric id so that
# Kubernetes' runAsNonRoot can check it; only the instance folder (SQLite
# default) is writable.
RUN python -m pip uninstall --yes --disable-pip-version-check pip setuptools wheel \
    && groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid app --home-dir /app \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
RUN mkdir -p /app/instance && chown app:app /app/instance
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
