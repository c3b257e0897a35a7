"""Holds docs/openapi.yaml to the code: a valid OpenAPI 3.1 document (openapi-spec-validator) that
has exactly the operations the platform serves and exactly the dashboard's error codes.

- the routes: every HttpApi event and `AWS::ApiGatewayV2::Route` of template.yaml; an account
  route (`ANY …/{appid}/…`) stands for the actions of the function it reaches (its `route` table
  in `functions/<function>/src/lib.rs`: account-actions, media-library), the backend-only ones in
  the backend family alone;
- the codes: `DashboardCode` in shared/src/web.rs against the document's `DashboardCode` enum.

Every difference is named, both ways (missing from the document, or named there but served by
nothing). Run by scripts/test.sh:

    python scripts/check_openapi.py
"""

import os
import re
import sys

import yaml
from openapi_spec_validator import validate

from local_gateway import template_routes  # the template's routes, read as the local API reads them

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def read(path: str) -> str:
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def actions_of(function: str) -> list[tuple[str, str, bool]]:
    """(method, path under `{appid}/`, backend only) for each arm of a routed account function's
    route table (`functions/<function>/src/lib.rs`, its `route` match)."""
    source = read(f"functions/{function}/src/lib.rs")
    arms = re.findall(r'\(&Method::([A-Z]+), \[([^\]]*)\]\)( if backend)? => Action::', source)
    actions = []
    for method, segments, backend_only in arms:
        parts = [s.strip() for s in segments.split(",") if s.strip()]
        path = "/".join(p.strip('"') if p.startswith('"') else "{" + p + "}" for p in parts)
        actions.append((method.lower(), path, bool(backend_only)))
    if not actions:
        sys.exit(f"no route table found in functions/{function}/src/lib.rs")
    return actions


def served() -> set[tuple[str, str]]:
    """Every (method, path) the deployed API answers, the account routes (`ANY` under
    `/authorizers/{appid}/`) expanded into the actions of the function they reach: all of them
    behind `…/{appid}/{proxy+}`, those under a fixed part behind `…/{appid}/media` and
    `…/{appid}/media/{proxy+}`."""
    expanded = set()
    for method, path, function, _ in template_routes():
        if method != "ANY" or "/authorizers/{appid}/" not in path:
            expanded.add((method.lower(), path))
            continue
        base, rest = path.split("{appid}/", 1)
        base += "{appid}/"
        fixed = rest.removesuffix("{proxy+}").rstrip("/")
        greedy = rest.endswith("{proxy+}")
        backend = "/backend/" in path
        for action_method, action_path, backend_only in actions_of(function):
            if backend_only and not backend:
                continue
            if greedy and fixed and not action_path.startswith(fixed + "/"):
                continue
            if not greedy and action_path != fixed:
                continue
            expanded.add((action_method, base + action_path))
    return expanded


def documented(document: dict) -> set[tuple[str, str]]:
    return {(m, path) for path, item in document["paths"].items() for m in item if m in METHODS}


def dashboard_codes() -> set[int]:
    codes = {int(c) for c in re.findall(r"Self::[A-Za-z]+ => (1\d{3}),", read("shared/src/web.rs"))}
    if not codes:
        sys.exit("no DashboardCode numbers found in shared/src/web.rs")
    return codes


def main() -> int:
    document = yaml.safe_load(read("docs/openapi.yaml"))
    validate(document)
    problems = []
    served_routes, doc_routes = served(), documented(document)
    for method, path in sorted(served_routes - doc_routes):
        problems.append(f"served but not in docs/openapi.yaml: {method.upper()} {path}")
    for method, path in sorted(doc_routes - served_routes):
        problems.append(f"in docs/openapi.yaml but served by nothing: {method.upper()} {path}")
    codes, doc_codes = dashboard_codes(), set(document["components"]["schemas"]["DashboardCode"]["enum"])
    for code in sorted(codes - doc_codes):
        problems.append(f"DashboardCode {code} is missing from the document's DashboardCode enum")
    for code in sorted(doc_codes - codes):
        problems.append(f"the document names DashboardCode {code}, which shared/src/web.rs does not have")
    operations = [op for item in document["paths"].values() for m, op in item.items() if m in METHODS]
    for op in operations:
        if "security" not in op:
            problems.append(f"{op['operationId']} does not say who may call it (security)")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"docs/openapi.yaml: valid OpenAPI {document['openapi']}, {len(operations)} operations on "
          f"{len(doc_routes)} routes as served, {len(codes)} dashboard codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
