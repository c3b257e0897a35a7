//! The optional edge's IP set (`edge.yaml`) as [`PushSources`]: AWS WAF's `GetIPSet` then
//! `UpdateIPSet` with the lock token it returned, so a concurrent change is never overwritten
//! blindly (WAF refuses a stale token; the copy is then tried again).

use aws_sdk_wafv2::Client;
use aws_sdk_wafv2::types::Scope;
use shared::service::PushSources;

/// One IP set, named by its ARN (`arn:aws:wafv2:us-east-1:…:global/ipset/NAME/ID`).
#[derive(Debug, Clone)]
pub struct WafIpSet {
    client: Client,
    name: String,
    id: String,
    scope: Scope,
}

/// An IP set ARN's parts: region, scope, name, id.
///
/// # Errors
/// The reason, for anything but a WAF (v2) IP set ARN.
pub fn parse_ip_set_arn(arn: &str) -> Result<(String, Scope, String, String), String> {
    let bad = || format!("not an AWS WAF IP set ARN: {arn:?}");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, "wafv2", region, _, resource] = parts.as_slice() else {
        return Err(bad());
    };
    let path: Vec<&str> = resource.split('/').collect();
    let [scope, "ipset", name, id] = path.as_slice() else {
        return Err(bad());
    };
    let scope = match *scope {
        "global" => Scope::Cloudfront,
        "regional" => Scope::Regional,
        _ => return Err(bad()),
    };
    if region.is_empty() || name.is_empty() || id.is_empty() {
        return Err(bad());
    }
    Ok(((*region).to_owned(), scope, (*name).to_owned(), (*id).to_owned()))
}

/// An AWS WAF client for `region`, with the environment's credentials and endpoint
/// (`AWS_ENDPOINT_URL_WAFV2`: the local emulator in tests) over the platform's HTTP client.
pub fn waf_client(region: String) -> Client {
    let env = shared::aws::read_env(shared::aws::Service::Wafv2);
    let mut config = aws_sdk_wafv2::Config::builder()
        .behavior_version(aws_sdk_wafv2::config::BehaviorVersion::latest())
        .region(aws_sdk_wafv2::config::Region::new(region))
        .credentials_provider(shared::aws::environment_credentials())
        .http_client(shared::outbound::SdkHttpClient::shared())
        .retry_config(shared::aws::retries(3))
        .timeout_config(shared::aws::timeouts(std::time::Duration::from_secs(5), std::time::Duration::from_secs(15)));
    if let Some(endpoint) = env.endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

impl WafIpSet {
    /// The IP set `arn`, reached with the environment's credentials in the ARN's region (a
    /// CloudFront web ACL's set lives in us-east-1 whatever the stack's region).
    ///
    /// # Errors
    /// The reason, for an ARN that is not an IP set's.
    pub fn from_arn(arn: &str) -> Result<Self, String> {
        let (region, scope, name, id) = parse_ip_set_arn(arn)?;
        Ok(Self { client: waf_client(region), name, id, scope })
    }

    async fn replace_once(&self, cidrs: &[String]) -> Result<bool, aws_sdk_wafv2::Error> {
        let current = self.client.get_ip_set().name(&self.name).id(&self.id).scope(self.scope.clone()).send().await?;
        let mut stored: Vec<String> = current.ip_set().map(|set| set.addresses().to_vec()).unwrap_or_default();
        stored.sort();
        if stored == cidrs {
            return Ok(false);
        }
        self.client
            .update_ip_set()
            .name(&self.name)
            .id(&self.id)
            .scope(self.scope.clone())
            .set_addresses(Some(cidrs.to_vec()))
            .lock_token(current.lock_token().unwrap_or_default())
            .send()
            .await?;
        Ok(true)
    }
}

impl PushSources for WafIpSet {
    async fn replace(&self, cidrs: &[String]) -> Result<bool, String> {
        match self.replace_once(cidrs).await {
            Err(aws_sdk_wafv2::Error::WafOptimisticLockException(_)) => {
                // Changed between our read and write: read again once.
                self.replace_once(cidrs).await.map_err(|err| err.to_string())
            }
            other => other.map_err(|err| err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_set_arn_names_region_scope_name_and_id() {
        let arn = "arn:aws:wafv2:us-east-1:123456789012:global/ipset/platform-wechat-push-sources/a1b2c3d4-5678";
        let (region, scope, name, id) = parse_ip_set_arn(arn).unwrap();
        assert_eq!(
            (region.as_str(), name.as_str(), id.as_str()),
            ("us-east-1", "platform-wechat-push-sources", "a1b2c3d4-5678")
        );
        assert_eq!(scope, Scope::Cloudfront);
        let regional = "arn:aws-cn:wafv2:cn-north-1:123456789012:regional/ipset/n/i";
        assert_eq!(parse_ip_set_arn(regional).unwrap().1, Scope::Regional);
        for bad in [
            "",
            "arn:aws:wafv2:us-east-1:123456789012:global/webacl/n/i",
            "arn:aws:s3:::bucket",
            "arn:aws:wafv2::123456789012:global/ipset/n/i",
            "arn:aws:wafv2:us-east-1:123456789012:local/ipset/n/i",
            "arn:aws:wafv2:us-east-1:123456789012:global/ipset/n",
        ] {
            assert!(parse_ip_set_arn(bad).is_err(), "{bad}");
        }
    }
}
