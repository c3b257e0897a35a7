"""A business backend on the platform, in Python: it answers followers' text messages as the
account, and identifies a follower from a web-authorization ticket.

It reads `mp.message.text` events from its own SQS queue (subscribed on the platform's EventBridge
bus: docs/events.md) and answers each through the platform's backend route, signed with SigV4 as
API Gateway's `AWS_IAM` requires (botocore signs, for the `execute-api` service). The event's
`detail.id` is the `Idempotency-Key`, so an event delivered twice is answered once. The contract is
docs/openapi.yaml (`backendSendMessage`, `backendMintWebStart`, `redeemWebTicket`).

    from backend import Backend
    backend = Backend(api="https://api.example.com", region="ap-east-1")
    backend.answer_texts(queue_url, reply=lambda text: f"收到：{text}")
    link = backend.start_link(appid, "https://shop.example.com/bind", user_ref="shop-user-42")
    # ... the shop redirects its user's browser to `link`; WeChat sends it back with a wx_ticket:
    who = backend.redeem(appid, ticket, user_ref="shop-user-42")
"""

import json
import logging
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

log = logging.getLogger("backend")


class Refused(Exception):
    """The platform refused the call: `code` (docs/contract.md, "Dashboard JSON") and `msg`."""

    def __init__(self, status: int, body: dict):
        super().__init__(f"{status} {body}")
        self.status, self.code, self.body = status, body.get("code"), body


class Backend:
    def __init__(self, api: str, region: str, session: boto3.Session | None = None, sqs_endpoint: str | None = None):
        self.api = api.rstrip("/")
        self.region = region
        self.session = session or boto3.Session(region_name=region)
        self.sqs = self.session.client("sqs", region_name=region, endpoint_url=sqs_endpoint)

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
        """A SigV4-signed call to the platform; the `data` of its answer, or `Refused`."""
        data = json.dumps(body).encode() if body is not None else None
        request = AWSRequest(method=method, url=f"{self.api}{path}", data=data,
                             headers={"content-type": "application/json", **(headers or {})})
        SigV4Auth(self.session.get_credentials(), "execute-api", self.region).add_auth(request)
        prepared = urllib.request.Request(request.url, data=data, method=method, headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(prepared, timeout=30) as response:
                return json.load(response)["data"]
        except urllib.error.HTTPError as err:
            raise Refused(err.code, json.load(err)) from None

    def send_text(self, appid: str, openid: str, content: str, idempotency_key: str) -> dict:
        return self.call("POST", f"/wechat/backend/authorizers/{appid}/messages",
                         {"touser": openid, "msgtype": "text", "text": {"content": content}},
                         {"idempotency-key": idempotency_key})

    def start_link(self, appid: str, return_to: str, user_ref: str | None = None, scope: str = "snsapi_base") -> str:
        """A single-use link (5 minutes) to send the site's user's browser to; the follower it comes
        back as can be bound to `user_ref`, the user of the session that asked for it."""
        body = {"scope": scope, "return_to": return_to, **({"user_ref": user_ref} if user_ref else {})}
        return self.call("POST", f"/wechat/backend/authorizers/{appid}/web-starts", body)["start_url"]

    def redeem(self, appid: str, ticket: str, user_ref: str | None = None) -> dict:
        """Who the follower behind a `wx_ticket` of `appid` is (once, within 2 minutes), bound to
        `user_ref`: the session's user, which must be the one the start link was minted for."""
        body = {"ticket": ticket, **({"user_ref": user_ref} if user_ref else {})}
        return self.call("POST", f"/wechat/backend/authorizers/{appid}/web-tickets", body)

    def answer_texts(self, queue_url: str, reply, max_batches: int | None = None) -> list[str]:
        """Answers the text messages on `queue_url`; returns the ids of the events answered. A message is
        deleted once answered or refused for good (not a follower, outside the 48-hour window);
        one the platform could not handle now (5xx) comes back after the visibility timeout. A 504
        (`1011`: no answer after the message left) is not retried: it may have been sent."""
        answered, batches = [], 0
        while max_batches is None or batches < max_batches:
            batches += 1
            for message in self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                event = json.loads(message["Body"])
                detail = event["detail"]
                done = True
                if event.get("detail-type") == "mp.message.text":
                    try:
                        self.send_text(detail["authorizer_appid"], detail["openid"], reply(detail["content"]), detail["id"])
                        answered.append(detail["id"])
                    except Refused as err:
                        done = err.status < 500 or err.code == 1011
                        log.warning("not answered (%s): %s", "dropped" if done else "retried", err)
                if done:
                    self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return answered
