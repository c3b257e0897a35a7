"""The cost of the two ways a function could receive its AppSecret (docs/deploy.md, "Secrets"): from its
environment (encrypted under the platform's KMS key; Lambda decrypts it before the process
starts), or from Secrets Manager at init (bench/secrets-manager-option.patch: qr-url-issuer with
aws-sdk-secretsmanager, one GetSecretValue before the first `next`).

Both binaries are started against scripts/cold_start.py's local Runtime API, round-robin with the
hello-world baseline; Secrets Manager is moto on loopback over plain HTTP, so its figure is a lower
bound (in AWS the call adds a TLS handshake and a network round trip on top).

Usage: python scripts/secrets_option.py ENV_BINARY SM_BINARY MOTO_URL [--runs 40]
(scripts/bench.sh secrets builds both and starts moto.)
"""

import argparse
import os
import statistics
import sys

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cold_start  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("env_binary")
    parser.add_argument("sm_binary")
    parser.add_argument("moto_url")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    store, wechat = cold_start.Tripwire(), cold_start.Tripwire()
    env = cold_start.environment(0, store, wechat)
    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=args.moto_url,
        aws_access_key_id="cold",
        aws_secret_access_key="cold",
    )
    arn = client.create_secret(Name="wechat/component-appsecret", SecretString=env["COMPONENT_APPSECRET"])["ARN"]
    from_secrets_manager = {k: v for k, v in env.items() if k != "COMPONENT_APPSECRET"}
    from_secrets_manager.update(COMPONENT_SECRET_ID=arn, AWS_ENDPOINT_URL_SECRETS_MANAGER=args.moto_url)

    functions = {f["name"]: f for f in cold_start.manifest()["functions"]}
    event_file = os.path.join(cold_start.ROOT, "events", "qr-url-issuer", functions["qr-url-issuer"]["cold_start_event"])
    event = open(event_file, "rb").read()
    hello_event = open(os.path.join(cold_start.ROOT, "events", "qr-url-issuer", "get.json"), "rb").read()
    hello = os.path.join(cold_start.ROOT, "target", "release", "hello-lambda-current-thread")
    cases = [
        ("hello-lambda-current-thread", hello, hello_event, env),
        ("AppSecret in the environment", args.env_binary, event, env),
        ("AppSecret from Secrets Manager", args.sm_binary, event, from_secrets_manager),
    ]
    results = {name: ([], [], set()) for name, *_ in cases}
    for _name, binary, body, variables in cases:
        cold_start.measure(binary, body, variables, store, wechat)  # warm the page cache
    for _ in range(args.runs):
        for name, binary, body, variables in cases:
            init_ms, response_ms, status, _ = cold_start.measure(binary, body, variables, store, wechat)
            results[name][0].append(init_ms)
            results[name][1].append(response_ms)
            results[name][2].add(status)
    print(f"qr-url-issuer's AppSecret, median of {args.runs} round-robin cold starts (Secrets Manager = moto on loopback):")
    print(f"{'how':<32} {'init ms':>8} {'1st resp ms':>12} {'answer':<14} {'size':>12}")
    for name, binary, *_ in cases:
        inits, responses, statuses = results[name]
        size = os.path.getsize(binary)
        print(
            f"{name:<32} {statistics.median(inits):>8.2f} {statistics.median(responses):>12.2f} "
            f"{', '.join(sorted(statuses)):<14} {size:>12,}"
        )
    (env_name, env_binary, *_), (sm_name, sm_binary, *_) = cases[1], cases[2]
    added_ms = statistics.median(results[sm_name][0]) - statistics.median(results[env_name][0])
    added_kib = (os.path.getsize(sm_binary) - os.path.getsize(env_binary)) / 1024
    print(f"Secrets Manager adds {added_ms:.2f} ms of init and {added_kib:.0f} KiB")
    # The Secrets Manager build cannot finish init without the secret (no AppSecret, no App), so
    # the same answer from both builds is the proof that it read the secret.
    answers = results[env_name][2] | results[sm_name][2]
    if len(answers) != 1:
        print(f"FAIL: the two builds answered differently: {answers}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
