#!/usr/bin/env bash
# The whole test suite, as the README states it. On a fresh machine with the Rust toolchain and
# Python 3 it installs what the tests need (moto's DynamoDB-API server, cfn-lint, cargo-lambda and
# selenium into .venv; Debian's chromium, chromium-driver and a CJK font when missing), starts the
# DynamoDB-API server on a free loopback port, runs every test of the workspace against it, lints
# template.yaml, fuzzes the push path for a minute (cargo-fuzz), then runs the platform locally (scripts/run-local.sh) and the end-to-end tests
# against it: the browser flow and every function through `cargo lambda watch`. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

for tool in cargo python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "scripts/test.sh: '$tool' is required (the Rust toolchain and Python 3)" >&2
    exit 1
  fi
done

# --- what the tests need: the venv's tools, Chromium and its driver (scripts/tools.sh) ------------
venv="${WECHAT_VENV:-$root/.venv}"
. scripts/tools.sh

# --- the DynamoDB-API server -----------------------------------------------------------------------
port=$(python3 scripts/free_ports.py 1)
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

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL_WAFV2="http://127.0.0.1:$port" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN

# --- tests -----------------------------------------------------------------------------------------
echo "== cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml
echo "== docs/openapi.yaml against template.yaml, the account functions' routes and DashboardCode"
"$venv/bin/python" scripts/check_openapi.py

# The hand-off tests keep one published event of each detail type here, for the schema check.
rm -rf target/events
cargo test --workspace --all-targets
echo "== published events against docs/events/*.schema.json"
"$venv/bin/python" scripts/check_event_schemas.py target/events docs/events
# Doc examples are tests too (they pin the public API's documented behaviour).
cargo test --workspace --doc

# --- coverage-guided fuzzing of the push path, for a bounded time ------------------------------------
# cargo-fuzz drives libFuzzer; it needs nightly-only flags, which RUSTC_BOOTSTRAP unlocks on the
# one stable toolchain here. No sanitizer: the crates under test forbid `unsafe`.
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install -q cargo-fuzz --locked
fi
echo "== cargo fuzz: decrypt + parse, ${FUZZ_SECONDS:-60} s"
fuzz_log="$root/target/fuzz.log"
if RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -O open_and_parse -- -max_total_time="${FUZZ_SECONDS:-60}" >"$fuzz_log" 2>&1; then
  tail -n 1 "$fuzz_log"
else
  tail -n 60 "$fuzz_log" >&2
  # A crash leaves its input in the artifacts folder; without one the target did not even build
  # (or the run was killed), which is no finding of the fuzzer.
  if ls "$root"/fuzz/artifacts/open_and_parse/* >/dev/null 2>&1; then
    echo "cargo fuzz found a failure; the input is under fuzz/artifacts/open_and_parse/" >&2
  else
    echo "cargo fuzz did not run (the target failed to build, or the run was stopped): see above" >&2
  fi
  exit 1
fi

# --- end to end: the platform as scripts/run-local.sh runs it, on ports of its own ---------------
cleanup
# Ports below the ephemeral range (scripts/free_ports.py says why), distinct.
read -r -d '' ddb_port standin_port watch_port shop_port gateway_port < <(python3 scripts/free_ports.py 5) || true
# The stand-in issues authorizer tokens that are due at once, so the refresher has work under a real
# clock; it pushes a ticket only when asked (run-local.sh asks once), so that every write during the
# tests is one a test step caused.
DDB_PORT=$ddb_port STANDIN_PORT=$standin_port WATCH_PORT=$watch_port SHOP_PORT=$shop_port GATEWAY_PORT=$gateway_port LOCAL_DIR="$root/target/e2e" \
  STANDIN_AUTHORIZER_TOKEN_TTL_SECS=900 STANDIN_TICKET_EVERY_SECS=0 WATCH_RELOAD=0 WECHAT_VENV="$venv" FUNCTION_LOG_LEVEL=TRACE \
  bash scripts/run-local.sh --then scripts/e2e.sh
