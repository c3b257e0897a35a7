#!/usr/bin/env bash
# The end-to-end tests, run inside the local platform: `scripts/run-local.sh --then scripts/e2e.sh`
# (scripts/test.sh does this). In headless Chromium the console and the authorization flow, the
# Rust tests that drive every function through `cargo lambda watch`, and web authorization in the
# browser. Each takes an account, a dashboard user and (where it reads the bus) a queue of its own,
# so none depends on another's leftovers or on this order, and all can run again on the same
# platform (scripts/repeat.sh does, N times).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${WECHAT_VENV:-$(pwd)/.venv}"
: "${WATCH_URL:?run me through scripts/run-local.sh --then}"

# axe-core, which the browser flows run on every screen of the platform's they take a picture of.
(cd tests/integration/browser && npm ci --silent --no-audit --no-fund)

echo "== browser: the operator's console (empty list, add an account, rules, followers, sending, a phone)"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/console_flow.py

echo "== browser: the authorization flow in headless Chromium"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/authorize_flow.py

echo "== end-to-end tests through cargo lambda watch"
cargo test -q -p integration-tests --test e2e -- --ignored --test-threads=1

echo "== browser: web authorization on behalf of the account (a shop's page, WeChat's consent, the ticket)"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/web_auth_flow.py

echo "== browser: the API reference (docs/openapi.yaml rendered under the console's policy)"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/api_docs_flow.py

echo "== example backends against the local API: Python (botocore's SigV4) and TypeScript (the AWS SDK's signer)"
(cd examples/backend-python && "$venv/bin/python" check.py)
(cd examples/backend-typescript && npm ci --silent --no-audit --no-fund && npx tsc --noEmit -p . && npx tsx check.ts)

echo "== the HTTP API against docs/openapi.yaml (schemathesis, through the local API)"
bash scripts/fuzz_api.sh
