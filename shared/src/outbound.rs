//! One outbound HTTP stack for everything the functions call — WeChat's API and DynamoDB:
//! reqwest over rustls with the `ring` provider and Mozilla's root certificates compiled in
//! (`webpki-roots`).
//!
//! Why not the defaults. reqwest (through the platform verifier) and the AWS SDK (through its own
//! hyper-rustls client) each read and parse the system certificate store when their client is
//! built: 2.4 ms each on the measuring machine (147 files under `/etc/ssl/certs`), half of every
//! function's cold start, paid before the first request. Each also brought its own TLS client code
//! and aws-lc, a large part of every binary. Compiled-in roots cost nothing at init, don't depend
//! on what the Lambda image ships, and cover the two hosts we talk to (`api.weixin.qq.com`,
//! `dynamodb.<region>.amazonaws.com`).
//!
//! The SDK reaches reqwest through [`SdkHttpClient`], a small adapter: request bytes in, response
//! bytes out, errors classified the way the SDK's retry policy expects (timeout, I/O, other).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The TLS client configuration every connection uses, built once per process.
static TLS: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
});

/// How many root certificates outbound TLS trusts (tests check the store is not empty).
pub fn trusted_roots() -> usize {
    webpki_roots::TLS_SERVER_ROOTS.len()
}

/// A reqwest builder on the shared TLS configuration; callers add their timeouts.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(TLS.clone())
}

/// The AWS SDK's HTTP client, on reqwest. One reqwest client (one connection pool) per distinct
/// timeout setting the SDK asks for — in practice exactly one per process.
#[derive(Debug, Default)]
pub struct SdkHttpClient {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// Connect and read timeouts, as the SDK asks for them.
type Timeouts = (Option<Duration>, Option<Duration>);

impl SdkHttpClient {
    /// A client with no connection opened yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh client in the form the SDK's config loaders take
    /// (`aws_sdk_dynamodb::Config::builder().http_client(SdkHttpClient::shared())`).
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(Self::new())
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| {
                let mut builder = client_builder().pool_idle_timeout(Duration::from_secs(50));
                if let Some(timeout) = key.0 {
                    builder = builder.connect_timeout(timeout);
                }
                if let Some(timeout) = key.1 {
                    builder = builder.read_timeout(timeout);
                }
                // Building only fails when the TLS backend is unusable, which the preconfigured
                // one is not; fall back to a client whose requests fail with a clear error.
                let http = builder.build().map_err(|e| e.to_string());
                SharedHttpConnector::new(SdkConnector { http })
            })
            .clone()
    }
}

#[derive(Debug)]
struct SdkConnector {
    http: Result<reqwest::Client, String>,
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        HttpConnectorFuture::new(async move {
            let http = http.map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?.into_parts();
            // DynamoDB requests are JSON documents the SDK has already serialised.
            let bytes = body
                .bytes()
                .ok_or_else(|| ConnectorError::user("streaming request bodies are not supported".into()))?;
            let request = reqwest::Request::try_from(::http::Request::from_parts(parts, bytes.to_vec()))
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = http.execute(request).await.map_err(classify)?;
            let mut out = ::http::Response::new(SdkBody::empty());
            *out.status_mut() = response.status();
            *out.headers_mut() = response.headers().clone();
            *out.body_mut() = SdkBody::from(response.bytes().await.map_err(classify)?);
            HttpResponse::try_from(out).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK retries timeouts and I/O errors (connection refused or reset) as transient.
fn classify(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::timeout(err.into())
    } else if err.is_connect() || err.is_request() || err.is_body() {
        ConnectorError::io(err.into())
    } else {
        ConnectorError::other(err.into(), None)
    }
}
