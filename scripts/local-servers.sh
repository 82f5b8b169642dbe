# Sourced by scripts/test.sh: installs and starts the local servers the integration tests talk
# to, on free loopback ports, and exports their addresses. Stops them when the shell exits.
#
#   moto (SNS, SQS, DynamoDB, ...)  TAMPERWATCH_TEST_MOTO_URL=http://127.0.0.1:PORT
#   aiosmtpd (a Maildir mailbox)    TAMPERWATCH_TEST_SMTP_ADDR=127.0.0.1:PORT
#                                   TAMPERWATCH_TEST_MAILDIR=DIR (messages land in DIR/new)
#   the venv's Python, for servers a   TAMPERWATCH_TEST_PYTHON=PATH
#   test starts itself (SMTP with STARTTLS and AUTH: trustme, aiosmtpd)
#
# Everything comes from PyPI into .venv (also cargo-lambda, for packaging and the Lambda
# benchmark). Tests that need a server skip when its variable is unset, and fail under CI=true.
# Usage: source scripts/local-servers.sh   (from the repository root)

tw_venv="${TAMPERWATCH_VENV:-$PWD/.venv}"
if [ ! -x "$tw_venv/bin/moto_server" ] || [ ! -x "$tw_venv/bin/aiosmtpd" ] || [ ! -x "$tw_venv/bin/cargo-lambda" ] ||
  ! "$tw_venv/bin/python" -c 'import trustme' 2>/dev/null; then
  echo "== installing moto, aiosmtpd, trustme and cargo-lambda into $tw_venv"
  python3 -m venv "$tw_venv"
  "$tw_venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' aiosmtpd trustme cargo-lambda
fi

tw_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

tw_servers_dir=$(mktemp -d "${TMPDIR:-/tmp}/tamperwatch-servers.XXXXXX")
tw_server_pids=()
tw_stop_servers() {
  local pid
  for pid in "${tw_server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${tw_server_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tw_servers_dir"
}
trap tw_stop_servers EXIT

tw_moto_port=$(tw_free_port)
"$tw_venv/bin/moto_server" -H 127.0.0.1 -p "$tw_moto_port" >"$tw_servers_dir/moto.log" 2>&1 &
tw_server_pids+=($!)

tw_smtp_port=$(tw_free_port)
mkdir -p "$tw_servers_dir/mail/tmp" "$tw_servers_dir/mail/new" "$tw_servers_dir/mail/cur"
"$tw_venv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$tw_smtp_port" -c aiosmtpd.handlers.Mailbox "$tw_servers_dir/mail" \
  >"$tw_servers_dir/smtp.log" 2>&1 &
tw_server_pids+=($!)

# Ready when both ports accept connections (moto takes about half a second).
"$tw_venv/bin/python" - "$tw_moto_port" "$tw_smtp_port" <<'PY' || { cat "$tw_servers_dir"/*.log >&2; exit 1; }
import socket, sys, time
deadline = time.time() + 30
for port in map(int, sys.argv[1:]):
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                sys.exit(f"server on port {port} did not start")
            time.sleep(0.05)
PY

export TAMPERWATCH_TEST_MOTO_URL="http://127.0.0.1:$tw_moto_port"
export TAMPERWATCH_TEST_SMTP_ADDR="127.0.0.1:$tw_smtp_port"
export TAMPERWATCH_TEST_MAILDIR="$tw_servers_dir/mail"
# Tests that start a server of their own (an SMTP server requiring STARTTLS and AUTH, with a
# throwaway CA from trustme) run it with this Python.
export TAMPERWATCH_TEST_PYTHON="$tw_venv/bin/python"
