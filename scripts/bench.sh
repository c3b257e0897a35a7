#!/usr/bin/env bash
# Performance measurements (docs/testing.md, "Benchmarks"). Each prints its figures; none is a pass/fail test
# except where a budget is a hard property (no network during init).
#
#   scripts/bench.sh hot        push and reply path: ours (criterion) and wechatpy's, one run, ratios
#   scripts/bench.sh cold       cold start of every release binary vs hello-world lambda_http
#   scripts/bench.sh size       arm64 release binaries (cargo lambda build --release --arm64), zipped too
#   scripts/bench.sh refresher  one refresher run: 5,000 due among 50,000 accounts, WeChat at 50 ms
#   scripts/bench.sh secrets    a secret from the environment vs from Secrets Manager at init (not in all)
#   scripts/bench.sh media      what the platform adds to a 100 KB and a 10 MB upload, and media-library's peak
#                               memory, on the local run (scripts/media_cost.py; not in all)
#   scripts/bench.sh all        all of the above (about 20 minutes on 2 cores, most of it building)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="${WECHAT_VENV:-$root/.venv}"
what="${1:-all}"

python_tools() {
  if ! "$venv/bin/python" -c "import wechatpy, cryptography" 2>/dev/null || [ ! -x "$venv/bin/cargo-lambda" ]; then
    echo "== installing wechatpy and cargo-lambda into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check wechatpy cryptography cargo-lambda
  fi
}

machine() {
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(uname -m), rustc $(rustc --version | cut -d' ' -f2)"
}

hot() {
  python_tools
  echo "== hot path: ours (criterion, cargo bench -p shared --bench hot_path)"
  cargo bench -q -p shared --bench hot_path -- --noplot >/dev/null 2>&1
  local push reply
  push=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
    "target/criterion/push_ verify + decrypt + parse (text)/new/estimates.json")
  reply=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
    "target/criterion/reply_ render + encrypt + sign (text)/new/estimates.json")
  echo "== hot path: wechatpy (same input, timeit best of 7)"
  local theirs
  theirs=$("$venv/bin/python" scripts/bench_wechatpy.py)
  "$venv/bin/python" - "$push" "$reply" "$theirs" <<'PY'
import json, sys
push, reply, theirs = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
import importlib.metadata as md
print(f"{'path':<34} {'ours':>10} {'wechatpy ' + md.version('wechatpy'):>16} {'ratio':>8}")
for name, ours, py in (("push: verify+decrypt+parse", push, theirs["push_ns"]), ("reply: render+encrypt+sign", reply, theirs["reply_ns"])):
    print(f"{name:<34} {ours / 1000:>8.2f}µs {py / 1000:>14.2f}µs {py / ours:>7.1f}×")
print(f"(push body {theirs['body_bytes']} bytes; Python {theirs['python']}; targets: push <= 3 µs and >= 25×, reply >= 25×)")
PY
}

cold() {
  echo "== cold start: release binaries (cargo build --release)"
  # shellcheck disable=SC2046
  cargo build -q --release $(for f in $(python3 scripts/manifest.py functions) hello-lambda; do echo "-p $f"; done)
  python3 scripts/cold_start.py --runs "${RUNS:-30}"
}

size() {
  python_tools
  echo "== size: cargo lambda build --release --arm64 (zig cross build)"
  # shellcheck disable=SC2046
  PATH="$venv/bin:$PATH" cargo lambda build -q --release --arm64 \
    $(for f in $(python3 scripts/manifest.py functions) hello-lambda; do echo "--bin $f"; done) >/dev/null
  "$venv/bin/python" - <<'PY'
import os, zipfile, io, sys
sys.path.insert(0, "scripts")
import manifest
base = "target/lambda"
print(f"{'function':<16} {'bootstrap':>12} {'zipped':>10}")
for name in [f["name"] for f in manifest.load()["functions"]] + ["hello-lambda"]:
    path = os.path.join(base, name, "bootstrap")
    data = open(path, "rb").read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("bootstrap", data)
    print(f"{name:<16} {len(data) / 1e6:>10.2f}MB {len(buf.getvalue()) / 1e6:>8.2f}MB")
print("(aarch64, stripped by the release profile; target: <= 6 MB each)")
PY
  file target/lambda/ticket-receiver/bootstrap | cut -d, -f1-2
}

secrets() {
  echo "== secrets: qr-url-issuer's AppSecret from its environment vs from Secrets Manager at init"
  if ! "$venv/bin/python" -c "import moto, boto3" 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
  fi
  cargo build -q --release -p qr-url-issuer -p hello-lambda
  local out="$root/target/secrets-option" tree
  mkdir -p "$out"
  cp target/release/qr-url-issuer "$out/qr-url-issuer-env"
  # The option is built from a copy of HEAD with the patch applied, into the same target
  # directory (its dependencies are already built), then the real binary is rebuilt.
  tree=$(mktemp -d)/tree
  git worktree add -q --detach "$tree" HEAD
  (cd "$tree" && git apply "$root/bench/secrets-manager-option.patch" &&
    CARGO_TARGET_DIR="$root/target" cargo build -q --release -p qr-url-issuer)
  cp target/release/qr-url-issuer "$out/qr-url-issuer-secrets-manager"
  git worktree remove --force "$tree"
  cargo build -q --release -p qr-url-issuer
  local port=18799
  "$venv/bin/python" scripts/dynamodb_server.py 127.0.0.1 "$port" >"$out/moto.log" 2>&1 &
  local moto=$!
  trap 'kill $moto 2>/dev/null' RETURN
  for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
  "$venv/bin/python" scripts/secrets_option.py "$out/qr-url-issuer-env" "$out/qr-url-issuer-secrets-manager" \
    "http://127.0.0.1:$port" --runs "${RUNS:-40}"
}

refresher() {
  echo "== refresher at scale (in-memory store; WeChat stand-in with injected latency)"
  cargo bench -q -p integration-tests --bench refresher_scale
}

machine
case "$what" in
  hot) hot ;;
  cold) cold ;;
  size) size ;;
  refresher) refresher ;;
  secrets) secrets ;;
  media) bash scripts/run-local.sh --then "$venv/bin/python" scripts/media_cost.py --runs "${RUNS:-5}" ;;
  all) hot; cold; size; refresher ;;
  *) echo "usage: scripts/bench.sh [hot|cold|size|refresher|secrets|media|all]" >&2; exit 2 ;;
esac
