# Sourced by scripts/test.sh and scripts/repeat.sh (with `venv` set): installs what the tests need
# when it is missing. Python tools in a venv of their own (moto's server, cfn-lint, cargo-lambda,
# selenium, openapi-spec-validator, schemathesis); Debian's Chromium, its driver and a CJK font with apt-get.

if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/cfn-lint" ] || [ ! -x "$venv/bin/cargo-lambda" ] \
  || ! "$venv/bin/python" -c "import samtranslator, selenium, openapi_spec_validator" 2>/dev/null \
  || [ ! -x "$venv/bin/schemathesis" ]; then
  echo "== installing moto[server], cfn-lint, cargo-lambda, selenium, openapi-spec-validator and schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6' 'cfn-lint>=1.30,<2' \
    'aws-sam-translator>=1.90' cargo-lambda 'selenium>=4.20,<5' 'openapi-spec-validator>=0.7,<1' \
    'schemathesis>=4.3,<5'
fi

# Node.js and npm for the TypeScript example backend, when the machine has none.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing nodejs and npm (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "the TypeScript example needs Node.js: sudo apt-get install nodejs npm" >&2
    exit 1
  fi
fi

browser_packages=(chromium chromium-driver fonts-wqy-microhei)
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s "${browser_packages[@]}" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${browser_packages[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser_packages[@]}" >/dev/null
  else
    echo "the browser tests need: sudo apt-get install ${browser_packages[*]}" >&2
    exit 1
  fi
fi
