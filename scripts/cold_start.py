"""Cold start of every function's release binary, next to a hello-world lambda_http binary built
with the same profile (bench/hello-lambda).

Each binary is started against a minimal local Lambda Runtime API (this script), and timed from
process start to (a) its first `GET /runtime/invocation/next` (the end of init, what Lambda bills as
Init Duration) and (b) its first response, for an event each function answers without the network
(a push with a wrong signature, a bad parameter, a forged state). authorizer-list and
token-refresher have no such event (their first request reads the store), so only (a) is timed for
them. DynamoDB and the WeChat API point at tripwire sockets: any connection during init is counted
and reported (it must be 0: configuration and clients are built, nothing is fetched).

Usage: python3 scripts/cold_start.py [--runs 30] [--bin-dir target/release] [--only FUNCTION...]
(scripts/bench.sh builds the binaries first.)
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def manifest():
    """tests/platform.json: the function list and the test-only credentials."""
    with open(os.path.join(ROOT, "tests", "platform.json"), encoding="utf-8") as f:
        return json.load(f)


def functions():
    """(binary, event file or None when the first request needs the network): the hello-world
    baselines, then every function of tests/platform.json with its `cold_start_event`."""
    platform = manifest()
    listed = [
        (f["name"], f"events/{f['name']}/{f['cold_start_event']}" if f["cold_start_event"] else None)
        for f in platform["functions"]
    ]
    return [
        ("hello-lambda", "events/qr-url-issuer/get.json"),
        ("hello-lambda-current-thread", "events/qr-url-issuer/get.json"),
    ] + listed


FUNCTIONS = functions()


class Run:
    """What one cold start did, as the Runtime API saw it."""

    def __init__(self, event: bytes):
        self.event = event
        self.started = 0.0
        self.first_next = None
        self.responded = None
        self.status = None
        self.done = threading.Event()
        self.release = threading.Event()


class Quiet(ThreadingHTTPServer):
    """A killed function leaves its held `next` request without a reader: not worth a traceback."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class RuntimeApi(BaseHTTPRequestHandler):
    run: Run = None  # set per run by a subclass (see measure)

    def log_message(self, *args):
        pass

    def do_GET(self):
        run = self.run
        if self.path != "/2018-06-01/runtime/invocation/next":
            self.send_error(404)
            return
        if run.first_next is None:
            run.first_next = time.perf_counter()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-0001")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:cold")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
            self.send_header("Content-Length", str(len(run.event)))
            self.end_headers()
            self.wfile.write(run.event)
            if run.event == b"":
                run.done.set()
        else:
            # The function asks for its second event: hold it until the run is over.
            run.release.wait(10)
            self.send_error(503)

    def do_POST(self):
        run = self.run
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if run.responded is None:
            run.responded = time.perf_counter()
            run.status = self.path.rsplit("/", 1)[-1]
            try:
                run.status = f"{run.status} {json.loads(body).get('statusCode', '')}".strip()
            except (ValueError, AttributeError):
                pass
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        run.done.set()


class Tripwire:
    """A listening socket that counts connections (DynamoDB and WeChat during init must be 0)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.times = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            self.times.append(time.perf_counter())
            conn.close()


def environment(runtime_port: int, store: Tripwire, wechat: Tripwire) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COMPONENT_", "WECHAT_"))}
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
            "AWS_LAMBDA_FUNCTION_NAME": "cold",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_STREAM_NAME": "cold",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cold",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "cold",
            "AWS_SECRET_ACCESS_KEY": "cold",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{store.port}",
            "TABLE_NAME": "cold",
            "WECHAT_API_BASE": f"http://127.0.0.1:{wechat.port}",
            "AUTH_REDIRECT_URL": "https://platform.example/wechat/authorize/callback",
            "AUTHORIZE_START_URL": "https://platform.example/wechat/authorize-start",
            # As deployed: a dashboard behind an authorizer.
            "DASHBOARD_AUTH": "jwt",
        }
    )
    # The test credentials of tests/platform.json, so the sample events are well-formed.
    env.update(manifest()["test_credentials"])
    return env


def measure(binary: str, event: bytes, env: dict, store: Tripwire, wechat: Tripwire):
    # A Runtime API of its own per run: a late `next` from the previous (killed) process must
    # never be taken for this one's.
    run = Run(event)
    # A handler class per run: a late request of the previous (killed) process can only touch
    # its own run's record.
    server = Quiet(("127.0.0.1", 0), type("RunApi", (RuntimeApi,), {"run": run}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    store.times.clear()
    wechat.times.clear()
    run.started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished = run.done.wait(20)
    run.release.set()
    process.kill()
    process.wait()
    server.shutdown()
    server.server_close()
    if not finished or run.first_next is None:
        raise SystemExit(f"{binary}: no answer from the function within 20 s")
    init_ms = (run.first_next - run.started) * 1000
    response_ms = (run.responded - run.started) * 1000 if run.responded else None
    network_in_init = sum(1 for t in store.times + wechat.times if t < run.first_next)
    return init_ms, response_ms, run.status, network_in_init


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"))
    parser.add_argument("--only", nargs="*", default=None, help="these functions only (and hello-lambda)")
    args = parser.parse_args()

    store, wechat = Tripwire(), Tripwire()
    env = environment(0, store, wechat)

    # Round-robin: every round starts each binary once, so a drift of the machine (another
    # process, frequency scaling) weighs on all of them alike instead of on whichever ran then.
    binaries = []
    for name, event_file in FUNCTIONS:
        if args.only is not None and name != "hello-lambda" and name not in args.only:
            continue
        binary = os.path.join(args.bin_dir, name)
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} is missing: build with cargo build --release --bins")
        event = open(os.path.join(ROOT, event_file or "events/token-refresher/schedule.json"), "rb").read()
        if event_file is None:
            event = b""  # only init is timed: the run ends at the first `next`
        binaries.append((name, binary, event, event_file is not None))
        measure(binary, event, env, store, wechat)  # warm the page cache
    results = {name: ([], [], set(), 0) for name, *_ in binaries}
    for _ in range(args.runs):
        for name, binary, event, answers in binaries:
            inits, responses, statuses, _network = results[name]
            init_ms, response_ms, status, in_init = measure(binary, event, env, store, wechat)
            inits.append(init_ms)
            if answers and response_ms is not None:
                responses.append(response_ms)
                statuses.add(status)
            results[name] = (inits, responses, statuses, _network + in_init)
    rows = []
    for name, binary, _event, _answers in binaries:
        inits, responses, statuses, network = results[name]
        rows.append(
            {
                "binary": name,
                "init_ms": statistics.median(inits),
                "first_response_ms": statistics.median(responses) if responses else None,
                "answer": ", ".join(sorted(statuses)) or "-",
                "network_during_init": network,
                "size_bytes": os.path.getsize(binary),
            }
        )

    hello = rows[0]
    print(f"cold start, median of {args.runs} round-robin runs per binary ({args.bin_dir}):")
    print(f"{'binary':<28} {'init ms':>8} {'×hello':>7} {'1st resp ms':>12} {'×hello':>7}  {'answer':<16} {'net@init':>8} {'size':>9}")
    worst = 0.0
    for row in rows:
        init_ratio = row["init_ms"] / hello["init_ms"]
        response = row["first_response_ms"]
        response_ratio = response / hello["first_response_ms"] if response else None
        worst = max(worst, init_ratio, response_ratio or 0)
        print(
            f"{row['binary']:<28} {row['init_ms']:>8.2f} {init_ratio:>7.2f} "
            f"{(f'{response:.2f}' if response else '-'):>12} {(f'{response_ratio:.2f}' if response_ratio else '-'):>7}  "
            f"{row['answer']:<16} {row['network_during_init']:>8} {row['size_bytes'] / 1e6:>7.2f}MB"
        )
    print(f"worst ratio to hello-world: {worst:.2f} (target <= 1.2)")
    if any(row["network_during_init"] for row in rows):
        print("FAIL: a function connected to DynamoDB or WeChat during init", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
