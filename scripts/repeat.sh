#!/usr/bin/env bash
# Runs the end-to-end steps N times on one build and one running platform and prints the failures
# per test: the console, authorization and web-authorization flows in headless Chromium, and each
# Rust test of tests/integration/e2e.rs through `cargo lambda watch`. Each round runs the steps in
# a new random order. The proof that no step depends on another's leftovers, on their order or on
# timing luck: a flaky test shows up here long before it turns a CI run red.
#
#   bash scripts/repeat.sh 30            # 30 rounds; exits non-zero if any step failed
#
# Same environment as scripts/test.sh's end-to-end part (functions at TRACE, short authorizer
# tokens). Every step's output is kept in target/repeat/round-R-STEP.log, the table in
# target/repeat/results.tsv (round, step or test, ok|FAILED, seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=${1:-10}
out="$root/target/repeat"

if [ "${REPEAT_INSIDE:-}" != 1 ]; then
  venv="${WECHAT_VENV:-$root/.venv}"
  . scripts/tools.sh
  rm -rf "$out"
  mkdir -p "$out"
  read -r -d '' ddb_port standin_port watch_port shop_port gateway_port < <(python3 scripts/free_ports.py 5) || true
  # The e2e tests' binary, built before the platform starts (not inside the first round's time),
  # and axe-core for the browser flows' accessibility check.
  cargo test -q -p integration-tests --test e2e --no-run
  (cd tests/integration/browser && npm ci --silent --no-audit --no-fund)
  status=0
  REPEAT_INSIDE=1 DDB_PORT=$ddb_port STANDIN_PORT=$standin_port WATCH_PORT=$watch_port SHOP_PORT=$shop_port GATEWAY_PORT=$gateway_port \
    LOCAL_DIR="$out/platform" STANDIN_AUTHORIZER_TOKEN_TTL_SECS=900 STANDIN_TICKET_EVERY_SECS=0 WATCH_RELOAD=0 WECHAT_VENV="$venv" FUNCTION_LOG_LEVEL=TRACE \
    bash scripts/run-local.sh --then bash scripts/repeat.sh "$rounds" || status=$?
  exit "$status"
fi

# --- inside scripts/run-local.sh: the rounds ------------------------------------------------------
venv="${WECHAT_VENV:-$root/.venv}"
results="$out/results.tsv"
: >"$results"
export SCREENSHOT_DIR="$out/screenshots"

step() {
  case "$1" in
    console) "$venv/bin/python" tests/integration/browser/console_flow.py ;;
    authorize) "$venv/bin/python" tests/integration/browser/authorize_flow.py ;;
    web-auth) "$venv/bin/python" tests/integration/browser/web_auth_flow.py ;;
    api-docs) "$venv/bin/python" tests/integration/browser/api_docs_flow.py ;;
    e2e) cargo test -p integration-tests --test e2e -- --ignored --test-threads=1 ;;
  esac
}

for round in $(seq 1 "$rounds"); do
  for name in $(printf '%s\n' console authorize e2e web-auth api-docs | shuf); do
    log="$out/round-$round-$name.log"
    started=$(date +%s.%N)
    if step "$name" >"$log" 2>&1; then result=ok; else result=FAILED; fi
    took=$(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')")
    if [ "$name" = e2e ]; then
      # One line per Rust test: `test NAME ... ok|FAILED`.
      grep -E '^test .* \.\.\. (ok|FAILED)$' "$log" | sed -E 's/^test (.*) \.\.\. (ok|FAILED)$/\1\t\2/' \
        | while IFS=$'\t' read -r test verdict; do printf '%s\te2e::%s\t%s\t-\n' "$round" "$test" "$verdict" >>"$results"; done
    fi
    printf '%s\t%s\t%s\t%s\n' "$round" "$name" "$result" "$took" >>"$results"
    echo "round $round/$rounds: $name $result (${took} s)"
  done
done

echo
echo "== failures per test over $rounds rounds (logs in $out)"
python3 - "$results" <<'PY'
import collections, sys
runs, failed, rounds = collections.Counter(), collections.Counter(), collections.defaultdict(list)
for line in open(sys.argv[1], encoding="utf-8"):
    round_, name, verdict, _ = line.rstrip("\n").split("\t")
    runs[name] += 1
    if verdict != "ok":
        failed[name] += 1
        rounds[name].append(round_)
for name in sorted(runs):
    where = f"  (rounds {', '.join(rounds[name])})" if rounds[name] else ""
    print(f"{name:70} {failed[name]:3} failed of {runs[name]}{where}")
total = sum(failed.values())
print(f"{sum(runs.values()) - total} passed, {total} failed")
sys.exit(1 if total else 0)
PY
