//! The DynamoDB adapter: every semantic of [`super`] as one request with a condition expression.
//!
//! The SDK is configured deliberately ([`DynamoDbStore::from_env`]): standard retry mode with 3
//! attempts and a short backoff for throttling and transient errors, a 1 s per-attempt and 2.5 s
//! total timeout, so a store hiccup still leaves room inside WeChat's 5-second push deadline and
//! surfaces as [`StoreError::Unavailable`] (a 5xx, so WeChat retries later) rather than a hang.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::{Client, Config};

use super::table::{DUE_INDEX, OWNER_INDEX};
use super::{
    AuthorizerProfile, AuthorizerRecord, AuthorizerStatus, AuthorizerStore, AuthorizerSummary, ComponentToken,
    ComponentTokenStore, DEFAULT_OWNER, DueAuthorizer, DuePage, MarkerStore, NewAuthorization, StoreError, TicketStore,
    TicketWrite, Timestamp, TokenRefresh, VerifyTicket,
};
use crate::outbound::SdkHttpClient;
use crate::secret::Secret;

type Item = HashMap<String, AttributeValue>;

/// The token store on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    component: String,
}

impl DynamoDbStore {
    /// A store over an existing client.
    pub fn new(client: Client, table: impl Into<String>, component_appid: impl Into<String>) -> Self {
        Self { client, table: table.into(), component: component_appid.into() }
    }

    /// A store configured from the AWS environment Lambda provides ([`sdk_config_from_env`]),
    /// with this module's retry and timeout policy. Makes no network call.
    pub fn from_env(table: impl Into<String>, component_appid: impl Into<String>) -> Self {
        Self::from_env_with_timeouts(table, component_appid, Duration::from_millis(1000), Duration::from_millis(2500))
    }

    /// [`DynamoDbStore::from_env`] with other per-attempt and total timeouts (tests on a busy
    /// local server use longer ones; they test semantics, not the production latency budget).
    pub fn from_env_with_timeouts(
        table: impl Into<String>,
        component_appid: impl Into<String>,
        attempt: Duration,
        total: Duration,
    ) -> Self {
        let config = sdk_config_from_env()
            .http_client(SdkHttpClient::shared())
            .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(25)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_millis(800))
                    .operation_attempt_timeout(attempt)
                    .operation_timeout(total)
                    .build(),
            )
            .build();
        Self::new(Client::from_conf(config), table, component_appid)
    }

    /// The SDK client (for table administration in tests and local runs).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn component_pk(&self) -> String {
        format!("component#{}", self.component)
    }

    fn authorizer_pk(&self, appid: &str) -> String {
        format!("authorizer#{}#{}", self.component, appid)
    }

    fn due_pk(&self) -> String {
        format!("due#{}", self.component)
    }

    fn owner_pk(&self, owner: &str) -> String {
        format!("owner#{}#{}", self.component, owner)
    }

    fn key(pk: String, sk: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// Runs an `UpdateItem` on an authorizer record returning the new record; a failed condition
    /// is [`StoreError::NotFound`] when the record does not exist.
    async fn update_authorizer(&self, appid: &str, update: Update) -> Result<AuthorizerRecord, StoreError> {
        let pk = self.authorizer_pk(appid);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk.clone(), "authorizer")))
            .update_expression(update.expression)
            .condition_expression(update.condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => decode_authorizer(&pk, &out.attributes.unwrap_or_default()),
            Err(err) => Err(match condition_failure_item(&err) {
                Some(None) => StoreError::NotFound,
                Some(Some(_)) => StoreError::ConditionFailed,
                None => classify(err),
            }),
        }
    }
}

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

/// Builds update and condition expressions with every attribute name behind a `#` placeholder
/// (several of ours, like `status`, `owner` and `ttl`, are DynamoDB reserved words).
struct Update {
    expression: String,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn new(expression: &str, condition: &str) -> Self {
        let mut names = HashMap::new();
        for text in [expression, condition] {
            for name in placeholders(text) {
                names.insert(format!("#{name}"), name.to_owned());
            }
        }
        Self { expression: expression.to_owned(), condition: condition.to_owned(), names, values: HashMap::new() }
    }

    fn value(mut self, name: &str, value: AttributeValue) -> Self {
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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Maps SDK errors to [`StoreError`], keeping the SDK's message (which never contains item values).
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
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
fn condition_failure_item(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, impl std::fmt::Debug>,
) -> Option<Option<Item>> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    match err {
        SdkError::ServiceError(service) => match service.err() {
            UpdateItemError::ConditionalCheckFailedException(e) => Some(e.item.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Reads attributes of one item; every error names the item's key and the attribute, never a value.
struct Reader<'a> {
    key: &'a str,
    item: &'a Item,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt { key: self.key.to_owned(), reason }
    }

    fn opt_s(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(self.corrupt(format!("`{name}` is not a string"))),
        }
    }

    fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)?.ok_or_else(|| self.corrupt(format!("`{name}` is missing")))
    }

    fn opt_n(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(value)) => {
                value.parse().map(Some).map_err(|_| self.corrupt(format!("`{name}` is not an integer")))
            }
            Some(_) => Err(self.corrupt(format!("`{name}` is not a number"))),
        }
    }

    fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_n(name)?.ok_or_else(|| self.corrupt(format!("`{name}` is missing")))
    }

    /// `refresh_token_received_ms`, or for items from before it existed `refresh_token_at`
    /// (seconds) in milliseconds.
    fn received_ms(&self) -> Result<i64, StoreError> {
        match self.opt_n("refresh_token_received_ms")? {
            Some(ms) => Ok(ms),
            None => Ok(self.n("refresh_token_at")?.saturating_mul(1000)),
        }
    }

    fn version(&self) -> Result<u64, StoreError> {
        u64::try_from(self.n("version")?).map_err(|_| self.corrupt("`version` is negative".into()))
    }

    fn numbers(&self, name: &str) -> Result<Vec<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::N(n) => {
                        n.parse().map_err(|_| self.corrupt(format!("`{name}` holds a non-integer")))
                    }
                    _ => Err(self.corrupt(format!("`{name}` holds a non-number"))),
                })
                .collect(),
            Some(_) => Err(self.corrupt(format!("`{name}` is not a list"))),
        }
    }

    fn status(&self) -> Result<AuthorizerStatus, StoreError> {
        let text = self.s("status")?;
        AuthorizerStatus::parse(text).ok_or_else(|| self.corrupt(format!("unknown status {text:?}")))
    }

    fn profile(&self) -> Result<AuthorizerProfile, StoreError> {
        let text = |name| self.opt_s(name).map(|v| v.unwrap_or_default().to_owned());
        Ok(AuthorizerProfile {
            nick_name: text("nick_name")?,
            head_img: text("head_img")?,
            user_name: text("user_name")?,
            principal_name: text("principal_name")?,
            alias: text("alias")?,
            qrcode_url: text("qrcode_url")?,
            service_type: self.opt_n("service_type")?,
            verify_type: self.opt_n("verify_type")?,
            func_info: self.numbers("func_info")?,
        })
    }
}

fn decode_authorizer(key: &str, item: &Item) -> Result<AuthorizerRecord, StoreError> {
    let r = Reader { key, item };
    Ok(AuthorizerRecord {
        authorizer_appid: r.s("authorizer_appid")?.to_owned(),
        access_token: Secret::new(r.s("access_token")?),
        expires_at: r.n("expires_at")?,
        refresh_token: Secret::new(r.s("refresh_token")?),
        refresh_token_received_ms: r.received_ms()?,
        profile: r.profile()?,
        status: r.status()?,
        owner: r.opt_s("owner")?.unwrap_or(DEFAULT_OWNER).to_owned(),
        authorized_at: r.n("authorized_at")?,
        updated_at: r.n("updated_at")?,
        version: r.version()?,
    })
}

fn profile_values(update: Update, profile: &AuthorizerProfile) -> Update {
    let optional = |v: Option<i64>| v.map_or(AttributeValue::Null(true), n);
    update
        .value(":nick_name", s(&profile.nick_name))
        .value(":head_img", s(&profile.head_img))
        .value(":user_name", s(&profile.user_name))
        .value(":principal_name", s(&profile.principal_name))
        .value(":alias", s(&profile.alias))
        .value(":qrcode_url", s(&profile.qrcode_url))
        .value(":service_type", optional(profile.service_type))
        .value(":verify_type", optional(profile.verify_type))
        .value(":func_info", AttributeValue::L(profile.func_info.iter().map(|id| n(*id)).collect()))
}

/// A write's refresh token was received no earlier than the stored one. Items written before the
/// attribute existed (ordered in whole seconds by `refresh_token_at`) accept any newer write.
const NOT_OLDER: &str =
    "(attribute_not_exists(#refresh_token_received_ms) OR #refresh_token_received_ms <= :received_ms)";

const SET_PROFILE: &str = "#nick_name = :nick_name, #head_img = :head_img, #user_name = :user_name, \
     #principal_name = :principal_name, #alias = :alias, #qrcode_url = :qrcode_url, \
     #service_type = :service_type, #verify_type = :verify_type, #func_info = :func_info";

impl TicketStore for DynamoDbStore {
    async fn put_verify_ticket(&self, ticket: &VerifyTicket, now: Timestamp) -> Result<TicketWrite, StoreError> {
        let update = Update::new(
            "SET #previous_ticket = if_not_exists(#ticket, :none), \
             #previous_create_time = if_not_exists(#create_time, :zero), \
             #ticket = :ticket, #create_time = :create_time, #updated_at = :now",
            "attribute_not_exists(#pk) OR #create_time < :create_time",
        )
        .value(":none", s(""))
        .value(":zero", n(0))
        .value(":ticket", s(ticket.ticket.expose()))
        .value(":create_time", n(ticket.create_time))
        .value(":now", n(now));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(self.component_pk(), "ticket")))
            .update_expression(update.expression)
            .condition_expression(update.condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(TicketWrite::Stored),
            Err(StoreError::ConditionFailed) => Ok(TicketWrite::Stale),
            Err(err) => Err(err),
        }
    }

    async fn verify_ticket(&self) -> Result<Option<VerifyTicket>, StoreError> {
        let pk = self.component_pk();
        let Some(item) = self.get(pk.clone(), "ticket").await? else {
            return Ok(None);
        };
        let key = format!("{pk}/ticket");
        let r = Reader { key: &key, item: &item };
        Ok(Some(VerifyTicket { ticket: Secret::new(r.s("ticket")?), create_time: r.n("create_time")? }))
    }
}

impl ComponentTokenStore for DynamoDbStore {
    async fn component_token(&self) -> Result<Option<ComponentToken>, StoreError> {
        let pk = self.component_pk();
        let Some(item) = self.get(pk.clone(), "token").await? else {
            return Ok(None);
        };
        let key = format!("{pk}/token");
        let r = Reader { key: &key, item: &item };
        Ok(Some(ComponentToken {
            token: Secret::new(r.s("token")?),
            expires_at: r.n("expires_at")?,
            version: r.version()?,
        }))
    }

    async fn put_component_token(
        &self,
        token: &Secret,
        expires_at: Timestamp,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> Result<ComponentToken, StoreError> {
        let version = expected_version.map_or(1, |v| v + 1);
        let mut item = Self::key(self.component_pk(), "token");
        item.insert("token".into(), s(token.expose()));
        item.insert("expires_at".into(), n(expires_at));
        item.insert("version".into(), n(version));
        item.insert("updated_at".into(), n(now));
        let request = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let request = match expected_version {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(v) => request
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(v)),
        };
        request.send().await.map_err(classify)?;
        Ok(ComponentToken { token: token.clone(), expires_at, version })
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut item = Self::key(self.component_pk(), &format!("lease#{name}"));
        item.insert("holder".into(), s(holder));
        item.insert("lease_until".into(), n(until));
        item.insert("ttl".into(), n(until + 3600));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #lease_until <= :now OR #holder = :holder")
            .expression_attribute_names("#lease_until", "lease_until")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(self.component_pk(), &format!("lease#{name}"))))
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

impl AuthorizerStore for DynamoDbStore {
    async fn authorizer(&self, appid: &str) -> Result<Option<AuthorizerRecord>, StoreError> {
        let pk = self.authorizer_pk(appid);
        match self.get(pk.clone(), "authorizer").await? {
            None => Ok(None),
            Some(item) => decode_authorizer(&pk, &item).map(Some),
        }
    }

    async fn save_authorization(&self, a: &NewAuthorization, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let mut expression = String::from(
            "SET #authorizer_appid = :appid, #access_token = :access_token, #expires_at = :expires_at, \
             #refresh_token = :refresh_token, #refresh_token_received_ms = :received_ms, #status = :authorized, \
             #due_pk = :due_pk, #authorized_at = :now, #updated_at = :now, \
             #version = if_not_exists(#version, :zero) + :one, ",
        );
        expression.push_str(if a.owner.is_some() {
            "#owner = :owner, #owner_pk = :owner_pk"
        } else {
            "#owner = if_not_exists(#owner, :owner), #owner_pk = if_not_exists(#owner_pk, :owner_pk)"
        });
        if a.profile.is_some() {
            expression.push_str(", ");
            expression.push_str(SET_PROFILE);
        }
        let owner = a.owner.as_deref().unwrap_or(DEFAULT_OWNER);
        let mut update = Update::new(&expression, &format!("attribute_not_exists(#pk) OR {NOT_OLDER}"))
            .value(":appid", s(&a.authorizer_appid))
            .value(":access_token", s(a.access_token.expose()))
            .value(":expires_at", n(a.expires_at))
            .value(":refresh_token", s(a.refresh_token.expose()))
            .value(":received_ms", n(a.received_ms))
            .value(":authorized", s(AuthorizerStatus::Authorized.as_str()))
            .value(":due_pk", s(self.due_pk()))
            .value(":now", n(now))
            .value(":zero", n(0))
            .value(":one", n(1))
            .value(":owner", s(owner))
            .value(":owner_pk", s(self.owner_pk(owner)));
        if let Some(profile) = &a.profile {
            update = profile_values(update, profile);
        }
        let pk = self.authorizer_pk(&a.authorizer_appid);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk.clone(), "authorizer")))
            .update_expression(update.expression)
            .condition_expression(update.condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(classify)?;
        decode_authorizer(&pk, &result.attributes.unwrap_or_default())
    }

    async fn update_tokens(&self, r: &TokenRefresh, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let (expression, condition) = if r.refresh_token.is_some() {
            (
                "SET #access_token = :access_token, #expires_at = :expires_at, #refresh_token = :refresh_token, \
                 #refresh_token_received_ms = :received_ms, #updated_at = :now, #version = #version + :one",
                format!("#version = :expected AND #status = :authorized AND {NOT_OLDER}"),
            )
        } else {
            (
                "SET #access_token = :access_token, #expires_at = :expires_at, #updated_at = :now, \
                 #version = #version + :one",
                "#version = :expected AND #status = :authorized".to_owned(),
            )
        };
        let mut update = Update::new(expression, &condition)
            .value(":access_token", s(r.access_token.expose()))
            .value(":expires_at", n(r.expires_at))
            .value(":now", n(now))
            .value(":one", n(1))
            .value(":expected", n(r.expected_version))
            .value(":authorized", s(AuthorizerStatus::Authorized.as_str()));
        if let Some(refresh_token) = &r.refresh_token {
            update = update.value(":refresh_token", s(refresh_token.expose())).value(":received_ms", n(r.received_ms));
        }
        self.update_authorizer(&r.authorizer_appid, update).await
    }

    async fn update_profile(
        &self,
        appid: &str,
        profile: &AuthorizerProfile,
        expected_version: u64,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let expression = format!("SET {SET_PROFILE}, #updated_at = :now, #version = #version + :one");
        let update = Update::new(&expression, "#version = :expected")
            .value(":now", n(now))
            .value(":one", n(1))
            .value(":expected", n(expected_version));
        self.update_authorizer(appid, profile_values(update, profile)).await
    }

    async fn set_owner(&self, appid: &str, owner: &str, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new(
            "SET #owner = :owner, #owner_pk = :owner_pk, #updated_at = :now, #version = #version + :one",
            "attribute_exists(#pk)",
        )
        .value(":owner", s(owner))
        .value(":owner_pk", s(self.owner_pk(owner)))
        .value(":now", n(now))
        .value(":one", n(1));
        self.update_authorizer(appid, update).await
    }

    async fn revoke(&self, appid: &str, event_time: Timestamp, now: Timestamp) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new(
            "SET #status = :revoked, #updated_at = :now, #version = #version + :one REMOVE #due_pk",
            "attribute_exists(#pk) AND #authorized_at <= :event_time",
        )
        .value(":revoked", s(AuthorizerStatus::Revoked.as_str()))
        .value(":now", n(now))
        .value(":one", n(1))
        .value(":event_time", n(event_time));
        self.update_authorizer(appid, update).await
    }

    async fn mark_needs_reauthorization(
        &self,
        appid: &str,
        expected_version: u64,
        now: Timestamp,
    ) -> Result<AuthorizerRecord, StoreError> {
        let update = Update::new(
            "SET #status = :needs, #updated_at = :now, #version = #version + :one REMOVE #due_pk",
            "#version = :expected",
        )
        .value(":needs", s(AuthorizerStatus::NeedsReauthorization.as_str()))
        .value(":now", n(now))
        .value(":one", n(1))
        .value(":expected", n(expected_version));
        self.update_authorizer(appid, update).await
    }

    async fn due_authorizers(
        &self,
        before: Timestamp,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("#due_pk = :due_pk AND #expires_at < :before")
            .expression_attribute_names("#due_pk", "due_pk")
            .expression_attribute_names("#expires_at", "expires_at")
            .expression_attribute_values(":due_pk", s(self.due_pk()))
            .expression_attribute_values(":before", n(before))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        if let Some(cursor) = cursor {
            request = request.set_exclusive_start_key(Some(self.decode_cursor(cursor)?));
        }
        let out = request.send().await.map_err(classify)?;
        let prefix = format!("authorizer#{}#", self.component);
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let r = Reader { key: &key, item: &item };
            let appid =
                key.strip_prefix(&prefix).ok_or_else(|| r.corrupt("due-index entry outside this component".into()))?;
            items.push(DueAuthorizer { authorizer_appid: appid.to_owned(), expires_at: r.n("expires_at")? });
        }
        let next = out.last_evaluated_key.map(|key| {
            let expires_at = key.get("expires_at").and_then(|v| v.as_n().ok()).cloned().unwrap_or_default();
            let pk = key.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            format!("{expires_at}|{pk}")
        });
        Ok(DuePage { items, next })
    }

    async fn authorizers_of(&self, owner: &str) -> Result<Vec<AuthorizerSummary>, StoreError> {
        let mut summaries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OWNER_INDEX)
                .key_condition_expression("#owner_pk = :owner_pk")
                .expression_attribute_names("#owner_pk", "owner_pk")
                .expression_attribute_values(":owner_pk", s(self.owner_pk(owner)))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in out.items.unwrap_or_default() {
                let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let r = Reader { key: &key, item: &item };
                summaries.push(AuthorizerSummary {
                    authorizer_appid: r.s("authorizer_appid")?.to_owned(),
                    profile: r.profile()?,
                    status: r.status()?,
                    authorized_at: r.n("authorized_at")?,
                    updated_at: r.n("updated_at")?,
                });
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(summaries),
            }
        }
    }
}

impl DynamoDbStore {
    /// The due query's cursor is `expires_at|pk`; anything else is refused, never sent to AWS.
    fn decode_cursor(&self, cursor: &str) -> Result<Item, StoreError> {
        let bad = || StoreError::Other("malformed due-query cursor".into());
        let (expires_at, pk) = cursor.split_once('|').ok_or_else(bad)?;
        expires_at.parse::<i64>().map_err(|_| bad())?;
        if !pk.starts_with(&format!("authorizer#{}#", self.component)) {
            return Err(bad());
        }
        Ok(HashMap::from([
            ("pk".to_owned(), s(pk)),
            ("sk".to_owned(), s("authorizer")),
            ("due_pk".to_owned(), s(self.due_pk())),
            ("expires_at".to_owned(), AttributeValue::N(expires_at.to_owned())),
        ]))
    }
}

impl MarkerStore for DynamoDbStore {
    async fn remember_once(&self, key: &str, ttl_secs: i64, now: Timestamp) -> Result<bool, StoreError> {
        let mut item = Self::key(format!("marker#{}#{}", self.component, key), "marker");
        item.insert("ttl".into(), n(now + ttl_secs.max(1)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn remember_value(&self, key: &str, value: &str, ttl_secs: i64, now: Timestamp) -> Result<(), StoreError> {
        let mut item = Self::key(format!("value#{}#{}", self.component, key), "value");
        item.insert("value".into(), s(value));
        item.insert("ttl".into(), n(now + ttl_secs.max(1)));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(classify)?;
        Ok(())
    }

    async fn recall(&self, key: &str, now: Timestamp) -> Result<Option<String>, StoreError> {
        let pk = format!("value#{}#{}", self.component, key);
        let Some(item) = self.get(pk.clone(), "value").await? else {
            return Ok(None);
        };
        let r = Reader { key: &pk, item: &item };
        if r.n("ttl")? < now {
            return Ok(None);
        }
        Ok(Some(r.s("value")?.to_owned()))
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

    #[test]
    fn placeholders_are_collected_from_expressions() {
        let update = Update::new("SET #a = :x, #b_c = if_not_exists(#a, :y) REMOVE #d", "#e <= :z");
        let mut names: Vec<_> = update.names.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["#a", "#b_c", "#d", "#e"]);
    }

    #[test]
    fn corrupt_items_name_their_key_not_their_values() {
        let item: Item = HashMap::from([
            ("authorizer_appid".to_owned(), s("wx1")),
            ("access_token".to_owned(), s("SECRET-TOKEN")),
            ("expires_at".to_owned(), s("not a number")),
        ]);
        let err = decode_authorizer("authorizer#c#wx1", &item).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("authorizer#c#wx1") && text.contains("expires_at"), "{text}");
        assert!(!text.contains("SECRET-TOKEN"), "{text}");
    }
}
