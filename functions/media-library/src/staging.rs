//! The staging bucket on S3 as [`Staging`]: presigned `PUT`s that take exactly the declared file
//! (its length, type and SHA-256 are signed headers, and S3 checks the checksum against the bytes
//! it receives), reads streamed chunk by chunk, and removal once WeChat has the file. The bucket
//! also forgets what nobody completed (its lifecycle rule, `template.yaml`).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use futures_util::StreamExt;
use shared::service::{StagedBytes, Staging, UploadUrl};

/// The bucket and its client.
#[derive(Debug, Clone)]
pub struct S3Staging {
    client: Client,
    bucket: String,
}

/// `hex` as Base64 (S3's `x-amz-checksum-sha256` is the digest's Base64).
fn hex_to_base64(hex: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    bytes.map(|b| base64::engine::general_purpose::STANDARD.encode(b))
}

impl S3Staging {
    /// The bucket `bucket`, reached with the environment's credentials and endpoint
    /// (`AWS_ENDPOINT_URL_S3`: the local emulator, addressed by path, in tests and local runs).
    pub fn from_env(bucket: impl Into<String>) -> Self {
        let env = shared::aws::read_env(shared::aws::Service::S3);
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(env.region.map(aws_sdk_s3::config::Region::new))
            .credentials_provider(shared::aws::environment_credentials())
            .http_client(shared::outbound::SdkHttpClient::shared())
            .retry_config(shared::aws::retries(3))
            // Checksums only where S3 requires them: the upload's own SHA-256 is the one that counts.
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = env.endpoint_url {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Self { client: Client::from_conf(config.build()), bucket: bucket.into() }
    }

    /// The SDK client (tests create the bucket with it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
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
        let presigning = PresigningConfig::expires_in(Duration::from_secs(expires_in)).map_err(|e| e.to_string())?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).map_err(|e| e.to_string())?)
            .checksum_sha256(checksum)
            .presigned(presigning)
            .await
            .map_err(|e| e.to_string())?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok(UploadUrl { url: request.uri().to_owned(), method: "PUT", headers })
    }

    async fn open(&self, key: &str) -> Result<Option<(u64, StagedBytes)>, String> {
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(SdkError::ServiceError(e)) if matches!(e.err(), GetObjectError::NoSuchKey(_)) => return Ok(None),
            Err(e) => return Err(shared::aws::sdk_error_text(&e)),
        };
        let size = object.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        let body = object.body;
        let stream = futures_util::stream::unfold(body, |mut body| async move {
            body.next().await.map(|chunk| (chunk.map_err(std::io::Error::other), body))
        });
        Ok(Some((size, stream.boxed())))
    }

    async fn remove(&self, key: &str) -> Result<(), String> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| shared::aws::sdk_error_text(&e))
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
}
