#!/usr/bin/env bash
# The end-to-end tests, run inside the local platform: `scripts/run-local.sh --then scripts/e2e.sh`
# (scripts/test.sh does this). In headless Chromium the console and the authorization flow first,
# then the Rust tests that drive every function through `cargo lambda watch`, then web
# authorization in the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${WECHAT_VENV:-$(pwd)/.venv}"
: "${WATCH_URL:?run me through scripts/run-local.sh --then}"

# First: the console's test starts from an empty account list.
echo "== browser: the operator's console (empty list, add an account, rules, followers, sending, a phone)"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/console_flow.py

echo "== browser: the authorization flow in headless Chromium"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/authorize_flow.py

echo "== end-to-end tests through cargo lambda watch"
cargo test -q -p integration-tests --test e2e -- --ignored --test-threads=1

# After the Rust tests: they authorize and finally revoke wx1000000000000001; this flow authorizes
# it again through the dashboard's page, then identifies a follower on a shop's page.
echo "== browser: web authorization on behalf of the account (a shop's page, WeChat's consent, the ticket)"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/web_auth_flow.py
