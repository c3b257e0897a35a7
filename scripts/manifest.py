"""Prints what tests/platform.json says, for the shell scripts (one source for the function list
and the test credentials).

Usage: python3 scripts/manifest.py functions        one function name a line
       python3 scripts/manifest.py http-functions   the HTTP-triggered ones
       python3 scripts/manifest.py credentials      NAME=value lines (test-only credentials)
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load():
    with open(os.path.join(ROOT, "tests", "platform.json"), encoding="utf-8") as f:
        return json.load(f)


def main(what):
    platform = load()
    if what == "functions":
        lines = [f["name"] for f in platform["functions"]]
    elif what == "http-functions":
        lines = [f["name"] for f in platform["functions"] if f["trigger"] == "http"]
    elif what == "credentials":
        lines = [f"{k}={v}" for k, v in platform["test_credentials"].items()]
    else:
        sys.exit(__doc__)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
