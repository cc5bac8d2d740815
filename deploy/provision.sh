#!/usr/bin/env bash
# Provision a fresh Debian 13 or 12, Ubuntu 24.04 or Raspberry Pi OS (64-bit) host for
# microblog: packages, database, app user and virtualenv, gunicorn under supervisor
# or systemd, nginx with TLS, and a hardened host (SSH keys only, ufw, automatic
# security upgrades). Safe to run again: every step checks what is already there.
#
#   sudo deploy/provision.sh --domain blog.example.org --ssh-key ~/.ssh/authorized_keys
#
# Run with --help for the options; --dry-run prints every step and changes nothing.
# In a chroot (no systemd), services start through their init scripts, and what
# would touch the host around it (firewall, sshd restart, Let's Encrypt) is skipped.
set -euo pipefail

# Paths shared with the files in deploy/ (tests check that they agree).
readonly APP_NAME=microblog
readonly APP_USER=microblog
readonly APP_HOME=/srv/microblog
readonly APP_DIR=/srv/microblog/app
readonly VENV=/srv/microblog/venv
# nginx serves /static/ from here: the files under the names pages link.
readonly STATIC_DIR=/srv/microblog/static
readonly ENV_DIR=/etc/microblog
readonly ENV_FILE=/etc/microblog/microblog.env
readonly LOG_DIR=/var/log/microblog
readonly TLS_DIR=/etc/ssl/microblog
readonly ACME_ROOT=/var/www/letsencrypt
readonly GUNICORN_BIND=127.0.0.1:8000
readonly NGINX_SITE=/etc/nginx/sites-available/microblog
readonly NGINX_TLS_SNIPPET=/etc/nginx/snippets/microblog-tls.conf
readonly NGINX_HEADERS_SNIPPET=/etc/nginx/snippets/microblog-headers.conf
readonly SUPERVISOR_CONF=/etc/supervisor/conf.d/microblog.conf
readonly SYSTEMD_UNIT=/etc/systemd/system/microblog.service
readonly SYSTEMD_WORKER_UNIT=/etc/systemd/system/microblog-worker.service
readonly SSHD_DROPIN=/etc/ssh/sshd_config.d/00-microblog-hardening.conf
readonly PLACEHOLDER_DOMAIN=microblog.example.com
readonly MARIADB_DATADIR=/var/lib/mysql
# Boards with less memory than this get the low-memory profile automatically.
readonly LOW_MEMORY_KIB=1572864

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly DEPLOY_DIR

DOMAIN=""
DATABASE=mariadb
SSH_KEY=""
ADMIN_USER=""
EMAIL=""
SELF_SIGNED=false
PROCESS_MANAGER=supervisor
REPO_URL=""
BRANCH=main
LOW_MEMORY=auto
DRY_RUN=false
STEP=0
DB_PASSWORD=""
IN_CHROOT=false

usage() {
    cat <<'USAGE'
Usage: provision.sh --domain NAME --ssh-key KEY|FILE [options]

  --domain NAME                 public host name of the site (required)
  --ssh-key KEY|FILE            the admin's SSH public key, or a file holding it (required)
  --admin-user NAME             account that gets the key and sudo
                                (default: the user who ran sudo, else "admin")
  --db mariadb|postgresql       database server to install (default: mariadb)
  --process-manager supervisor|systemd
                                what keeps gunicorn running (default: supervisor)
  --self-signed                 make a self-signed certificate instead of Let's Encrypt
  --email ADDRESS               contact address for Let's Encrypt expiry notices
  --repo URL                    git repository to deploy (default: this checkout's origin)
  --branch NAME                 branch to deploy (default: main)
  --low-memory | --no-low-memory
                                force the 1 GB profile on or off (default: on below 1.5 GB)
  --dry-run                     print every step without changing anything
  -h, --help                    show this help
USAGE
}

die() {
    echo "provision.sh: error: $*" >&2
    exit 2
}

step() {
    STEP=$((STEP + 1))
    printf '\n==> [%d] %s\n' "$STEP" "$*"
}

info() {
    printf '    %s\n' "$*"
}

# Run a command that changes the host, or only show it under --dry-run.
run() {
    # %q quotes each word, so a printed line can be pasted back into a shell.
    printf '    +'
    printf ' %q' "$@"
    printf '\n'
    if [[ $DRY_RUN == false ]]; then
        "$@"
    fi
}

# Run a command as the app user in a folder (its files stay owned by it).
as_app() {
    local folder=$1
    shift
    run runuser -u "$APP_USER" -- env --chdir="$folder" HOME="$APP_HOME" "$@"
}

# Write stdin to a file with the given mode and owner.
write_file() {
    local dest=$1 mode=$2 owner=$3 content
    content=$(cat)
    printf '    + write %s (mode %s, owner %s)\n' "$dest" "$mode" "$owner"
    if [[ $DRY_RUN == false ]]; then
        local tmp
        tmp=$(mktemp "$dest.XXXXXX")
        chmod "$mode" "$tmp"
        chown "$owner" "$tmp"
        printf '%s\n' "$content" >"$tmp"
        mv -f "$tmp" "$dest"
    fi
}

# Feed SQL on stdin to a client; the printed copy hides the password.
run_sql() {
    local secret=$1 sql
    shift
    sql=$(cat)
    printf '    + %s <<SQL\n' "$*"
    printf '%s\n' "${sql//"$secret"/********}" | sed 's/^/        /'
    if [[ $DRY_RUN == false ]]; then
        printf '%s\n' "$sql" | "$@"
    fi
}

# Start a service now and at every boot; in a chroot, its init script starts it.
start_service() {
    if [[ $IN_CHROOT == true ]]; then
        run service "$1" start
    else
        run systemctl enable --now "$1"
    fi
}

# Restart a service that is running, so it reads changed settings; one that is
# not running reads them when it starts.
restart_if_running() {
    local running
    if [[ $IN_CHROOT == true ]]; then
        service "$1" status >/dev/null 2>&1 && running=true || running=false
    else
        systemctl is-active --quiet "$1" 2>/dev/null && running=true || running=false
    fi
    if [[ $running == false ]]; then
        info "$1 is not running: it starts with these settings below"
    elif [[ $IN_CHROOT == true ]]; then
        run service "$1" restart
    else
        run systemctl restart "$1"
    fi
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case $1 in
        --domain) DOMAIN=${2:?--domain needs a value}; shift 2 ;;
        --ssh-key) SSH_KEY=${2:?--ssh-key needs a value}; shift 2 ;;
        --admin-user) ADMIN_USER=${2:?--admin-user needs a value}; shift 2 ;;
        --db) DATABASE=${2:?--db needs a value}; shift 2 ;;
        --process-manager) PROCESS_MANAGER=${2:?--process-manager needs a value}; shift 2 ;;
        --self-signed) SELF_SIGNED=true; shift ;;
        --email) EMAIL=${2:?--email needs a value}; shift 2 ;;
        --repo) REPO_URL=${2:?--repo needs a value}; shift 2 ;;
        --branch) BRANCH=${2:?--branch needs a value}; shift 2 ;;
        --low-memory) LOW_MEMORY=true; shift ;;
        --no-low-memory) LOW_MEMORY=false; shift ;;
        --dry-run) DRY_RUN=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
        esac
    done
}

validate_args() {
    [[ -n $DOMAIN ]] || die "--domain is required"
    # A host name: labels of letters, digits and hyphens (it ends up in nginx and certbot).
    [[ $DOMAIN =~ ^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] ||
        die "--domain: '$DOMAIN' is not a host name"
    case $DATABASE in
    mariadb | mysql) DATABASE=mariadb ;;
    postgresql | postgres) DATABASE=postgresql ;;
    *) die "--db: expected mariadb or postgresql, got '$DATABASE'" ;;
    esac
    case $PROCESS_MANAGER in
    supervisor | systemd) ;;
    *) die "--process-manager: expected supervisor or systemd, got '$PROCESS_MANAGER'" ;;
    esac
    [[ -n $SSH_KEY ]] || die "--ssh-key is required: password login is switched off"
    if [[ -f $SSH_KEY ]]; then
        SSH_KEY=$(head -n 1 "$SSH_KEY")
    fi
    ssh-keygen -l -f - <<<"$SSH_KEY" >/dev/null 2>&1 ||
        die "--ssh-key: not an SSH public key (expected e.g. 'ssh-ed25519 AAAA... you@laptop')"
    if [[ -z $ADMIN_USER ]]; then
        if [[ -n ${SUDO_USER:-} && ${SUDO_USER:-} != root ]]; then
            ADMIN_USER=$SUDO_USER
        else
            ADMIN_USER="admin"
        fi
    fi
    [[ $ADMIN_USER =~ ^[a-z_][a-z0-9_-]{0,31}$ && $ADMIN_USER != root ]] ||
        die "--admin-user: '$ADMIN_USER' is not a valid non-root user name"
    [[ $ADMIN_USER != "$APP_USER" ]] || die "--admin-user must differ from $APP_USER"
    if [[ -n $EMAIL && ! $EMAIL =~ ^[^@[:space:]]+@[^@[:space:]]+$ ]]; then
        die "--email: '$EMAIL' is not an e-mail address"
    fi
    if [[ -z $REPO_URL ]]; then
        REPO_URL=$(git -C "$DEPLOY_DIR/.." remote get-url origin 2>/dev/null) ||
            die "--repo is required (this checkout has no 'origin' remote)"
    fi
    if [[ $LOW_MEMORY == auto ]]; then
        local mem_kib
        mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
        if ((mem_kib < LOW_MEMORY_KIB)); then LOW_MEMORY=true; else LOW_MEMORY=false; fi
    fi
}

preflight() {
    step "Check the host"
    [[ $(id -u) -eq 0 ]] || die "run as root (sudo $0 ...)"
    local os_id="unknown" os_version=""
    if [[ -r /etc/os-release ]]; then
        # shellcheck source=/dev/null
        os_id=$(. /etc/os-release && echo "${ID:-unknown}")
        # shellcheck source=/dev/null
        os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
    fi
    case $os_id in
    debian | ubuntu | raspbian) info "system: $os_id $os_version ($(uname -m))" ;;
    *) die "unsupported system '$os_id': use Debian 13 or 12, Ubuntu 24.04 or Raspberry Pi OS" ;;
    esac
    # ischroot: 0 in a chroot, 1 outside, 2 when it cannot tell (then: outside).
    if ischroot; then
        IN_CHROOT=true
        info "chroot: services start through init scripts; firewall, sshd restart and certbot are skipped"
        [[ $PROCESS_MANAGER == supervisor ]] || die "--process-manager systemd needs a running systemd, which a chroot has not"
    fi
    case $(uname -m) in
    x86_64 | aarch64) ;;
    *) die "$(uname -m) is not supported: the pinned packages ship wheels for x86_64 and aarch64 (use a 64-bit system)" ;;
    esac
    # The firewall opens port 22 only: an sshd listening elsewhere would lock you out.
    local ssh_port
    ssh_port=$(sshd -T 2>/dev/null | awk '$1 == "port" {print $2; exit}' || true)
    if [[ -n $ssh_port && $ssh_port != 22 ]]; then
        die "sshd listens on port $ssh_port, but the firewall opens only 22: move sshd back to 22 first"
    fi
    info "domain: $DOMAIN, database: $DATABASE, process manager: $PROCESS_MANAGER"
    info "admin user: $ADMIN_USER, certificate: $([[ $SELF_SIGNED == true ]] && echo self-signed || echo "Let's Encrypt")"
    info "low-memory profile: $LOW_MEMORY, repository: $REPO_URL ($BRANCH)"
    [[ $DRY_RUN == true ]] && info "dry run: nothing below is executed"
    return 0
}

# The packages this host needs, one place for install and documentation.
apt_packages() {
    local packages=(
        git python3 python3-venv ca-certificates openssl curl sudo
        nginx certbot ufw unattended-upgrades openssh-server redis-server
    )
    case $DATABASE in
    mariadb) packages+=(mariadb-server) ;;
    postgresql) packages+=(postgresql) ;;
    esac
    [[ $PROCESS_MANAGER == supervisor ]] && packages+=(supervisor)
    printf '%s\n' "${packages[@]}"
}

install_packages() {
    step "Install packages"
    local packages
    mapfile -t packages < <(apt_packages)
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
    if [[ $DRY_RUN == false ]]; then
        python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
            die "Python 3.11 or newer is needed (this system has $(python3 -V))"
    fi
}

enable_unattended_upgrades() {
    step "Turn on automatic security upgrades"
    # The packaged 50unattended-upgrades already limits itself to security updates;
    # this file is what switches the daily run on.
    write_file /etc/apt/apt.conf.d/20auto-upgrades 0644 root:root <<'CONF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
CONF
    if [[ $IN_CHROOT == true ]]; then
        info "chroot: the daily run is systemd's timer; not started here"
    else
        run systemctl enable --now unattended-upgrades.service
    fi
}

setup_admin_user() {
    step "Give $ADMIN_USER SSH key login and sudo"
    if id -u "$ADMIN_USER" >/dev/null 2>&1; then
        info "user $ADMIN_USER exists"
    else
        run useradd --create-home --shell /bin/bash "$ADMIN_USER"
        # A key-only account has no password to type at sudo's prompt.
        write_file "/etc/sudoers.d/90-$ADMIN_USER" 0440 root:root <<<"$ADMIN_USER ALL=(ALL) NOPASSWD:ALL"
        run visudo -cf "/etc/sudoers.d/90-$ADMIN_USER"
    fi
    run usermod -aG sudo "$ADMIN_USER"
    local home=/home/$ADMIN_USER group=$ADMIN_USER
    if id -u "$ADMIN_USER" >/dev/null 2>&1; then
        home=$(getent passwd "$ADMIN_USER" | cut -d: -f6)
        group=$(id -gn "$ADMIN_USER")
    fi
    run install -d -m 0700 -o "$ADMIN_USER" -g "$group" "$home/.ssh"
    if [[ -f $home/.ssh/authorized_keys ]] && grep -qxF "$SSH_KEY" "$home/.ssh/authorized_keys"; then
        info "key already in $home/.ssh/authorized_keys"
    else
        printf '    + append the key to %s\n' "$home/.ssh/authorized_keys"
        if [[ $DRY_RUN == false ]]; then
            printf '%s\n' "$SSH_KEY" >>"$home/.ssh/authorized_keys"
        fi
    fi
    run chown "$ADMIN_USER:$group" "$home/.ssh/authorized_keys"
    run chmod 0600 "$home/.ssh/authorized_keys"
}

harden_ssh() {
    step "Harden SSH: keys only, no root login"
    run install -m 0644 -o root -g root "$DEPLOY_DIR/ssh/00-microblog-hardening.conf" "$SSHD_DROPIN"
    # A broken sshd config would lock everyone out at the next restart: test first.
    if [[ $IN_CHROOT == true ]]; then
        # systemd makes sshd's privilege separation folder when it starts ssh.
        run install -d -m 0755 /run/sshd
        run sshd -t
        info "chroot: sshd is not restarted (the host's sshd is the one listening)"
        return 0
    fi
    run sshd -t
    # Existing sessions survive; on Ubuntu's socket-activated ssh a stopped
    # service simply picks the file up at its next start.
    run systemctl try-reload-or-restart ssh
    info "keep this session open and check 'ssh $ADMIN_USER@$DOMAIN' works from a new terminal"
}

# The firewall rules: the only place that names the open ports.
firewall_rules() {
    # SSH: "limit" also refuses an address after 6 connections within 30 seconds.
    echo "limit 22/tcp"
    echo "allow 80/tcp"
    echo "allow 443/tcp"
}

configure_firewall() {
    step "Firewall: only SSH, HTTP and HTTPS"
    if [[ $IN_CHROOT == true ]]; then
        info "chroot: skipped (ufw would load its rules into the host's kernel)"
        return 0
    fi
    run ufw default deny incoming
    run ufw default allow outgoing
    local rule
    while read -r rule; do
        # Word splitting is wanted: "limit 22/tcp" is two arguments.
        # shellcheck disable=SC2086
        run ufw $rule
    done < <(firewall_rules)
    # Enabled only after port 22 is open, so this session survives.
    run ufw --force enable
}

create_app_user() {
    step "Create the app user $APP_USER and its folders"
    if id -u "$APP_USER" >/dev/null 2>&1; then
        info "user $APP_USER exists"
    else
        run useradd --system --user-group --home-dir "$APP_HOME" --shell /usr/sbin/nologin "$APP_USER"
    fi
    # nginx (www-data) reads the static files, so the tree is world-readable;
    # the secrets live in $ENV_FILE, which is not.
    run install -d -m 0755 -o "$APP_USER" -g "$APP_USER" "$APP_HOME"
    run install -d -m 0750 -o root -g "$APP_USER" "$ENV_DIR"
    run install -d -m 0750 -o "$APP_USER" -g adm "$LOG_DIR"
}

checkout_code() {
    step "Fetch the code into $APP_DIR"
    if [[ -d $APP_DIR/.git ]]; then
        as_app "$APP_DIR" git fetch --prune origin
        as_app "$APP_DIR" git checkout "$BRANCH"
        as_app "$APP_DIR" git merge --ff-only "origin/$BRANCH"
    else
        as_app "$APP_HOME" git clone --branch "$BRANCH" "$REPO_URL" "$APP_DIR"
    fi
}

install_virtualenv() {
    step "Install the Python packages into $VENV"
    [[ -x $VENV/bin/python ]] || as_app "$APP_HOME" python3 -m venv "$VENV"
    as_app "$APP_DIR" "$VENV/bin/pip" install --quiet --require-hashes --requirement requirements.txt
    # The .mo catalogs are build output, not in git; the systemd unit's read-only
    # file system would stop the app from compiling them at start-up.
    as_app "$APP_DIR" "$VENV/bin/python" -m microblog.i18n.commands compile
    # Pages link fingerprinted names that exist only in the app's memory: write
    # them to disk for nginx, with gzip copies.
    as_app "$APP_DIR" "$VENV/bin/python" -m microblog.web.static_collect "$STATIC_DIR"
}

# SQL that creates the MariaDB database and a user that may touch only it.
mariadb_setup_sql() {
    local database=$1 user=$2 password=$3
    cat <<SQL
CREATE DATABASE IF NOT EXISTS \`$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$user'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`$database\`.* TO '$user'@'localhost';
SQL
}

# SQL that creates (or re-keys) the PostgreSQL login role.
postgresql_role_sql() {
    local user=$1 password=$2
    cat <<SQL
DO \$\$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
        ALTER ROLE "$user" LOGIN PASSWORD '$password';
    ELSE
        CREATE ROLE "$user" LOGIN PASSWORD '$password';
    END IF;
END
\$\$;
SQL
}

# SQL run after the database exists: nobody else may connect to it.
postgresql_database_sql() {
    local database=$1
    echo "REVOKE ALL ON DATABASE \"$database\" FROM PUBLIC;"
}

# The URL the app connects with; MariaDB through its socket, as 'user'@'localhost'.
database_url() {
    local password=$1
    case $DATABASE in
    mariadb) echo "mysql://$APP_USER:$password@localhost/$APP_NAME?unix_socket=/run/mysqld/mysqld.sock" ;;
    postgresql) echo "postgresql://$APP_USER:$password@localhost/$APP_NAME" ;;
    esac
}

# A value already in the env file, so a second run keeps secrets and sessions.
existing_setting() {
    local key=$1
    [[ -f $ENV_FILE ]] || return 0
    sed -n "s/^$key=//p" "$ENV_FILE" | tail -n 1
}

existing_db_password() {
    existing_setting DATABASE_URL | sed -n 's#^[a-z+]*://[^:/]*:\([^@]*\)@.*#\1#p'
}

new_secret() {
    # Hex needs no quoting in SQL, URLs, or env files.
    openssl rand -hex "$1"
}

# Debian's mariadb-server package creates the system tables when it is installed,
# but carries on if that fails, saying so only to syslog, and the server then
# cannot start. (Under qemu user emulation it fails: the default 8 TiB address
# space reserved for the buffer pool costs qemu more memory than the machine has.)
initialise_mariadb() {
    if [[ -d $MARIADB_DATADIR/mysql ]]; then
        info "MariaDB's system tables exist in $MARIADB_DATADIR"
        return 0
    fi
    info "$MARIADB_DATADIR has no system tables (the package could not create them): creating them"
    run mariadb-install-db --user=mysql --datadir="$MARIADB_DATADIR" --skip-test-db
}

setup_database() {
    step "Create the $DATABASE database and its user"
    local password
    password=$(existing_db_password)
    [[ -n $password ]] || password=$(new_secret 24)
    DB_PASSWORD=$password
    case $DATABASE in
    mariadb)
        initialise_mariadb
        start_service mariadb
        # root logs in through the socket (unix_socket auth), so no root password is needed.
        mariadb_setup_sql "$APP_NAME" "$APP_USER" "$password" | run_sql "$password" mariadb
        ;;
    postgresql)
        start_service postgresql
        postgresql_role_sql "$APP_USER" "$password" |
            run_sql "$password" runuser -u postgres -- psql -v ON_ERROR_STOP=1 --quiet
        if [[ $DRY_RUN == false ]] &&
            runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$APP_NAME'" | grep -q 1; then
            info "database $APP_NAME exists"
        else
            # template0: template1 may carry another encoding than UTF-8.
            run runuser -u postgres -- createdb --owner "$APP_USER" --encoding UTF8 \
                --template template0 "$APP_NAME"
        fi
        postgresql_database_sql "$APP_NAME" |
            run_sql "$password" runuser -u postgres -- psql -v ON_ERROR_STOP=1 --quiet
        ;;
    esac
}

start_redis() {
    step "Start Redis for rate limits shared by the workers"
    # Debian's redis-server listens on loopback only and keeps a few MB in memory.
    start_service redis-server
}

# Before the database step, so the database server first starts with these settings.
low_memory_profile() {
    step "Low-memory profile for a 1 GB board"
    if [[ $LOW_MEMORY == false ]]; then
        info "not needed (use --low-memory to force it)"
        return 0
    fi
    case $DATABASE in
    mariadb)
        run install -m 0644 "$DEPLOY_DIR/low-memory/mariadb.cnf" \
            /etc/mysql/mariadb.conf.d/90-microblog-low-memory.cnf
        restart_if_running mariadb
        ;;
    postgresql)
        local conf_dir
        conf_dir=$(find /etc/postgresql -mindepth 3 -maxdepth 3 -type d -name conf.d -path '*/main/*' 2>/dev/null | sort | tail -n 1)
        conf_dir=${conf_dir:-/etc/postgresql/15/main/conf.d}
        run install -m 0644 "$DEPLOY_DIR/low-memory/postgresql.conf" \
            "$conf_dir/90-microblog-low-memory.conf"
        restart_if_running postgresql
        ;;
    esac
}

# The app's settings; the process managers and update.sh all read this one file.
env_file_contents() {
    local secret_key=$1 database_url=$2
    cat <<ENV
# microblog settings for this host, written by deploy/provision.sh.
# Keep mode 0600: it holds the session key and the database password.
FLASK_APP=microblog
SECRET_KEY=$secret_key
DATABASE_URL=$database_url
# nginx is the one proxy in front of gunicorn, and it terminates TLS: the app
# redirects any plain-HTTP request, sends HSTS and marks its cookies Secure.
PROXY_COUNT=1
FORCE_HTTPS=1
TRUSTED_HOSTS=$DOMAIN
# Rate limits counted once for all gunicorn workers, not once per process.
REDIS_URL=redis://127.0.0.1:6379/0
LOG_LEVEL=INFO
LOG_FORMAT=text
ENV
    if [[ $LOW_MEMORY == true ]]; then
        cat <<ENV
# Low-memory profile (1 GB board): two workers, small connection pools.
WEB_CONCURRENCY=2
DB_POOL_SIZE=2
DB_MAX_OVERFLOW=1
ENV
    fi
    cat <<'ENV'
# Outgoing mail for password resets; until set, reset links go to the log.
# MAIL_SERVER=smtp.example.org
# MAIL_PORT=587
# MAIL_USERNAME=
# MAIL_PASSWORD=
# MAIL_DEFAULT_SENDER=microblog@example.org
ENV
}

write_env_file() {
    step "Write the settings to $ENV_FILE"
    if [[ -f $ENV_FILE ]]; then
        info "keeping the existing file (edit it by hand; provision.sh never overwrites it)"
    else
        env_file_contents "$(new_secret 32)" "$(database_url "$DB_PASSWORD")" |
            write_file "$ENV_FILE" 0600 "$APP_USER:$APP_USER"
    fi
    run chown "$APP_USER:$APP_USER" "$ENV_FILE"
    run chmod 0600 "$ENV_FILE"
}

run_migrations() {
    step "Run the database migrations"
    as_app "$APP_DIR" "$VENV/bin/dotenv" --file "$ENV_FILE" run -- \
        "$VENV/bin/flask" --app microblog db upgrade
}

install_process_manager() {
    step "Run gunicorn and the job worker under $PROCESS_MANAGER"
    case $PROCESS_MANAGER in
    supervisor)
        if [[ -f $SYSTEMD_UNIT ]]; then
            run systemctl disable --now microblog.service microblog-worker.service
            run rm -f "$SYSTEMD_UNIT" "$SYSTEMD_WORKER_UNIT"
            run systemctl daemon-reload
        fi
        run install -m 0644 "$DEPLOY_DIR/supervisor/microblog.conf" "$SUPERVISOR_CONF"
        start_service supervisor
        # reread + update starts the program, or restarts it if its file changed.
        run supervisorctl reread
        run supervisorctl update
        # update does not restart a program someone stopped by hand.
        local program
        for program in microblog microblog-worker; do
            if ! supervisorctl status "$program" >/dev/null 2>&1; then
                run supervisorctl start "$program"
            fi
        done
        ;;
    systemd)
        if [[ -f $SUPERVISOR_CONF ]]; then
            run rm -f "$SUPERVISOR_CONF"
            run supervisorctl update
        fi
        run install -m 0644 "$DEPLOY_DIR/systemd/microblog.service" "$SYSTEMD_UNIT"
        run install -m 0644 "$DEPLOY_DIR/systemd/microblog-worker.service" \
            "$SYSTEMD_WORKER_UNIT"
        run systemctl daemon-reload
        run systemctl enable --now microblog.service microblog-worker.service
        ;;
    esac
}

# A self-signed pair for DOMAIN in FOLDER: RSA 2048 and at most a year, as
# Mozilla's profile asks (browsers still warn: nobody vouches for it).
write_self_signed_certificate() {
    local domain=$1 folder=$2
    run openssl req -x509 -newkey rsa:2048 -sha256 -days 365 -nodes \
        -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \
        -keyout "$folder/privkey.pem" -out "$folder/fullchain.pem"
}

# The RFC 7919 ffdhe2048 group: instant, where 'openssl dhparam' takes minutes on a Pi.
write_dh_parameters() {
    run openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$1"
}

# Point the stable certificate paths nginx reads at a real pair of files.
link_certificate() {
    local dir=$1
    run ln -sfn "$dir/fullchain.pem" "$TLS_DIR/fullchain.pem"
    run ln -sfn "$dir/privkey.pem" "$TLS_DIR/privkey.pem"
}

make_self_signed_certificate() {
    local dir=$TLS_DIR/self-signed
    if [[ -f $dir/fullchain.pem ]]; then
        info "self-signed certificate exists"
    else
        run install -d -m 0700 "$dir"
        write_self_signed_certificate "$DOMAIN" "$dir"
    fi
    if [[ ! -e $TLS_DIR/fullchain.pem || $SELF_SIGNED == true ]]; then
        link_certificate "$dir"
    fi
}

install_nginx_site() {
    step "Install the nginx site for $DOMAIN"
    run install -d -m 0755 "$TLS_DIR" "$ACME_ROOT"
    if [[ ! -f $TLS_DIR/ffdhe2048.pem ]]; then
        write_dh_parameters "$TLS_DIR/ffdhe2048.pem"
    fi
    # nginx cannot start without a certificate; a self-signed one bridges the gap
    # until Let's Encrypt has answered.
    make_self_signed_certificate
    run install -m 0644 "$DEPLOY_DIR/nginx/microblog-tls.conf" "$NGINX_TLS_SNIPPET"
    run install -m 0644 "$DEPLOY_DIR/nginx/microblog-headers.conf" "$NGINX_HEADERS_SNIPPET"
    sed "s/${PLACEHOLDER_DOMAIN//./\\.}/$DOMAIN/g" "$DEPLOY_DIR/nginx/microblog.conf" |
        write_file "$NGINX_SITE" 0644 root:root
    run ln -sfn "$NGINX_SITE" /etc/nginx/sites-enabled/microblog
    # The packaged default site would also claim port 80 as default_server.
    run rm -f /etc/nginx/sites-enabled/default
    run nginx -t
    if [[ $IN_CHROOT == true ]]; then
        run service nginx restart
    else
        run systemctl enable nginx
        run systemctl reload-or-restart nginx
    fi
}

obtain_certificate() {
    step "TLS certificate"
    if [[ $SELF_SIGNED == true ]]; then
        info "self-signed, as asked: browsers will warn until you use a real certificate"
        return 0
    fi
    if [[ $IN_CHROOT == true ]]; then
        info "chroot: no Let's Encrypt (it must reach this host from the internet); keeping the self-signed certificate"
        return 0
    fi
    local contact=(--register-unsafely-without-email)
    [[ -n $EMAIL ]] && contact=(--email "$EMAIL")
    # Webroot: nginx keeps running and serves the challenge from $ACME_ROOT.
    # The deploy hook is saved with the certificate, so renewals reload nginx too.
    run certbot certonly --webroot --webroot-path "$ACME_ROOT" --domain "$DOMAIN" \
        --non-interactive --agree-tos "${contact[@]}" --keep-until-expiring \
        --deploy-hook "systemctl reload nginx"
    link_certificate "/etc/letsencrypt/live/$DOMAIN"
    run nginx -t
    run systemctl reload nginx
}

check_app() {
    step "Check the app answers"
    # gunicorn listens on loopback only; /readyz answers any host, without redirects.
    run curl --fail --silent --show-error --retry 5 --retry-connrefused --retry-delay 2 \
        "http://$GUNICORN_BIND/readyz"
    # The app's own preflight: what is still missing for production (mail, ...).
    as_app "$APP_DIR" "$VENV/bin/dotenv" --file "$ENV_FILE" run -- \
        "$VENV/bin/flask" --app microblog deploy check --warn
    info "done: https://$DOMAIN/ is served by gunicorn ($PROCESS_MANAGER) behind nginx"
}

main() {
    parse_args "$@"
    validate_args
    preflight
    install_packages
    enable_unattended_upgrades
    setup_admin_user
    harden_ssh
    configure_firewall
    create_app_user
    checkout_code
    install_virtualenv
    low_memory_profile
    setup_database
    start_redis
    write_env_file
    run_migrations
    install_process_manager
    install_nginx_site
    obtain_certificate
    check_app
    printf '\nprovision.sh: finished%s\n' "$([[ $DRY_RUN == true ]] && echo " (dry run, nothing changed)")"
}

# Sourcing the script (as the tests do) defines the functions without running anything.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
