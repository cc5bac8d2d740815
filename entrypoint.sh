#!/usr/bin/env bash
# Container entrypoint: runs the given command (the image's CMD, or Fly's
# release_command, which replaces CMD but still goes through this script).
# It must stay idempotent and quick: on Fly's release machine
# (RELEASE_COMMAND=1) nothing else runs, and a script that waits would hold
# the deploy until Fly times it out.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "entrypoint.sh: no command given (expected the image's CMD)" >&2
    exit 64
fi

if [[ "${RELEASE_COMMAND:-}" == "1" ]]; then
    echo "entrypoint.sh: release machine, running: $*" >&2
fi

exec "$@"
