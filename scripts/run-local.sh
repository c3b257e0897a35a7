#!/usr/bin/env bash
# Runs the whole platform locally: the local AWS emulator (moto: DynamoDB with the table,
# EventBridge with the hand-off bus, SQS with a subscriber's and the follower ledger's queues), the WeChat stand-in pushing
# tickets, and every function under `cargo lambda watch`. Ctrl-C stops all of it.
# Needs only the Rust toolchain and Python 3; installs cargo-lambda and moto into .venv.
#
#   scripts/run-local.sh                 run until Ctrl-C
#   scripts/run-local.sh --then CMD...   bring everything up, run CMD with WATCH_URL, GATEWAY_URL, STANDIN_URL,
#                                        SHOP_PORT, EVENTS_QUEUE_URL, LEDGER_QUEUE_URL and the functions'
#                                        environment exported,
#                                        stop everything, exit
#                                        with CMD's status (how scripts/test.sh runs the e2e tests)
# Ports: DDB_PORT, STANDIN_PORT, WATCH_PORT (defaults 8765, 9100, 9000), GATEWAY_PORT (9300: the
# HTTP API at template.yaml's paths, scripts/local_gateway.py), SHOP_PORT (9200: the
# origin web authorization may return to; nothing listens there unless a test serves a site); logs in LOCAL_DIR; the
# functions log at FUNCTION_LOG_LEVEL (default INFO; scripts/test.sh runs the e2e tests at TRACE);
# WATCH_RELOAD=0 turns off reloading a function when the tree changes (test runs).
set -euo pipefail
then=()
if [ "${1:-}" = "--then" ]; then shift; then=("$@"); fi
cd "$(dirname "$0")/.."
root=$(pwd)
DDB_PORT=${DDB_PORT:-8765}
STANDIN_PORT=${STANDIN_PORT:-9100}
WATCH_PORT=${WATCH_PORT:-9000}
GATEWAY_PORT=${GATEWAY_PORT:-9300}
# Not served here: the origin a site's pages use for web authorization (the browser test's shop).
SHOP_PORT=${SHOP_PORT:-9200}

venv="${WECHAT_VENV:-$root/.venv}"
if [ ! -x "$venv/bin/cargo-lambda" ] || ! "$venv/bin/python" -c "import moto" 2>/dev/null; then
  echo "== installing cargo-lambda and moto[server] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda 'moto[server]>=5.1,<6'
fi
export PATH="$venv/bin:$PATH"

pids=()
cleanup() {
  trap - INT TERM HUP EXIT
  # Output may go to a pipe (`| tee`) whose reader Ctrl-C already killed: never let that stop us.
  trap '' PIPE
  { echo; echo "== stopping"; } 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM HUP EXIT
start() { setsid "$@" & pids+=($!); }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "port $1 did not open" >&2; return 1; }

log="${LOCAL_DIR:-$root/target/local}"
mkdir -p "$log"

functions=$(python3 scripts/manifest.py functions)
# Test-only credentials from tests/platform.json, the ones events/ is signed with (so
# `cargo lambda invoke` with events/ works).
{ python3 scripts/manifest.py credentials; cat <<ENV
TABLE_NAME=wechat-local
# The committed events/ samples are signed with 2024 timestamps: no replay window locally, so
# \`cargo lambda invoke --data-file events/...\` works (deployments keep the default 300 s).
PUSH_MAX_AGE_SECS=0
# A rules change is in effect in event-callback within a second locally (deployments: 30 s).
REPLY_RULES_CACHE_SECS=1
WECHAT_API_BASE=http://127.0.0.1:$STANDIN_PORT
WECHAT_AUTH_PAGE_BASE=http://127.0.0.1:$STANDIN_PORT
AUTH_REDIRECT_URL=http://127.0.0.1:$WATCH_PORT/lambda-url/auth-callback
AUTHORIZE_START_URL=http://127.0.0.1:$WATCH_PORT/lambda-url/qr-url-issuer/authorize-start
# Web authorization: the authorize page is the stand-in; sites on SHOP_PORT (the shop of the
# browser test) are the most an account's owner may let followers return to; the starts sites'
# servers mint point at the local HTTP API.
WECHAT_OAUTH_BASE=http://127.0.0.1:$STANDIN_PORT
OAUTH_REDIRECT_URL=http://127.0.0.1:$WATCH_PORT/lambda-url/web-oauth/wechat/oauth/callback
OAUTH_RETURN_ORIGINS=http://127.0.0.1:$SHOP_PORT,http://localhost:$SHOP_PORT
# Single-quoted: \$APPID\$ is literal for bash and for cargo lambda's env-file parser alike.
OAUTH_START_URL='http://127.0.0.1:$GATEWAY_PORT/wechat/oauth/\$APPID\$/authorize'
# Quoted: cargo lambda's env-file parser refuses an unquoted '=' inside a value.
DOMAIN_VERIFICATION_FILES="MP_verify_local0123.txt=local0123"
# The console calls the functions where cargo lambda watch serves them (/lambda-url/<function>),
# and signs in with the stand-in's identity provider (who: GET /standin/idp-user?name=…).
CONSOLE_ROUTES=lambda-url
CONSOLE_OIDC_AUTHORIZE_URL=http://127.0.0.1:$STANDIN_PORT/standin/idp/authorize
CONSOLE_OIDC_CLIENT_ID=local-console
CONSOLE_UPLOAD_ORIGIN=http://127.0.0.1:$DDB_PORT
# No identity provider locally: the one demo user (a deployment must choose jwt or iam).
DASHBOARD_AUTH=unauthenticated-local-demo
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
AWS_ENDPOINT_URL_EVENTBRIDGE=http://127.0.0.1:$DDB_PORT
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$DDB_PORT
EVENT_BUS_NAME=wechat-platform-local
MEDIA_BUCKET=wechat-media-local
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_LAMBDA_LOG_LEVEL=${FUNCTION_LOG_LEVEL:-INFO}
ENV
} > "$log/functions.env"
set -a; . "$log/functions.env"; set +a

for port in "$DDB_PORT" "$WATCH_PORT" "$STANDIN_PORT" "$GATEWAY_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is taken (another scripts/run-local.sh?); set DDB_PORT, WATCH_PORT, STANDIN_PORT or GATEWAY_PORT" >&2
    exit 1
  fi
done

echo "== building (first run takes a few minutes)"
# One binary at a time, exactly as `cargo lambda watch` later runs them (`cargo run --bin <name>`):
# cargo resolves features per selection, so a --workspace build would be rebuilt on first request.
for bin in $functions wechat-standin; do
  cargo build -q --bin "$bin"
done
cargo build -q -p shared --example create_table

echo "== local AWS emulator (DynamoDB, EventBridge, SQS, S3) on 127.0.0.1:$DDB_PORT"
start python scripts/dynamodb_server.py 127.0.0.1 "$DDB_PORT" >"$log/dynamodb.log" 2>&1
wait_port "$DDB_PORT"
target/debug/examples/create_table
EVENTS_QUEUE_URL=$(python scripts/local_bus.py setup "http://127.0.0.1:$DDB_PORT" "$EVENT_BUS_NAME" wechat-events-local)
LEDGER_QUEUE_URL=$(python scripts/local_bus.py ledger "http://127.0.0.1:$DDB_PORT" "$EVENT_BUS_NAME" follower-ledger-local)
export EVENTS_QUEUE_URL LEDGER_QUEUE_URL
python scripts/local_bucket.py "http://127.0.0.1:$DDB_PORT" "$MEDIA_BUCKET" \
  "http://127.0.0.1:$WATCH_PORT" "http://127.0.0.1:$GATEWAY_PORT"
echo "== media staging bucket $MEDIA_BUCKET"
echo "== event bus $EVENT_BUS_NAME → queues $EVENTS_QUEUE_URL (all events), $LEDGER_QUEUE_URL (follower ledger)"

echo "== functions under cargo lambda watch on 127.0.0.1:$WATCH_PORT"
# Interactive runs reload a function when its code changes; a test run (WATCH_RELOAD=0) never does,
# so an edit in the tree cannot restart a function under a running test.
reload=()
[ "${WATCH_RELOAD:-1}" = 0 ] && reload=(--ignore-changes)
start cargo lambda watch "${reload[@]}" --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" --env-file "$log/functions.env" >"$log/watch.log" 2>&1
wait_port "$WATCH_PORT"

echo "== the HTTP API (template.yaml's routes) on 127.0.0.1:$GATEWAY_PORT"
start python scripts/local_gateway.py "$GATEWAY_PORT" "http://127.0.0.1:$WATCH_PORT" >"$log/gateway.log" 2>&1
wait_port "$GATEWAY_PORT"

echo "== WeChat stand-in on 127.0.0.1:$STANDIN_PORT"
STANDIN_ADDR=127.0.0.1:$STANDIN_PORT \
STANDIN_TICKET_URL=http://127.0.0.1:$WATCH_PORT/lambda-url/ticket-receiver \
STANDIN_CALLBACK_BASE=http://127.0.0.1:$WATCH_PORT/lambda-url/event-callback \
  start target/debug/wechat-standin >"$log/standin.log" 2>&1
wait_port "$STANDIN_PORT"
# The first request to each function makes cargo lambda watch start it: warm them all, then have
# WeChat push a ticket (retried until the ticket receiver answers `success`).
echo "== starting the functions"
for f in $(python3 scripts/manifest.py http-functions); do curl -s -m 300 -o /dev/null "http://127.0.0.1:$WATCH_PORT/lambda-url/$f" || true; done
pushed=
for _ in $(seq 1 30); do
  if curl -s -m 120 -X POST "http://127.0.0.1:$STANDIN_PORT/standin/push/ticket" | grep -q '"body":"success"'; then
    echo "== WeChat (stand-in) pushed a component_verify_ticket"; pushed=1; break
  fi
  sleep 2
done
[ -n "$pushed" ] || { echo "the ticket receiver never answered; see $log/watch.log" >&2; exit 1; }
# The follower ledger's queue delivered to follower-ledger as Lambda's SQS event source would.
start python scripts/local_bus.py pump "http://127.0.0.1:$DDB_PORT" "$LEDGER_QUEUE_URL" \
  "http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/follower-ledger/invocations" >"$log/ledger-pump.log" 2>&1

export WATCH_URL="http://127.0.0.1:$WATCH_PORT" STANDIN_URL="http://127.0.0.1:$STANDIN_PORT" LOG_DIR="$log" SHOP_PORT
export GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"
if [ ${#then[@]} -gt 0 ]; then
  echo "== running: ${then[*]}"
  status=0
  "${then[@]}" || status=$?
  exit "$status"
fi

cat <<MSG

The platform is running (logs in $log/).
  The console:            open http://127.0.0.1:$WATCH_PORT/lambda-url/console   in a browser
  The HTTP API:           http://127.0.0.1:$GATEWAY_PORT  (docs/openapi.yaml's paths, e.g. curl http://127.0.0.1:$GATEWAY_PORT/wechat/authorizers)
  Authorize an account:   open http://127.0.0.1:$WATCH_PORT/lambda-url/qr-url-issuer   in a browser
  Authorized accounts:    curl http://127.0.0.1:$WATCH_PORT/lambda-url/authorizer-list
  A follower message:     curl -X POST -H 'content-type: application/json' -d '{"appid":"wx1000000000000001","content":"你好"}' http://127.0.0.1:$STANDIN_PORT/standin/push/text
  Watch the events:       $venv/bin/python scripts/local_bus.py tail http://127.0.0.1:$DDB_PORT $EVENTS_QUEUE_URL
  Answer as the account:  curl -X POST -H 'content-type: application/json' -d '{"touser":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","msgtype":"text","text":{"content":"您好"}}' http://127.0.0.1:$WATCH_PORT/lambda-url/account-actions/wechat/authorizers/wx1000000000000001/messages
  Borrow its token:       curl http://127.0.0.1:$WATCH_PORT/lambda-url/account-actions/wechat/backend/authorizers/wx1000000000000001/access-token
  WeChat's release test:  curl -X POST http://127.0.0.1:$STANDIN_PORT/standin/release-test
  Who is this follower:   curl -X PUT -d '{"origins":["http://127.0.0.1:$SHOP_PORT"]}' http://127.0.0.1:$GATEWAY_PORT/wechat/authorizers/wx1000000000000001/web-origins
                          open http://127.0.0.1:$GATEWAY_PORT/wechat/oauth/wx1000000000000001/authorize?scope=snsapi_userinfo&return_to=http://127.0.0.1:$SHOP_PORT/bind
                          then redeem the wx_ticket it brings back:
                          curl -X POST -d '{"ticket":"…"}' http://127.0.0.1:$GATEWAY_PORT/wechat/backend/authorizers/wx1000000000000001/web-tickets
Ctrl-C stops everything.
MSG
wait
