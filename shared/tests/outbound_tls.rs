//! Outbound TLS verifies servers: a local HTTPS server with a self-signed certificate is refused
//! by the shared client (and by the DynamoDB client built on it), and accepted by a client told to
//! trust exactly that certificate — so the refusal is the trust check, not a broken server.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CERT: &[u8] = include_bytes!("data/self-signed-cert.pem");
const KEY: &[u8] = include_bytes!("data/self-signed-key.pem");

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// An HTTPS server on loopback answering every request `ok`; returns its port.
async fn https_server() -> u16 {
    let cert = CertificateDer::from_pem_slice(CERT).unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        text = format!("{text}: {err}");
        source = err.source();
    }
    text
}

#[tokio::test]
async fn a_self_signed_server_is_refused_and_trusting_it_explicitly_works() {
    assert!(shared::outbound::trusted_roots() > 100, "Mozilla's roots are compiled in");
    let port = https_server().await;
    let url = format!("https://localhost:{port}/");

    let err = shared::outbound::client_builder().build().unwrap().get(&url).send().await.unwrap_err();
    let text = chain(&err);
    assert!(text.contains("UnknownIssuer") || text.contains("invalid peer certificate"), "{text}");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(CERT).unwrap()).unwrap();
    let trusting = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder().tls_backend_preconfigured(trusting).build().unwrap();
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn the_dynamodb_client_verifies_too() {
    let port = https_server().await;
    let config = shared::aws::dynamodb_config()
        .http_client(shared::outbound::SdkHttpClient::shared())
        .endpoint_url(format!("https://localhost:{port}"))
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let err = client.list_tables().send().await.unwrap_err();
    let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    assert!(text.contains("UnknownIssuer") || text.contains("invalid peer certificate"), "{text}");
}
