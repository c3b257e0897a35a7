#!/usr/bin/env bash
# Vendors the OpenAPI renderer the console serves at /console/api: swagger-ui-dist from npm, its
# bundle and styles gzipped (the console sends them with `Content-Encoding: gzip`, so its binary
# grows by the compressed size), with its licence. Re-run to upgrade: `bash scripts/vendor_swagger_ui.sh 5.35.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-5.35.0}
out=functions/console/assets/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
mkdir -p "$out"
gzip -9 -n -c "$work/package/swagger-ui-bundle.js" >"$out/swagger-ui-bundle.js.gz"
gzip -9 -n -c "$work/package/swagger-ui.css" >"$out/swagger-ui.css.gz"
cp "$work/package/LICENSE" "$out/swagger-ui.LICENSE"
cp "$work/package/NOTICE" "$out/swagger-ui.NOTICE"
echo "swagger-ui-dist $version (npm), Apache-2.0" >"$out/swagger-ui.VERSION"
ls -l "$out"
