#!/usr/bin/env bash
# Deploy the newest commit on a host set up by provision.sh: pull, install the
# requirements, migrate, then reload gunicorn gracefully. With HUP, gunicorn starts
# workers on the new code and lets the old ones finish their requests, so no request
# is dropped. Run as root:
#
#   sudo /srv/microblog/app/deploy/update.sh [--restart] [--dry-run]
#       [--process-manager supervisor|systemd]
#
# --restart does a full stop and start instead (needed after upgrading gunicorn
# itself, which HUP does not replace); --dry-run prints the steps only. The process
# manager is the one provision.sh installed, unless named.
set -euo pipefail

readonly APP_USER=microblog
readonly APP_HOME=/srv/microblog
readonly APP_DIR=/srv/microblog/app
readonly VENV=/srv/microblog/venv
readonly STATIC_DIR=/srv/microblog/static
readonly ENV_FILE=/etc/microblog/microblog.env
readonly GUNICORN_BIND=127.0.0.1:8000
readonly SUPERVISOR_CONF=/etc/supervisor/conf.d/microblog.conf
readonly SYSTEMD_UNIT=/etc/systemd/system/microblog.service

DRY_RUN=false
RESTART=false
MANAGER=""

die() {
    echo "update.sh: error: $*" >&2
    exit 2
}

run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if [[ $DRY_RUN == false ]]; then
        "$@"
    fi
}

as_app() {
    run runuser -u "$APP_USER" -- env --chdir="$APP_DIR" HOME="$APP_HOME" "$@"
}

# Which process manager provision.sh installed: the one whose file is in place.
process_manager() {
    if [[ -f $SYSTEMD_UNIT ]]; then
        echo systemd
    elif [[ -f $SUPERVISOR_CONF ]]; then
        echo supervisor
    else
        die "neither $SYSTEMD_UNIT nor $SUPERVISOR_CONF exists: run provision.sh first"
    fi
}

reload_gunicorn() {
    local manager=$1
    case $manager:$RESTART in
    systemd:false) run systemctl reload microblog.service ;;
    systemd:true) run systemctl restart microblog.service ;;
    supervisor:false) run supervisorctl signal HUP microblog ;;
    supervisor:true) run supervisorctl restart microblog ;;
    esac
    # The job worker has no graceful reload: a restart stops it warm (the
    # running job finishes first) and starts it on the new code.
    case $manager in
    systemd) run systemctl restart microblog-worker.service ;;
    supervisor) run supervisorctl restart microblog-worker ;;
    esac
}

main() {
    while [[ $# -gt 0 ]]; do
        case $1 in
        --dry-run) DRY_RUN=true ;;
        --restart) RESTART=true ;;
        --process-manager)
            MANAGER=${2:-}
            [[ $MANAGER == supervisor || $MANAGER == systemd ]] ||
                die "--process-manager: expected supervisor or systemd"
            shift
            ;;
        -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option: $1" ;;
        esac
        shift
    done
    [[ $(id -u) -eq 0 ]] || die "run as root (sudo $0)"
    local manager=$MANAGER
    [[ -n $manager ]] || manager=$(process_manager)

    as_app git pull --ff-only
    as_app "$VENV/bin/pip" install --quiet --require-hashes --requirement requirements.txt
    as_app "$VENV/bin/python" -m microblog.i18n.commands compile
    # Before the reload, so the new pages' fingerprinted names are on disk for nginx.
    as_app "$VENV/bin/python" -m microblog.web.static_collect "$STATIC_DIR"
    # Migrations run before the reload: old workers keep serving meanwhile, so
    # migrations must stay backward compatible for one release (add, then drop later).
    as_app "$VENV/bin/dotenv" --file "$ENV_FILE" run -- "$VENV/bin/flask" --app microblog db upgrade
    reload_gunicorn "$manager"
    run curl --fail --silent --show-error --retry 5 --retry-connrefused --retry-delay 2 \
        "http://$GUNICORN_BIND/readyz"
    echo "update.sh: finished$([[ $DRY_RUN == true ]] && echo " (dry run, nothing changed)")"
}

# main is read in full before it runs, so a pull that rewrites this file is harmless.
main "$@"
