//! A business subscribing to the platform's bus on the local AWS emulator (moto): a bus, an SQS
//! queue, and a rule from one to the other, as the template's example subscriber. Shared by the
//! integration tests and the end-to-end tests (`#[path]`-included there).
//!
//! The queue is read over SQS's JSON protocol with plain HTTP: the emulator routes a request by
//! the service named in its `Authorization` header and does not check the signature, so no SQS
//! client (and no minute of compiling one) is needed to read a few messages.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use shared::bus::{EventBridgeBus, SOURCE};

/// The emulator's endpoint (the same server answers DynamoDB, EventBridge and SQS).
pub(crate) fn emulator() -> String {
    std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_DYNAMODB"))
        .expect("no AWS endpoint set: run the tests with `bash scripts/test.sh`")
}

/// A queue on the emulator, read as a subscriber would.
pub(crate) struct Queue {
    http: reqwest::Client,
    endpoint: String,
    /// The queue URL.
    pub(crate) url: String,
}

impl Queue {
    async fn call(http: &reqwest::Client, endpoint: &str, action: &str, body: Value) -> Value {
        let response = http
            .post(endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00",
            )
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("SQS {action}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "SQS {action}: {status} {text}");
        if text.is_empty() { json!({}) } else { serde_json::from_str(&text).expect("SQS JSON") }
    }

    /// Creates the queue `name` on `endpoint`.
    pub(crate) async fn create(endpoint: &str, name: &str) -> Self {
        let http = shared::outbound::client_builder().build().expect("http client");
        let url = Self::call(&http, endpoint, "CreateQueue", json!({"QueueName": name})).await["QueueUrl"]
            .as_str()
            .expect("QueueUrl")
            .to_owned();
        Self { http, endpoint: endpoint.to_owned(), url }
    }

    /// The queue `url` (made by someone else: the local run).
    pub(crate) fn at(endpoint: &str, url: &str) -> Self {
        Self {
            http: shared::outbound::client_builder().build().expect("http client"),
            endpoint: endpoint.to_owned(),
            url: url.to_owned(),
        }
    }

    /// The queue's ARN.
    pub(crate) async fn arn(&self) -> String {
        let out = Self::call(
            &self.http,
            &self.endpoint,
            "GetQueueAttributes",
            json!({"QueueUrl": self.url, "AttributeNames": ["QueueArn"]}),
        )
        .await;
        out["Attributes"]["QueueArn"].as_str().expect("QueueArn").to_owned()
    }

    /// Every message waiting now (each an EventBridge event, parsed), deleted from the queue.
    pub(crate) async fn drain(&self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let out = Self::call(
                &self.http,
                &self.endpoint,
                "ReceiveMessage",
                json!({"QueueUrl": self.url, "MaxNumberOfMessages": 10}),
            )
            .await;
            let messages = out["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                let body = message["Body"].as_str().expect("Body");
                events.push(serde_json::from_str(body).expect("the message is an EventBridge event"));
                Self::call(
                    &self.http,
                    &self.endpoint,
                    "DeleteMessage",
                    json!({"QueueUrl": self.url, "ReceiptHandle": message["ReceiptHandle"]}),
                )
                .await;
            }
        }
    }

    /// Waits until at least `count` events arrived (delivery is synchronous on the emulator, but
    /// a publish may still be in flight), then returns all that arrived.
    pub(crate) async fn expect(&self, count: usize) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..100 {
            events.extend(self.drain().await);
            if events.len() >= count {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} events on the queue, got {}: {events:#?}", events.len());
    }
}

/// A fresh bus, with a queue subscribed to everything the platform publishes on it.
pub(crate) struct Subscriber {
    /// The platform's side: the bus to publish to.
    pub(crate) bus: EventBridgeBus,
    /// The business's side.
    pub(crate) queue: Queue,
}

/// A bus, a queue and a rule between them, all new, on the emulator.
pub(crate) async fn fresh_subscriber() -> Subscriber {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!("it-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let bus = EventBridgeBus::from_env_with_timeouts(&name, Duration::from_secs(5), Duration::from_secs(10));
    subscribe(bus, &name, &json!({"source": [SOURCE]})).await
}

/// Creates `bus` and a queue named `name` subscribed to it with `pattern`.
pub(crate) async fn subscribe(bus: EventBridgeBus, name: &str, pattern: &Value) -> Subscriber {
    let client = bus.client();
    client.create_event_bus().name(bus.bus_name()).send().await.expect("create bus");
    let queue = Queue::create(&emulator(), name).await;
    add_rule(&bus, name, pattern, &queue).await;
    Subscriber { bus, queue }
}

/// A rule on `bus` sending what matches `pattern` to `queue`.
pub(crate) async fn add_rule(bus: &EventBridgeBus, name: &str, pattern: &Value, queue: &Queue) {
    let client = bus.client();
    client
        .put_rule()
        .name(name)
        .event_bus_name(bus.bus_name())
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("put rule");
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(queue.arn().await).build().unwrap();
    client.put_targets().rule(name).event_bus_name(bus.bus_name()).targets(target).send().await.expect("put targets");
}
