//! [`EventBridgeBus`]: one `PutEvents` per hand-off, through the same HTTP client as the store.
//!
//! Timeouts: 800 ms to connect, 1 s per attempt, 2 s in all (two attempts with the SDK's
//! standard retry, which retries throttling and 5xx), so a slow bus costs a push at most 2 s of
//! WeChat's 5 (`docs/events.md`, "Delivery").

use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures_util::future::BoxFuture;

use super::{Bus, Event, PublishError, SOURCE};
use crate::outbound::SdkHttpClient;

/// The bus on EventBridge (a custom bus, by name or ARN).
#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    /// A bus over an existing client.
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self { client, bus_name: bus_name.into() }
    }

    /// The bus `bus_name`, configured from the AWS environment Lambda provides
    /// ([`crate::aws::AwsEnvironment`]) with this module's timeouts. Makes no network call.
    pub fn from_env(bus_name: impl Into<String>) -> Self {
        Self::from_env_with_timeouts(bus_name, Duration::from_millis(1000), Duration::from_millis(2000))
    }

    /// [`EventBridgeBus::from_env`] with other per-attempt and total timeouts.
    pub fn from_env_with_timeouts(bus_name: impl Into<String>, attempt: Duration, total: Duration) -> Self {
        let config = crate::aws::eventbridge_config()
            .http_client(SdkHttpClient::shared())
            .retry_config(crate::aws::retries(2))
            .timeout_config(crate::aws::timeouts(attempt, total))
            .build();
        Self::new(Client::from_conf(config), bus_name)
    }

    /// The SDK client (tests administer the local emulator's bus with it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bus name.
    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    async fn put(&self, events: &[Event]) -> Result<(), PublishError> {
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(SOURCE)
                    .detail_type(event.detail_type)
                    .detail(&event.detail)
                    .build()
            })
            .collect();
        let out = self.client.put_events().set_entries(Some(entries)).send().await.map_err(|err| {
            PublishError::Unavailable(aws_sdk_eventbridge::error::DisplayErrorContext(err).to_string())
        })?;
        // A partial failure is an answer of 200 with entries carrying an ErrorCode
        // (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html>).
        let failed = usize::try_from(out.failed_entry_count).unwrap_or(usize::MAX);
        let entries = out.entries.unwrap_or_default();
        let refused = entries.iter().filter(|e| e.error_code.is_some()).count();
        if failed > 0 || refused > 0 || entries.len() != events.len() {
            let code = entries.iter().find_map(|e| e.error_code.clone()).unwrap_or_else(|| "unknown".to_owned());
            return Err(PublishError::Refused { failed: failed.max(refused).max(1), total: events.len(), code });
        }
        Ok(())
    }
}

impl Bus for EventBridgeBus {
    fn publish<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(self.put(events))
    }
}
