"""The local DynamoDB-API server for the tests and local runs: moto, one request at a time.

DynamoDB applies every conditional write atomically. moto's stock `moto_server` runs a threaded
server whose backend does not lock items, so two concurrent conditional writes to the same item
can both succeed there, and concurrency tests would fail (or pass) for the wrong reason.
Serving requests one at a time restores DynamoDB's per-item atomicity; werkzeug closes every
connection after its response, so waiting clients are queued, not starved.

Usage: python dynamodb_server.py HOST PORT
"""

import sys

from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app

try:
    from moto.server import MotoRequestHandler
except ImportError:  # older moto
    MotoRequestHandler = None


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    options = {"threaded": False}
    if MotoRequestHandler is not None:
        options["request_handler"] = MotoRequestHandler
    run_simple(host, port, app, **options)


if __name__ == "__main__":
    main()
