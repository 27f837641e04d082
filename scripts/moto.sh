# shellcheck shell=bash
# Installs the pinned moto AWS emulator into ./.venv and starts it on 127.0.0.1 on a free port.
# Source it:  . scripts/moto.sh; moto_start   (moto_stop runs on EXIT)
MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/exit.sh"
MOTO_VENV="${MOTO_VENV:-$ROOT/.venv}"

moto_install() {
  if ! "$MOTO_VENV/bin/python" -c "import moto, flask, flask_cors, boto3, prometheus_client, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "installing moto $MOTO_VERSION into $MOTO_VENV" >&2
    python3 -m venv "$MOTO_VENV"
    # moto + flask + flask-cors is all moto_server needs for the services used here (moto[server]
    # pulls cfn-lint, sympy, docker, … for nothing); boto3 is for the sequential baseline benchmark,
    # prometheus-client parses `serve`'s /metrics in the tests.
    "$MOTO_VENV/bin/pip" install -q "moto==$MOTO_VERSION" flask flask-cors boto3 prometheus-client
  fi
}

free_port() { "$MOTO_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

moto_start() {
  moto_install
  MOTO_PORT="${MOTO_PORT:-$(free_port)}"
  MOTO_LOG="${MOTO_LOG:-${TMPDIR:-/tmp}/moto-$MOTO_PORT.log}"
  "$MOTO_VENV/bin/python" "$ROOT/scripts/moto_server.py" 127.0.0.1 "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  on_exit moto_stop
  for _ in $(seq 1 150); do
    if "$MOTO_VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$MOTO_PORT/moto-api/')" 2>/dev/null; then
      export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION="${AWS_REGION:-us-west-2}" \
        AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
      unset AWS_PROFILE AWS_SESSION_TOKEN || true
      return 0
    fi
    kill -0 "$MOTO_PID" 2>/dev/null || { echo "moto_server died:" >&2; cat "$MOTO_LOG" >&2; return 1; }
    sleep 0.1
  done
  echo "moto_server not ready after 15 s" >&2; cat "$MOTO_LOG" >&2; return 1
}

moto_stop() {
  if [ -n "${MOTO_PID:-}" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID"; wait "$MOTO_PID" 2>/dev/null || true
  fi
}
