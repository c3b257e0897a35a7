"""The HTTP API of template.yaml in front of `cargo lambda watch`: each route the template declares
(HttpApi events and `AWS::ApiGatewayV2::Route`s), at its deployed path, forwarded to the function
that serves it at `/lambda-url/<function><path>`. So the local run answers the paths of
docs/openapi.yaml, and a client written against the deployment works against it unchanged.

Like API Gateway it picks the most specific route (literal segments before parameters, a greedy
`{proxy+}` last), answers 404 `{"message":"Not Found"}` when none matches (whatever the method),
and never follows a redirect. On an `AWS_IAM` route a request without a SigV4 `Authorization`
header gets API Gateway's 403 `{"message":"Forbidden"}` (the signature itself is not checked: the
functions run with DASHBOARD_AUTH=unauthenticated-local-demo). A body that is not UTF-8 reaches the
function as binary (`application/octet-stream`), as API Gateway passes binary bodies base64-encoded;
`cargo lambda watch` would otherwise answer 500 itself.

    python scripts/local_gateway.py PORT WATCH_URL
"""

import http.client
import http.server
import os
import re
import sys
import urllib.parse

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class _Template(yaml.SafeLoader):
    """template.yaml with its tags read as the scalars they hold (`!GetAtt F.Arn` → `F.Arn`)."""


_Template.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
)


def kebab(resource: str) -> str:
    name = resource.removesuffix("Function")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def expand(node):
    """The template's `Fn::ForEach::<Loop>: [Id, [values], fragment]` loops (AWS::LanguageExtensions)
    unrolled: `${Id}` replaced in the fragment's keys and strings, once per value, nested loops
    included (tests/integration/layout.rs reads the template the same way)."""
    if isinstance(node, list):
        return [expand(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if not (isinstance(key, str) and key.startswith("Fn::ForEach::")):
            out[key] = expand(value)
            continue
        identifier, values, fragment = value
        for item in values:
            out.update(expand(substitute(fragment, "${" + identifier + "}", item)))
    return out


def substitute(node, placeholder: str, value: str):
    if isinstance(node, str):
        return node.replace(placeholder, value)
    if isinstance(node, list):
        return [substitute(item, placeholder, value) for item in node]
    if isinstance(node, dict):
        return {substitute(k, placeholder, value): substitute(v, placeholder, value) for k, v in node.items()}
    return node


def template_routes() -> list[tuple[str, str, str, bool]]:
    """Every HTTP route template.yaml declares: (method or ANY, path, function, AWS_IAM?). The one
    reading of the template's routes (scripts/check_openapi.py holds the API document to it)."""
    with open(os.path.join(ROOT, "template.yaml"), encoding="utf-8") as f:
        resources = yaml.load(f, Loader=_Template)["Resources"]
    found = []
    for name, resource in expand(resources).items():
        if not isinstance(resource, dict) or "Type" not in resource:
            continue
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function":
            for event in (properties.get("Events") or {}).values():
                if event["Type"] == "HttpApi":
                    found.append((event["Properties"]["Method"], event["Properties"]["Path"], kebab(name), False))
        elif resource["Type"] == "AWS::ApiGatewayV2::Route":
            method, path = properties["RouteKey"].split(" ", 1)
            # `integrations/${<Name>Integration}`: a function's integration is named after it.
            integration = re.search(r"\$\{(\w+)Integration\}", properties["Target"]).group(1)
            found.append((method, path, kebab(integration), properties.get("AuthorizationType") == "AWS_IAM"))
    return found


def routes() -> list[tuple[str, re.Pattern, str, bool, tuple]]:
    """(method or ANY, path regex, function, AWS_IAM?, sort key), most specific first."""
    compiled = []
    for method, path, function, iam in template_routes():
        segments = path.strip("/").split("/")
        pattern = "".join(
            "/(.+)" if s.endswith("+}") else "/([^/]+)" if s.startswith("{") else "/" + re.escape(s) for s in segments
        )
        literal = sum(1 for s in segments if not s.startswith("{"))
        greedy = any(s.endswith("+}") for s in segments)
        compiled.append((method, re.compile(f"^{pattern}$"), function, iam, (greedy, -literal, method == "ANY")))
    return sorted(compiled, key=lambda r: r[4])


class Gateway(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    table: list = []
    upstream: urllib.parse.SplitResult = None

    def log_message(self, *args) -> None:  # quiet: the functions log
        pass

    def forward(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        route = next(
            (r for r in self.table if r[0] in (self.command, "ANY") and r[1].match(url.path)),
            None,
        )
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if route is None:
            self.answer(404, [("content-type", "application/json")], b'{"message":"Not Found"}')
            return
        if route[3] and not (self.headers.get("authorization") or "").startswith("AWS4-HMAC-SHA256 "):
            self.answer(403, [("content-type", "application/json")], b'{"message":"Forbidden"}')
            return
        target = f"/lambda-url/{route[2]}{url.path}" + (f"?{url.query}" if url.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["content-type"] = "application/octet-stream"
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=300)
        try:
            connection.request(self.command, target, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            passed = [(k, v) for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")]
            self.answer(response.status, passed, data)
        except OSError as err:
            self.answer(502, [("content-type", "application/json")], f'{{"message":"{type(err).__name__}"}}'.encode())
        finally:
            connection.close()

    def answer(self, status: int, headers: list, body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name: str):
        # Every method, known or not (TRACE, QUERY, …), is routed: http.server would answer 501.
        if name.startswith("do_"):
            return self.forward
        raise AttributeError(name)


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    Gateway.table = routes()
    Gateway.upstream = urllib.parse.urlsplit(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Gateway)
    print(f"the HTTP API on 127.0.0.1:{sys.argv[1]}: {len(Gateway.table)} routes → {sys.argv[2]}/lambda-url/…", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
