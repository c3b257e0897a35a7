"""The hand-off bus of the local run, on the local AWS emulator (moto), and a way to watch it.

    python scripts/local_bus.py setup ENDPOINT BUS QUEUE   create the bus, the queue with its
                                                           dead-letter queue, and the rule between
                                                           them (as template.yaml's example
                                                           subscriber); print the queue URL
    python scripts/local_bus.py ledger ENDPOINT BUS QUEUE  create the follower ledger's queue (with its
                                                           dead-letter queue) and its rule, the
                                                           pattern read from template.yaml; print
                                                           the queue URL
    python scripts/local_bus.py tail ENDPOINT QUEUE_URL    print each event arriving on the queue,
                                                           one line each, until Ctrl-C
    python scripts/local_bus.py pump ENDPOINT QUEUE_URL INVOKE_URL
                                                           what Lambda's SQS event source does:
                                                           receive batches of up to 10, invoke the
                                                           function with them, delete what it did
                                                           not report as failed (those come back
                                                           after the visibility timeout), until
                                                           Ctrl-C

Credentials and region are the emulator's (it checks neither).
"""

import json
import os
import sys
import time
import urllib.request

import boto3
import yaml

SOURCE = "wechat.platform"


def clients(endpoint):
    options = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.client("events", **options), boto3.client("sqs", **options)


def setup(endpoint, bus, queue):
    events, sqs = clients(endpoint)
    events.create_event_bus(Name=bus)
    url, arn = queue_with_dead_letters(sqs, queue)
    events.put_rule(Name=f"{queue}-all", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule=f"{queue}-all", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    print(url)


def queue_with_dead_letters(sqs, queue):
    dlq_url = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=queue,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})},
    )["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


class _Template(yaml.SafeLoader):
    """template.yaml with its CloudFormation tags (!Ref, !GetAtt, …) read as plain values."""


_Template.add_multi_constructor("!", lambda loader, suffix, node: None)


def ledger(endpoint, bus, queue):
    events, sqs = clients(endpoint)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with open(os.path.join(root, "template.yaml"), encoding="utf-8") as f:
        template = yaml.load(f, Loader=_Template)
    pattern = template["Resources"]["FollowerLedgerRule"]["Properties"]["EventPattern"]
    url, arn = queue_with_dead_letters(sqs, queue)
    events.put_rule(Name=f"{queue}-rule", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"{queue}-rule", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    print(url)


def pump(endpoint, url, invoke_url):
    _, sqs = clients(endpoint)
    print(f"delivering {url} to {invoke_url}", file=sys.stderr, flush=True)
    while True:
        # No long polling: the local emulator serves one request at a time (dynamodb_server.py),
        # and a waiting receive would hold up every DynamoDB call behind it.
        try:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=10).get("Messages", [])
        except Exception as err:  # the emulator busy or restarting: Lambda's poller keeps polling too
            print(f"receive failed ({err}); polling again", flush=True)
            time.sleep(0.2)
            continue
        if not messages:
            time.sleep(0.2)
            continue
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "eventSource": "aws:sqs"} for m in messages]
        request = urllib.request.Request(invoke_url, data=json.dumps({"Records": records}).encode(),
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.load(response)
        except Exception as err:  # the function failed: the whole batch comes back
            print(f"invocation failed ({err}); {len(records)} messages will be delivered again", flush=True)
            continue
        failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                try:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                except Exception as err:  # delivered again after the visibility timeout: at least once
                    print(f"delete failed ({err}); the message will be delivered again", flush=True)
        print(f"delivered {len(messages)}, {len(failed)} to be delivered again", flush=True)


def tail(endpoint, url):
    _, sqs = clients(endpoint)
    print(f"waiting for events on {url} (Ctrl-C stops)", file=sys.stderr)
    while True:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            event = json.loads(message["Body"])
            detail = event["detail"]
            what = detail.get("content") or detail.get("event_key") or detail.get("change") or ""
            print(f'{event["time"]} {event["detail-type"]:<34} {detail.get("authorizer_appid", "")} '
                  f'{detail.get("openid", "")} {what} id={detail.get("id", "")}', flush=True)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.2)


if __name__ == "__main__":
    try:
        if sys.argv[1:2] == ["setup"] and len(sys.argv) == 5:
            setup(*sys.argv[2:])
        elif sys.argv[1:2] == ["tail"] and len(sys.argv) == 4:
            tail(*sys.argv[2:])
        elif sys.argv[1:2] == ["ledger"] and len(sys.argv) == 5:
            ledger(*sys.argv[2:])
        elif sys.argv[1:2] == ["pump"] and len(sys.argv) == 5:
            pump(*sys.argv[2:])
        else:
            sys.exit(__doc__)
    except KeyboardInterrupt:
        pass
