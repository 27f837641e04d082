# Sourced by scripts/test. pg_install installs Debian's PostgreSQL server when the machine has
# none; pg_start starts a throwaway server on 127.0.0.1 on a free port (data in a temporary
# directory, removed on exit) with TLS on (a certificate for localhost and 127.0.0.1 signed by a
# throwaway CA) and exports ECS_DEPLOYER_TEST_POSTGRES_URL and ECS_DEPLOYER_TEST_POSTGRES_CA (the
# CA's PEM) for the serve tests.

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/exit.sh"

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_install() {
    if [ -x "$(pg_bin)/postgres" ] && command -v openssl >/dev/null; then
        return
    fi
    echo "installing PostgreSQL (Debian package postgresql)" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql openssl >/dev/null
}

# A throwaway CA and a server certificate it signed, for localhost and 127.0.0.1, in $1.
pg_certificates() {
    local dir=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=ecs-deployer test CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1
    chmod 600 "$dir/server.key" "$dir/ca.key"
}

pg_start() {
    PG_BIN=$(pg_bin)
    PG_DIR=$(mktemp -d /tmp/ecs-deployer-pg.XXXXXX)
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    pg_certificates "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown -R postgres "$PG_DIR"
    pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-k $PG_DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$PG_DIR/server.crt -c ssl_key_file=$PG_DIR/server.key" start >/dev/null
    export ECS_DEPLOYER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    export ECS_DEPLOYER_TEST_POSTGRES_CA="$PG_DIR/ca.crt"
    on_exit pg_stop
}

pg_stop() {
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
