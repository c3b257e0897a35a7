// Runs the TypeScript example backend against the local platform (`scripts/run-local.sh --then`;
// scripts/e2e.sh does): an account of its own is authorized, the backend subscribes a queue to
// that account's text messages on the platform's bus, a follower writes, and the backend's answer
// reaches WeChat (the stand-in) once, even when the event is delivered twice; then a follower's
// web-authorization ticket is redeemed and bound to the site's user. The steps that play WeChat and
// the admin are the Python ones every end-to-end check shares (tests/integration/local_platform.py).

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { strict as assert } from "node:assert";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { fromEnv } from "@aws-sdk/credential-providers";
import { Backend, Refused } from "./backend.ts";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run me through scripts/run-local.sh --then`);
  return value;
};
const endpoint = env("AWS_ENDPOINT_URL_DYNAMODB"); // the local AWS emulator: EventBridge and SQS too
const region = process.env.AWS_REGION ?? "us-east-1";
const python = process.env.WECHAT_VENV ? `${process.env.WECHAT_VENV}/bin/python` : "../../.venv/bin/python";
const platform = (...args: string[]) =>
  execFileSync(python, ["../../tests/integration/local_platform.py", ...args], { encoding: "utf-8" }).trim();
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

async function standin(path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${env("STANDIN_URL")}${path}`, body === undefined ? {} : {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

/** A queue with a rule on the platform's bus for `appid`'s text messages (docs/events.md). */
async function subscribe(backend: Backend, appid: string): Promise<string> {
  const name = `example-ts-${hex(4)}`;
  const { QueueUrl } = await backend.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await backend.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  const events = new EventBridgeClient({ region, endpoint, credentials: fromEnv() });
  const bus = env("EVENT_BUS_NAME");
  const pattern = { source: ["wechat.platform"], "detail-type": ["mp.message.text"], detail: { authorizer_appid: [appid] } };
  await events.send(new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(pattern) }));
  await events.send(new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: "queue", Arn: Attributes!.QueueArn }] }));
  return QueueUrl!;
}

const started = performance.now();
const owner = `example-ts-${hex(4)}`;
const appid = platform("account", owner);
const backend = new Backend(env("GATEWAY_URL"), region, endpoint);
const queue = await subscribe(backend, appid);

// A follower writes; the backend answers as the account, once.
const follower = `o_ts_${hex(4)}`;
await standin("/standin/push/text", { appid, openid: follower, content: "有优惠吗？" });
let answered: string[] = [];
const deadline = Date.now() + 30_000;
while (answered.length === 0) {
  assert.ok(Date.now() < deadline, "the backend never saw the follower's message");
  answered = await backend.answerTexts(queue, (text) => `收到：${text}`);
}
const sentTo = async () => ((await standin("/standin/sent")) as { touser: string; content: string }[]).filter((m) => m.touser === follower);
assert.deepEqual((await sentTo()).map((m) => m.content), ["收到：有优惠吗？"]);

// The same event delivered again: its id is the Idempotency-Key, WeChat gets nothing more.
assert.deepEqual(await backend.sendText(appid, follower, "收到：有优惠吗？", answered[0]), { sent: true, msgtype: "text" });
assert.equal((await sentTo()).length, 1);

// Web authorization: the account's owner lets the shop be returned to; the shop's server mints a
// start for its user, the browser goes through WeChat, and the server redeems the ticket.
const shopOrigin = `http://127.0.0.1:${process.env.SHOP_PORT ?? "9200"}`;
platform("web-origins", appid, owner, shopOrigin);
const userRef = `shop-user-${hex(3)}`;
const link = await backend.startLink(appid, `${shopOrigin}/bind`, userRef);
const ticket = platform("web-ticket", link, "bob");
const who = await backend.redeem(appid, ticket, userRef);
assert.equal(who.openid, `o${appid.slice(-4)}_bob`);
assert.equal(who.binding?.user_ref, userRef);
await assert.rejects(backend.redeem(appid, ticket), (err: unknown) => err instanceof Refused && err.code === 1016);
console.log(`TypeScript example backend passed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
