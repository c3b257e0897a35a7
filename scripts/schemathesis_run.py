"""schemathesis's command line, with `ast.parse` taken one thread at a time.

Hypothesis describes the filters schemathesis builds by parsing their source file with
`ast.parse`; with two workers, two threads parse the same large file at once on the first
operations, and CPython 3.11 can then fail inside the parser ("SystemError: AST constructor
recursion depth mismatch"), which schemathesis reports as a runtime error of whichever operation
was being generated. A lock around `ast.parse` costs nothing measurable (hypothesis caches each
file's parse) and keeps the two workers. Used by scripts/fuzz_api.sh in place of
`schemathesis`; the arguments are schemathesis's own.
"""

import ast
import sys
import threading

_parse = ast.parse
_lock = threading.Lock()


def _parse_alone(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone

from schemathesis.cli import schemathesis  # noqa: E402  (after the patch, so every import sees it)

if __name__ == "__main__":
    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
