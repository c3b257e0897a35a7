#!/usr/bin/env bash
# The end-to-end tests, run inside the local platform: `scripts/run-local.sh --then scripts/e2e.sh`
# (scripts/test.sh does this). The browser flow (headless Chromium) first, then the Rust tests that
# drive every function through `cargo lambda watch`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${WECHAT_VENV:-$(pwd)/.venv}"
: "${WATCH_URL:?run me through scripts/run-local.sh --then}"

echo "== browser: the authorization flow in headless Chromium"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-target/e2e/screenshots}" "$venv/bin/python" tests/integration/browser/authorize_flow.py

echo "== end-to-end tests through cargo lambda watch"
cargo test -q -p integration-tests --test e2e -- --ignored --test-threads=1
