//! The follower ledger's consumer: the platform's own follower events, from an SQS queue that an
//! EventBridge rule on the bus fills (`FollowerLedgerQueue` in `template.yaml`), recorded with
//! [`shared::service`]'s `record_follower_event`.
//!
//! A batch answers with the messages to deliver again (`batchItemFailures`, the queue's
//! `ReportBatchItemFailures`): a store failure retries that message alone, and after the queue's
//! `maxReceiveCount` it lands in the dead-letter queue, never lost. A message that is not one of
//! the platform's events is logged and dropped (delivering it again cannot help). An EventBridge
//! event given directly (a rule targeting the function) is handled too; then a store failure
//! fails the invocation, and Lambda's asynchronous retries apply.

use serde_json::{Value, json};
use shared::app::App;
use shared::service::{LedgerError, LedgerOutcome};
use shared::store::TokenStore;

const FUNCTION: &str = "follower-ledger";

/// Handles one invocation: an SQS batch (`Records`) or one EventBridge event.
///
/// # Errors
/// Only for a direct EventBridge event the store could not record (so that Lambda retries it).
pub async fn handle<S: TokenStore>(app: &App<S>, payload: &Value) -> Result<Value, String> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return match record(app, payload).await {
            Err(LedgerError::Store(err)) => Err(format!("follower event not recorded: {err}")),
            _ => Ok(json!({})),
        };
    };
    let mut failures = Vec::new();
    let (mut recorded, mut ignored) = (0u32, 0u32);
    for message in records {
        let id = message.get("messageId").and_then(Value::as_str).unwrap_or_default();
        let body = message.get("body").and_then(Value::as_str).unwrap_or_default();
        let event: Value = match serde_json::from_str(body) {
            Ok(event) => event,
            Err(err) => {
                tracing::error!(function = FUNCTION, message_id = id, error = %err, "queue message is not JSON; dropped");
                continue;
            }
        };
        match record(app, &event).await {
            Ok(LedgerOutcome::Recorded) => recorded += 1,
            Ok(LedgerOutcome::Ignored) | Err(LedgerError::Malformed(_)) => ignored += 1,
            Err(LedgerError::Store(_)) => failures.push(json!({"itemIdentifier": id})),
        }
    }
    tracing::info!(function = FUNCTION, recorded, ignored, retried = failures.len(), "batch done");
    Ok(json!({"batchItemFailures": failures}))
}

async fn record<S: TokenStore>(app: &App<S>, event: &Value) -> Result<LedgerOutcome, LedgerError> {
    let result = app.platform.followers().record_follower_event(event).await;
    match &result {
        Ok(_) => {}
        Err(LedgerError::Malformed(reason)) => {
            tracing::error!(function = FUNCTION, reason = %reason, "not a platform event; dropped");
        }
        Err(LedgerError::Store(err)) => {
            let id = event.pointer("/detail/id").and_then(Value::as_str).unwrap_or_default();
            tracing::warn!(function = FUNCTION, event_id = id, error = %err, "follower event not recorded; delivered again");
        }
    }
    result
}
