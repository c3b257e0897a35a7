//! The AWS settings a function reads from the environment Lambda provides, and the SDK
//! configurations (DynamoDB for the store, EventBridge for the hand-off bus) built from them
//! without `aws-config`'s default chains.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

/// The AWS services this platform calls, each with its own endpoint override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The store.
    DynamoDb,
    /// The hand-off bus.
    EventBridge,
    /// The optional edge's IP set (AWS WAF), kept by the token-refresher.
    Wafv2,
    /// The media staging bucket.
    S3,
}

impl Service {
    /// The SDK's service-specific endpoint variable (`AWS_ENDPOINT_URL_<SERVICE ID>`).
    pub fn endpoint_variable(self) -> &'static str {
        match self {
            Self::DynamoDb => "AWS_ENDPOINT_URL_DYNAMODB",
            Self::EventBridge => "AWS_ENDPOINT_URL_EVENTBRIDGE",
            Self::Wafv2 => "AWS_ENDPOINT_URL_WAFV2",
            Self::S3 => "AWS_ENDPOINT_URL_S3",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::DynamoDb => "DynamoDB",
            Self::EventBridge => "EventBridge",
            Self::Wafv2 => "WAFV2",
            Self::S3 => "S3",
        }
    }
}

/// The standard retry mode with `max_attempts` and a short first backoff: what both clients use,
/// sized by their callers to stay inside WeChat's 5-second push deadline.
pub fn retries(max_attempts: u32) -> aws_smithy_types::retry::RetryConfig {
    aws_smithy_types::retry::RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(std::time::Duration::from_millis(25))
}

/// 800 ms to connect, then `attempt` per attempt and `total` in all.
pub fn timeouts(attempt: std::time::Duration, total: std::time::Duration) -> aws_smithy_types::timeout::TimeoutConfig {
    aws_smithy_types::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(800))
        .operation_attempt_timeout(attempt)
        .operation_timeout(total)
        .build()
}

/// Reads the environment for `service`, warning once per client about what will make its calls fail.
pub fn read_env(service: Service) -> AwsEnvironment {
    let env = AwsEnvironment::read(service, |name| std::env::var(name).ok());
    let name = service.name();
    if env.region.is_none() {
        tracing::warn!(service = name, "neither AWS_REGION nor AWS_DEFAULT_REGION is set: calls will fail");
    }
    if !env.has_credentials {
        tracing::warn!(
            service = name,
            "AWS_ACCESS_KEY_ID is not set: calls will fail (credentials come from the environment)"
        );
    }
    env
}

/// The DynamoDB SDK configuration from the environment variables Lambda sets (see
/// [`AwsEnvironment`]), with credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN`.
///
/// Why not `aws_config::from_env()`: its default chains (profile files, SSO, web identity, ECS,
/// IMDS) are never used inside Lambda, which always puts credentials in the environment, yet they
/// linked about 0.5 MB into every binary (an STS client, the profile parser) and took 0.3 ms of
/// each cold start. Outside Lambda, export credentials into the environment first
/// (`eval "$(aws configure export-credentials --format env)"`).
pub fn dynamodb_config() -> aws_sdk_dynamodb::config::Builder {
    let env = read_env(Service::DynamoDb);
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(env.region.map(Region::new))
        .credentials_provider(EnvironmentVariableCredentialsProvider::new());
    if let Some(endpoint) = env.endpoint_url {
        builder = builder.endpoint_url(endpoint);
    }
    builder
}

/// [`dynamodb_config`] for EventBridge (the same rules, `AWS_ENDPOINT_URL_EVENTBRIDGE`).
pub fn eventbridge_config() -> aws_sdk_eventbridge::config::Builder {
    let env = read_env(Service::EventBridge);
    let mut builder = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(env.region.map(aws_sdk_eventbridge::config::Region::new))
        .credentials_provider(EnvironmentVariableCredentialsProvider::new());
    if let Some(endpoint) = env.endpoint_url {
        builder = builder.endpoint_url(endpoint);
    }
    builder
}

/// An SDK error in words, with its causes (the service's code and message when it answered).
pub fn sdk_error_text<E: std::error::Error>(err: &E) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(err).to_string()
}

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, as
/// Lambda provides them (see [`dynamodb_config`] for why no other source).
pub fn environment_credentials() -> EnvironmentVariableCredentialsProvider {
    EnvironmentVariableCredentialsProvider::new()
}

/// The AWS settings this platform reads from the environment, with the SDK's rules for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// The service's own endpoint variable ([`Service::endpoint_variable`]), else
    /// `AWS_ENDPOINT_URL`; neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`. Local runs
    /// and tests point them at the local AWS emulator.
    pub endpoint_url: Option<String>,
    /// Whether `AWS_ACCESS_KEY_ID` is set (its value is never kept: it is half a secret).
    pub has_credentials: bool,
}

impl AwsEnvironment {
    /// Reads the settings for `service` through `var` (the process environment in production; a
    /// table in tests). Empty values count as unset (an empty region or endpoint could only fail
    /// later, and vaguely).
    pub fn read(service: Service, var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| var(name).filter(|value| !value.is_empty());
        let ignore_endpoints =
            var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Self {
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            endpoint_url: if ignore_endpoints {
                None
            } else {
                var(service.endpoint_variable()).or_else(|| var("AWS_ENDPOINT_URL"))
            },
            has_credentials: var("AWS_ACCESS_KEY_ID").is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_env(vars: &[(&str, &str)]) -> AwsEnvironment {
        AwsEnvironment::read(Service::DynamoDb, |name| {
            vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_aws_environment_is_read_with_the_sdk_precedence() {
        assert_eq!(aws_env(&[]), AwsEnvironment { region: None, endpoint_url: None, has_credentials: false });
        let all = [
            ("AWS_REGION", "cn-north-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ];
        let env = aws_env(&all);
        assert_eq!(env.region.as_deref(), Some("cn-north-1"));
        assert_eq!(env.endpoint_url.as_deref(), Some("http://127.0.0.1:8000"));
        assert!(env.has_credentials);
        // The fallbacks, and empty values treated as unset.
        let env = aws_env(&[
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", ""),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ACCESS_KEY_ID", ""),
        ]);
        assert_eq!(env.region.as_deref(), Some("us-east-1"));
        assert_eq!(env.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(!env.has_credentials);
        // Configured endpoints can be switched off as a whole.
        for flag in ["true", "TRUE"] {
            let env = aws_env(&[all.as_slice(), &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", flag)]].concat());
            assert_eq!(env.endpoint_url, None);
        }
        let env = aws_env(&[all.as_slice(), &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")]].concat());
        assert_eq!(env.endpoint_url.as_deref(), Some("http://127.0.0.1:8000"));
        // Each service has its own endpoint variable.
        let bus = AwsEnvironment::read(Service::EventBridge, |name| {
            [all.as_slice(), &[("AWS_ENDPOINT_URL_EVENTBRIDGE", "http://127.0.0.1:7000")]]
                .concat()
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        });
        assert_eq!(bus.endpoint_url.as_deref(), Some("http://127.0.0.1:7000"));
    }
}
