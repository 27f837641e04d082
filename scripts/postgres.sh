# Sourced by scripts/test. pg_install installs Debian's PostgreSQL server when the machine has
# none; pg_start starts a throwaway server on 127.0.0.1 on a free port (data in a temporary
# directory, removed on exit) and exports ECS_DEPLOYER_TEST_POSTGRES_URL for the serve tests.

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_install() {
    if [ -x "$(pg_bin)/postgres" ]; then
        return
    fi
    echo "installing PostgreSQL (Debian package postgresql)" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

pg_start() {
    PG_BIN=$(pg_bin)
    PG_DIR=$(mktemp -d /tmp/ecs-deployer-pg.XXXXXX)
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
    pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-k $PG_DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    export ECS_DEPLOYER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    trap pg_stop EXIT
}

pg_stop() {
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
