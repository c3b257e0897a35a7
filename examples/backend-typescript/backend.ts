// A business backend on the platform, in TypeScript on Node: it answers followers' text messages
// as the account, and identifies a follower from a web-authorization ticket.
//
// It reads `mp.message.text` events from its own SQS queue (subscribed on the platform's
// EventBridge bus: docs/events.md) and answers each through the platform's backend route, signed
// with SigV4 for `execute-api` as API Gateway's AWS_IAM requires (the AWS SDK's signer). The
// event's `detail.id` is the `Idempotency-Key`, so an event delivered twice is answered once. The
// contract is docs/openapi.yaml (`backendSendMessage`, `redeemWebTicket`).

import { Sha256 } from "@aws-crypto/sha256-js";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { fromEnv } from "@aws-sdk/credential-providers";
import { SignatureV4 } from "@smithy/signature-v4";

/** The platform refused a call: the dashboard code (docs/contract.md) and the answer. */
export class Refused extends Error {
  constructor(readonly status: number, readonly body: { code?: number; msg?: string }) {
    super(`${status} ${JSON.stringify(body)}`);
  }
  get code(): number | undefined {
    return this.body.code;
  }
}

export interface TextEvent {
  "detail-type": string;
  detail: { id: string; authorizer_appid: string; openid: string; content: string };
}

export class Backend {
  private readonly api: URL;
  private readonly signer: SignatureV4;
  readonly sqs: SQSClient;

  constructor(api: string, readonly region: string, sqsEndpoint?: string) {
    this.api = new URL(api);
    this.signer = new SignatureV4({ credentials: fromEnv(), region, service: "execute-api", sha256: Sha256 });
    this.sqs = new SQSClient({ region, endpoint: sqsEndpoint, credentials: fromEnv() });
  }

  /** A SigV4-signed call to the platform: the `data` of its answer, or `Refused`. */
  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const url = new URL(path, this.api);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signed = await this.signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      headers: { host: url.host, "content-type": "application/json", ...headers },
      body: payload,
    });
    const response = await fetch(url, { method, headers: signed.headers, body: payload });
    const answer = await response.json();
    if (!response.ok) throw new Refused(response.status, answer);
    return answer.data as T;
  }

  sendText(appid: string, openid: string, content: string, idempotencyKey: string) {
    return this.call<{ sent: boolean; msgtype: string }>(
      "POST",
      `/wechat/backend/authorizers/${appid}/messages`,
      { touser: openid, msgtype: "text", text: { content } },
      { "idempotency-key": idempotencyKey },
    );
  }

  /**
   * A single-use link (5 minutes) to send the site's user's browser to; the follower it comes back
   * as can be bound to `userRef`, the user of the session that asked for it.
   */
  async startLink(appid: string, returnTo: string, userRef?: string, scope = "snsapi_base"): Promise<string> {
    const body = userRef ? { scope, return_to: returnTo, user_ref: userRef } : { scope, return_to: returnTo };
    const { start_url } = await this.call<{ start_url: string }>("POST", `/wechat/backend/authorizers/${appid}/web-starts`, body);
    return start_url;
  }

  /**
   * Who the follower behind a `wx_ticket` of `appid` is (once, within 2 minutes), bound to
   * `userRef`: the session's user, which must be the one the start link was minted for.
   */
  redeem(appid: string, ticket: string, userRef?: string) {
    return this.call<{ openid: string; authorizer_appid: string; binding?: { user_ref: string } | null }>(
      "POST",
      `/wechat/backend/authorizers/${appid}/web-tickets`,
      userRef ? { ticket, user_ref: userRef } : { ticket },
    );
  }

  /**
   * Answers the text messages on the queue; the ids of the events answered. A message is deleted
   * once answered or refused for good; one the platform could not handle now (5xx) comes back
   * after the visibility timeout. A 504 (1011: no answer after the message left) is not retried:
   * it may have been sent.
   */
  async answerTexts(queueUrl: string, reply: (text: string) => string): Promise<string[]> {
    const answered: string[] = [];
    const { Messages = [] } = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    for (const message of Messages) {
      const event = JSON.parse(message.Body ?? "{}") as TextEvent;
      let done = true;
      if (event["detail-type"] === "mp.message.text") {
        const { id, authorizer_appid, openid, content } = event.detail;
        try {
          await this.sendText(authorizer_appid, openid, reply(content), id);
          answered.push(id);
        } catch (err) {
          if (!(err instanceof Refused)) throw err;
          done = err.status < 500 || err.code === 1011;
          console.warn(`not answered (${done ? "dropped" : "retried"}): ${err.message}`);
        }
      }
      if (done) await this.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    return answered;
  }
}
