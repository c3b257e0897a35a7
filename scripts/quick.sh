#!/usr/bin/env bash
# The fast inner loop: the tests that need no server (crypto vectors, parsers, the push pipeline,
# the store codec, every function's handler on the in-memory store, the sample events, the layout
# of functions/routes/template). About two seconds once built; `bash scripts/test.sh` runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q -p shared --lib
cargo test -q -p integration-tests --test integration -- bad_requests:: events:: layout::
