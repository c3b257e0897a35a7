//! The AWS settings a function reads from the environment Lambda provides, and the SDK
//! configuration built from them without `aws-config`'s default chains.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::Config;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

/// The SDK configuration from the environment variables Lambda sets (see [`AwsEnvironment`]),
/// with credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
///
/// Why not `aws_config::from_env()`: its default chains (profile files, SSO, web identity, ECS,
/// IMDS) are never used inside Lambda, which always puts credentials in the environment, yet they
/// linked about 0.5 MB into every binary (an STS client, the profile parser) and took 0.3 ms of
/// each cold start. Outside Lambda, export credentials into the environment first
/// (`eval "$(aws configure export-credentials --format env)"`).
pub fn sdk_config_from_env() -> aws_sdk_dynamodb::config::Builder {
    let env = AwsEnvironment::read(|name| std::env::var(name).ok());
    if env.region.is_none() {
        tracing::warn!("neither AWS_REGION nor AWS_DEFAULT_REGION is set: DynamoDB calls will fail");
    }
    if !env.has_credentials {
        tracing::warn!(
            "AWS_ACCESS_KEY_ID is not set: DynamoDB calls will fail (credentials come from the environment)"
        );
    }
    let mut builder = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(env.region.map(Region::new))
        .credentials_provider(EnvironmentVariableCredentialsProvider::new());
    if let Some(endpoint) = env.endpoint_url {
        builder = builder.endpoint_url(endpoint);
    }
    builder
}

/// The AWS settings this platform reads from the environment, with the SDK's rules for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`; neither when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`. Local runs and tests point it at the local
    /// DynamoDB-API server.
    pub endpoint_url: Option<String>,
    /// Whether `AWS_ACCESS_KEY_ID` is set (its value is never kept: it is half a secret).
    pub has_credentials: bool,
}

impl AwsEnvironment {
    /// Reads the settings through `var` (the process environment in production; a table in tests).
    /// Empty values count as unset (an empty region or endpoint could only fail later, and vaguely).
    pub fn read(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| var(name).filter(|value| !value.is_empty());
        let ignore_endpoints =
            var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Self {
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            endpoint_url: if ignore_endpoints {
                None
            } else {
                var("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| var("AWS_ENDPOINT_URL"))
            },
            has_credentials: var("AWS_ACCESS_KEY_ID").is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_env(vars: &[(&str, &str)]) -> AwsEnvironment {
        AwsEnvironment::read(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
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
    }
}
