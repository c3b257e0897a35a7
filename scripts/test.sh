#!/usr/bin/env bash
# The whole test suite, as the README states it. On a fresh machine with the Rust toolchain and
# Python 3 it installs what the tests need (moto's DynamoDB-API server and cfn-lint, into .venv),
# starts the DynamoDB-API server on a free loopback port, runs every test of the workspace against
# it, lints template.yaml, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

for tool in cargo python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "scripts/test.sh: '$tool' is required (the Rust toolchain and Python 3)" >&2
    exit 1
  fi
done

# --- Python tools, in a venv of their own --------------------------------------------------------
venv="${WECHAT_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/cfn-lint" ] || ! "$venv/bin/python" -c "import samtranslator" 2>/dev/null; then
  echo "== installing moto[server] and cfn-lint into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6' 'cfn-lint>=1.30,<2' 'aws-sam-translator>=1.90'
fi

# --- the DynamoDB-API server -----------------------------------------------------------------------
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$root/target"
moto_log="$root/target/moto.log"
"$venv/bin/python" scripts/dynamodb_server.py 127.0.0.1 "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto_server exited; its log:" >&2; cat "$moto_log" >&2; exit 1
  fi
  sleep 0.1
done
echo "== DynamoDB-API server (moto) on 127.0.0.1:$port"

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN

# --- tests -----------------------------------------------------------------------------------------
echo "== cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml

cargo test --workspace --all-targets
# Doc examples are tests too (they pin the public API's documented behaviour).
cargo test --workspace --doc
