//! Where files wait between a caller's upload and WeChat: the [`Staging`] port, and the S3 bucket
//! that is it when deployed ([`S3Staging`]).
//!
//! The bucket takes presigned `PUT`s of exactly the declared file (its length, type and SHA-256
//! are signed headers, and S3 checks the checksum against the bytes it receives); the platform
//! reads files back streamed chunk by chunk, keeps a temporary medium's file under `kept/` (to
//! upload it again before WeChat forgets it), and removes what it is done with. The bucket also
//! forgets what nobody completed (its lifecycle rule on `uploads/`, `template.yaml`).
//!
//! Why signed requests over reqwest rather than `aws-sdk-s3`: the platform needs five requests
//! (presigned `PUT`, `GET`, `DELETE`, a copy, and `PUT` of the bucket for local runs), and the SDK's
//! client cost 1,032 KiB of media-library's arm64 binary, taking it over the 6 MiB budget
//! (`docs/deploy.md`). The signatures are AWS's own implementation (`aws-sigv4`, already linked
//! for the other SDKs), with S3's rules: single percent-encoding, no path normalisation, and the
//! payload's hash in `x-amz-content-sha256`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};

/// A stream of a staged file's bytes.
pub type StagedBytes = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Where files wait between the caller's upload and WeChat (an S3 bucket deployed).
pub trait Staging: Send + Sync {
    /// A URL taking exactly one `PUT` of the file (`size` bytes of `content_type` whose SHA-256
    /// is `sha256_hex`) at `key`, for `expires_in` seconds.
    fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        sha256_hex: &str,
        expires_in: u64,
    ) -> impl Future<Output = Result<UploadUrl, String>> + Send;

    /// The staged file at `key`: its size and its bytes; `Ok(None)` when nothing is there.
    fn open(&self, key: &str) -> impl Future<Output = Result<Option<(u64, StagedBytes)>, String>> + Send;

    /// Removes the file at `key` (done with it; absent: nothing to do).
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// Copies the file at `from` to `to` (a temporary medium's file kept for its renewals).
    fn keep(&self, from: &str, to: &str) -> impl Future<Output = Result<(), String>> + Send;
}

/// A presigned upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadUrl {
    /// Where to send the file.
    pub url: String,
    /// The method (`PUT`).
    pub method: &'static str,
    /// Headers the request must carry exactly (they are part of the signature).
    pub headers: Vec<(String, String)>,
}

/// The bucket, where it is reached, and one HTTP client.
#[derive(Debug, Clone)]
pub struct S3Staging {
    http: reqwest::Client,
    bucket: String,
    region: String,
    /// `Some(endpoint)`: the local emulator, the bucket in the path; `None`: AWS, the bucket in
    /// the host name.
    endpoint: Option<String>,
}

/// `hex` as Base64 (S3's `x-amz-checksum-sha256` is the digest's Base64).
fn hex_to_base64(hex: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    bytes.map(|b| base64::engine::general_purpose::STANDARD.encode(b))
}

/// `key` encoded for a URL path the way S3 signs it: every byte but the unreserved characters
/// and `/` percent-encoded.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Lambda environment's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), read per request: Lambda sets them once per sandbox, and reading three
/// variables costs nothing beside a network call.
fn credentials() -> Result<Credentials, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err("no AWS credentials in the environment".to_owned());
    };
    Ok(Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "environment"))
}

/// S3's signing settings, in headers or (presigned, valid `expires_in`) in the query.
fn settings(presigned: Option<Duration>) -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    match presigned {
        Some(expires_in) => {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires_in);
        }
        None => settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256,
    }
    settings
}

/// `method` on `url` with `headers`, signed for S3 in `region` by `credentials` at `time`: the
/// request with its signature applied (in its headers, or in its URL when `presigned`).
fn sign_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    presigned: Option<Duration>,
    region: &str,
    credentials: Credentials,
    time: SystemTime,
) -> Result<http::Request<()>, String> {
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings(presigned))
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let body = if presigned.is_some() { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&[]) };
    let signable = SignableRequest::new(method, url, headers.iter().copied(), body).map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(()).map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

impl S3Staging {
    /// The bucket `bucket`, reached with the environment's credentials and endpoint
    /// (`AWS_ENDPOINT_URL_S3`: the local emulator, addressed by path, in tests and local runs).
    pub fn from_env(bucket: impl Into<String>) -> Self {
        let env = crate::aws::read_env(crate::aws::Service::S3);
        let http = crate::outbound::client_builder()
            .connect_timeout(Duration::from_millis(800))
            .read_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            http,
            bucket: bucket.into(),
            region: env.region.unwrap_or_default(),
            endpoint: env.endpoint_url.map(|e| e.trim_end_matches('/').to_owned()),
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The URL of `key` in the bucket (of the bucket itself when `key` is empty).
    fn url(&self, key: &str) -> String {
        let key = encode_key(key);
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{key}", self.bucket),
            None => format!("https://{}.s3.{}.amazonaws.com/{key}", self.bucket, self.region),
        }
    }

    /// `method` on `url` with `headers`, signed now with the environment's credentials.
    fn signed(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        presigned: Option<Duration>,
    ) -> Result<http::Request<()>, String> {
        sign_request(method, url, headers, presigned, &self.region, credentials()?, SystemTime::now())
    }

    /// Sends `method` on `key` with `headers`, signed in its headers.
    async fn send(
        &self,
        method: reqwest::Method,
        key: &str,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, String> {
        let url = self.url(key);
        let signed = self.signed(method.as_str(), &url, headers, None)?;
        let mut request = self.http.request(method.clone(), signed.uri().to_string());
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        // The URL in the error names the bucket and key, never a credential (they are headers).
        request.send().await.map_err(|e| format!("S3 {method}: {e}"))
    }

    /// Creates the bucket where it does not exist yet: the local emulator's, for local runs and
    /// tests (the deployment's is `template.yaml`'s `MediaBucket`).
    ///
    /// # Errors
    /// What S3 answered, when it is neither created nor already there.
    pub async fn create_bucket(&self) -> Result<(), String> {
        let response = self.send(reqwest::Method::PUT, "", &[]).await?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::CONFLICT {
            return Ok(());
        }
        Err(format!("S3 create bucket: {status}"))
    }
}

impl Staging for S3Staging {
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        sha256_hex: &str,
        expires_in: u64,
    ) -> Result<UploadUrl, String> {
        let checksum = hex_to_base64(sha256_hex).ok_or("sha256 is not hex")?;
        let size = size.to_string();
        let headers = [("content-type", content_type), ("content-length", &size), ("x-amz-checksum-sha256", &checksum)];
        let request = self.signed("PUT", &self.url(key), &headers, Some(Duration::from_secs(expires_in)))?;
        let headers = headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        Ok(UploadUrl { url: request.uri().to_string(), method: "PUT", headers })
    }

    async fn open(&self, key: &str) -> Result<Option<(u64, StagedBytes)>, String> {
        let response = self.send(reqwest::Method::GET, key, &[]).await?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => return Ok(None),
            status if !status.is_success() => return Err(format!("S3 get: {status}")),
            _ => {}
        }
        let size = response.content_length().unwrap_or(0);
        let stream = response.bytes_stream().map_err(std::io::Error::other);
        Ok(Some((size, stream.boxed())))
    }

    async fn remove(&self, key: &str) -> Result<(), String> {
        let response = self.send(reqwest::Method::DELETE, key, &[]).await?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(format!("S3 delete: {status}"))
    }

    async fn keep(&self, from: &str, to: &str) -> Result<(), String> {
        let source = format!("/{}/{}", self.bucket, encode_key(from));
        let response = self.send(reqwest::Method::PUT, to, &[("x-amz-copy-source", &source)]).await?;
        // A copy can fail after its 200 (S3 says so in the body): only a CopyObjectResult counts
        // (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>).
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() && body.contains("CopyObjectResult") {
            return Ok(());
        }
        Err(format!("S3 copy: {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_digest_becomes_s3s_base64() {
        // SHA-256 of "hello world".
        let hex = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        assert_eq!(hex_to_base64(hex).as_deref(), Some("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="));
        assert_eq!(hex_to_base64("zz"), None);
    }

    /// AWS's documented examples: the key and the time of
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html> and
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.
    fn documented(method: &str, url: &str, headers: &[(&str, &str)], presigned: Option<Duration>) -> http::Request<()> {
        let credentials =
            Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, None, "docs");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        sign_request(method, url, headers, presigned, "us-east-1", credentials, time).unwrap()
    }

    #[test]
    fn requests_are_signed_as_aws_documents() {
        let request =
            documented("GET", "https://examplebucket.s3.amazonaws.com/test.txt", &[("range", "bytes=0-9")], None);
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(authorization.ends_with(
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        ));
        assert_eq!(
            request.headers()["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn presigned_urls_are_signed_as_aws_documents() {
        let url = "https://examplebucket.s3.amazonaws.com/test.txt";
        let request = documented("GET", url, &[], Some(Duration::from_secs(86_400)));
        let query = request.uri().query().unwrap();
        assert!(query.contains("X-Amz-Expires=86400"), "{query}");
        assert!(
            query.ends_with("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            "{query}"
        );
        // An upload's headers are part of what is signed: the browser must send them as they are.
        let put = documented(
            "PUT",
            url,
            &[("content-type", "image/png"), ("content-length", "3")],
            Some(Duration::from_secs(60)),
        );
        assert!(put.uri().query().unwrap().contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"));
    }

    #[test]
    fn keys_are_encoded_as_s3_signs_them() {
        assert_eq!(encode_key("uploads/c1/wx01/m-t_x.1~"), "uploads/c1/wx01/m-t_x.1~");
        assert_eq!(encode_key("a b+c=ü"), "a%20b%2Bc%3D%C3%BC");
    }

    #[test]
    fn the_bucket_is_in_the_host_on_aws_and_in_the_path_on_the_emulator() {
        let mut staging = S3Staging {
            http: crate::outbound::client_builder().build().unwrap(),
            bucket: "media-x".into(),
            region: "ap-east-1".into(),
            endpoint: None,
        };
        assert_eq!(staging.url("uploads/a"), "https://media-x.s3.ap-east-1.amazonaws.com/uploads/a");
        staging.endpoint = Some("http://127.0.0.1:5000".into());
        assert_eq!(staging.url("uploads/a"), "http://127.0.0.1:5000/media-x/uploads/a");
    }
}
