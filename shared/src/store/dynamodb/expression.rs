//! Update and condition expressions, attribute values, and what a failed request means.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;

/// Builds update and condition expressions with every attribute name behind a `#` placeholder
/// (several of ours, like `status`, `owner` and `ttl`, are DynamoDB reserved words).
pub(super) struct Update {
    pub(super) expression: String,
    pub(super) condition: String,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

impl Update {
    pub(super) fn new(expression: &str, condition: &str) -> Self {
        let mut names = HashMap::new();
        for text in [expression, condition] {
            for name in placeholders(text) {
                names.insert(format!("#{name}"), name.to_owned());
            }
        }
        Self { expression: expression.to_owned(), condition: condition.to_owned(), names, values: HashMap::new() }
    }

    /// A condition alone (for `PutItem` and `DeleteItem`).
    pub(super) fn condition(condition: &str) -> Self {
        Self::new("", condition)
    }

    /// Adds values bound elsewhere (a condition built on its own).
    pub(super) fn values(mut self, values: HashMap<String, AttributeValue>) -> Self {
        self.values.extend(values);
        self
    }

    pub(super) fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_owned(), value);
        self
    }
}

/// The `#name` placeholders of an expression.
fn placeholders(expression: &str) -> impl Iterator<Item = &str> {
    expression
        .split('#')
        .skip(1)
        .map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or(""))
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Maps SDK errors to [`StoreError`], keeping the SDK's message (which never contains item values).
pub(super) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
            Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
                StoreError::Throttled
            }
            Some("ResourceNotFoundException") => StoreError::Unavailable("table not found".into()),
            Some("InternalServerError" | "ServiceUnavailable") => {
                StoreError::Unavailable(DisplayErrorContext(&err).to_string())
            }
            _ => StoreError::Other(DisplayErrorContext(&err).to_string()),
        },
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(DisplayErrorContext(&err).to_string())
        }
        _ => StoreError::Other(DisplayErrorContext(&err).to_string()),
    }
}

/// For a failed condition of an `UpdateItem`: `Some(old item or None)`; `None` for other errors.
pub(super) fn condition_failure_item(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, impl std::fmt::Debug>,
) -> Option<Option<super::Item>> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    match err {
        SdkError::ServiceError(service) => match service.err() {
            UpdateItemError::ConditionalCheckFailedException(e) => Some(e.item.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_collected_from_expressions() {
        let update = Update::new("SET #a = :x, #b_c = if_not_exists(#a, :y) REMOVE #d", "#e <= :z");
        let mut names: Vec<_> = update.names.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["#a", "#b_c", "#d", "#e"]);
    }
}
