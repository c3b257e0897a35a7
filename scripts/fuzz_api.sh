#!/usr/bin/env bash
# Property-based tests of the HTTP API against docs/openapi.yaml (schemathesis), run inside the
# local platform: `scripts/run-local.sh --then scripts/fuzz_api.sh` (scripts/e2e.sh does), through
# the local API at template.yaml's paths (GATEWAY_URL). Every operation gets the document's
# examples, its coverage cases (each boundary and each required part missing or wrong) and
# API_EXAMPLES generated requests (default 20: with 30 the whole test command ran past its 20
# minutes on a clean clone); each response must not be a 5xx, must have a status, content type,
# headers and body the document allows, and a request the document calls invalid must be refused.
#
# The account the document's examples name is authorized first (as the dashboard's local demo
# user), so the account routes are exercised beyond "no such account". Every request carries a
# SigV4-shaped Authorization header, which the local API requires on AWS_IAM routes as API Gateway
# does (it checks no signature) and the local demo reads as its default user.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${WECHAT_VENV:-$(pwd)/.venv}"
: "${GATEWAY_URL:?run me through scripts/run-local.sh --then}"
: "${STANDIN_URL:?run me through scripts/run-local.sh --then}"
out="${FUZZ_API_DIR:-target/fuzz-api}"
mkdir -p "$out"

"$venv/bin/python" scripts/fuzz_api_setup.py authorize

st() {
  # schemathesis_run.py: schemathesis with a fix for a parser race of two workers (its docstring).
  "$venv/bin/python" scripts/schemathesis_run.py run docs/openapi.yaml \
    --url "$GATEWAY_URL" \
    --header "Authorization: AWS4-HMAC-SHA256 Credential=local/fuzz" \
    --generation-with-security-parameters false \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
    --max-examples "${API_EXAMPLES:-20}" \
    --seed "${API_SEED:-20261205}" \
    --max-redirects 0 \
    --request-timeout 60 \
    --workers "${API_WORKERS:-2}" \
    --no-color \
    "$@"
}

# First only requests the document calls invalid: every one refused, and nothing stored.
"$venv/bin/python" scripts/fuzz_api_setup.py snapshot "$out/before.json"
echo "== schemathesis: invalid requests only"
st --mode negative --phases coverage,fuzzing --report junit --report-junit-path "$out/negative.xml"
"$venv/bin/python" scripts/fuzz_api_setup.py compare "$out/before.json"

# Then the valid ones (the invalid were all sent above): every example, coverage case and generated
# request answered as the document says. Not `--mode all`: it would send every invalid case a second
# time, minutes of the suite for nothing the first run did not test.
echo "== schemathesis: every operation, valid requests"
st --mode positive --phases examples,coverage,fuzzing --report junit --report-junit-path "$out/positive.xml"
