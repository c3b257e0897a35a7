"""The hand-off bus of the local run, on the local AWS emulator (moto), and a way to watch it.

    python scripts/local_bus.py setup ENDPOINT BUS QUEUE   create the bus, the queue with its
                                                           dead-letter queue, and the rule between
                                                           them (as template.yaml's example
                                                           subscriber); print the queue URL
    python scripts/local_bus.py tail ENDPOINT QUEUE_URL    print each event arriving on the queue,
                                                           one line each, until Ctrl-C

Credentials and region are the emulator's (it checks neither).
"""

import json
import sys
import time

import boto3

SOURCE = "wechat.platform"


def clients(endpoint):
    options = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.client("events", **options), boto3.client("sqs", **options)


def setup(endpoint, bus, queue):
    events, sqs = clients(endpoint)
    events.create_event_bus(Name=bus)
    dlq_url = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=queue,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{queue}-all", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule=f"{queue}-all", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    print(url)


def tail(endpoint, url):
    _, sqs = clients(endpoint)
    print(f"waiting for events on {url} (Ctrl-C stops)", file=sys.stderr)
    while True:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
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
        else:
            sys.exit(__doc__)
    except KeyboardInterrupt:
        pass
