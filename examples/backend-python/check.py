"""Runs the Python example backend against the local platform (`scripts/run-local.sh --then`;
scripts/e2e.sh does): an account of its own is authorized, the backend subscribes a queue to that
account's text messages on the platform's bus, a follower writes, and the backend's answer reaches
WeChat (the stand-in) once, even when the event is delivered twice; then a follower's web
authorization ticket is redeemed and bound to the site's user.
"""

import json
import os
import secrets
import sys
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import local_platform  # noqa: E402
from backend import Backend  # noqa: E402

ENDPOINT = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]  # the local AWS emulator: EventBridge and SQS too
REGION = os.environ.get("AWS_REGION", "us-east-1")


def subscribe(appid: str) -> str:
    """A queue with a rule on the platform's bus for `appid`'s text messages (docs/events.md)."""
    session = boto3.Session(region_name=REGION)
    events = session.client("events", endpoint_url=ENDPOINT)
    sqs = session.client("sqs", endpoint_url=ENDPOINT)
    name = f"example-python-{secrets.token_hex(4)}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["wechat.platform"], "detail-type": ["mp.message.text"], "detail": {"authorizer_appid": [appid]}}
    bus = os.environ["EVENT_BUS_NAME"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def sent_to(openid: str) -> list[dict]:
    status, _, body = local_platform.fetch(f"{os.environ['STANDIN_URL']}/standin/sent")
    assert status == 200, body
    return [m for m in json.loads(body) if m["touser"] == openid]


def main() -> int:
    started = time.monotonic()
    appid = local_platform.new_account("示例 Python 后端")
    owner = f"example-{secrets.token_hex(4)}"
    local_platform.authorize(appid, user=owner)
    queue = subscribe(appid)
    backend = Backend(os.environ["GATEWAY_URL"], REGION, sqs_endpoint=ENDPOINT)

    # A follower writes; the backend answers as the account, once.
    follower = f"o_python_{secrets.token_hex(4)}"
    local_platform.standin("/standin/push/text", {"appid": appid, "openid": follower, "content": "请问几点发货？"})
    answered, deadline = [], time.monotonic() + 30
    while not answered:
        assert time.monotonic() < deadline, "the backend never saw the follower's message"
        answered = backend.answer_texts(queue, reply=lambda text: f"收到：{text}", max_batches=1)
    sent = sent_to(follower)
    assert [m["content"] for m in sent] == ["收到：请问几点发货？"], sent

    # The same event delivered again (SQS is at least once): its id is the Idempotency-Key, so the
    # platform answers as the first time and WeChat gets nothing more.
    again = backend.send_text(appid, follower, "收到：请问几点发货？", idempotency_key=answered[0])
    assert again == {"sent": True, "msgtype": "text"}, again
    assert len(sent_to(follower)) == 1, sent_to(follower)

    # Web authorization: the account's owner lets the shop be returned to; the shop's server mints
    # a start for its user, the browser goes through WeChat, and the server redeems the ticket.
    shop_origin = f"http://127.0.0.1:{os.environ.get('SHOP_PORT', '9200')}"
    local_platform.web_origins(appid, owner, shop_origin)
    user_ref = f"shop-user-{secrets.token_hex(3)}"
    link = backend.start_link(appid, f"{shop_origin}/bind", user_ref=user_ref)
    ticket = local_platform.web_ticket(link, "alice")
    who = backend.redeem(appid, ticket, user_ref=user_ref)
    assert (who["openid"], who["authorizer_appid"]) == (f"o{appid[-4:]}_alice", appid), who
    assert who["binding"]["user_ref"] == user_ref, who
    try:
        backend.redeem(appid, ticket)
        raise AssertionError("a ticket is redeemed once")
    except Exception as err:  # noqa: BLE001 (the example's Refused)
        assert getattr(err, "code", None) == 1016, err
    print(f"Python example backend passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
