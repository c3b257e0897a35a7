#!/usr/bin/env bash
# The deploy, proven without an AWS account: `sam validate --lint` and `sam build` of
# template.yaml exactly as `sam deploy` would package it (arm64, the template's
# rust-cargolambda build method: `cargo lambda build --release --arm64` per function, zig for the
# cross-compilation). Then the size of every bootstrap. Not part of scripts/test.sh: it builds
# every function in release for arm64 (docs/deploy.md says how long that takes).
# Needs the Rust toolchain and Python 3; installs aws-sam-cli and cargo-lambda into .venv-deploy.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${WECHAT_DEPLOY_VENV:-$(pwd)/.venv-deploy}"
if [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cargo-lambda" ]; then
  echo "== installing aws-sam-cli and cargo-lambda into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check aws-sam-cli cargo-lambda
fi
# SAM CLI expands AWS::LanguageExtensions (the template's Fn::ForEach loops) only when asked.
export PATH="$venv/bin:$PATH" SAM_CLI_TELEMETRY=0 SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS=1
# Validation needs a region name, never credentials.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

started=$(date +%s)
echo "== sam validate --lint"
sam validate --lint
echo "== sam build (arm64 release builds of every function)"
sam build
echo "== bootstrap sizes (arm64)"
for bootstrap in .aws-sam/build/*/bootstrap; do
  printf '%-32s %6d KiB\n' "$(basename "$(dirname "$bootstrap")")" $(( $(stat -c %s "$bootstrap") / 1024 ))
done
echo "deploy check passed in $(( $(date +%s) - started )) s"
