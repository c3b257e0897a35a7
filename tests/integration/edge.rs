//! The optional edge (`edge.yaml`): the token-refresher copies WeChat's push servers
//! (`getcallbackip`) into the web ACL's IP set once a day, on the local AWS emulator's WAF. A
//! list that cannot be right never empties or corrupts the set (it would refuse every push).

use aws_sdk_wafv2::types::{IpAddressVersion, Scope};
use wechat_standin::StandIn;

use crate::gateway;

/// A fresh, empty IP set on the emulator, as `edge.yaml` creates it; its ARN.
async fn fresh_ip_set() -> (aws_sdk_wafv2::Client, String, String, String) {
    let client = token_refresher::waf_client("us-east-1".to_owned());
    let name = format!("push-sources-{}", rand::random::<u32>());
    let created = client
        .create_ip_set()
        .name(&name)
        .scope(Scope::Cloudfront)
        .ip_address_version(IpAddressVersion::Ipv4)
        .set_addresses(Some(Vec::new()))
        .send()
        .await
        .expect("the emulator's WAF");
    let summary = created.summary().expect("a summary");
    let (arn, id) = (summary.arn().unwrap().to_owned(), summary.id().unwrap().to_owned());
    (client, arn, name, id)
}

async fn addresses(client: &aws_sdk_wafv2::Client, name: &str, id: &str) -> Vec<String> {
    let set = client.get_ip_set().name(name).id(id).scope(Scope::Cloudfront).send().await.unwrap();
    let mut addresses = set.ip_set().unwrap().addresses().to_vec();
    addresses.sort();
    addresses
}

/// A day later on the stand-in's clock, with a fresh component ticket as WeChat pushes every ten
/// minutes (the one pushed a day earlier has expired: 61005).
async fn next_day(standin: &StandIn) {
    standin.advance_clock(86_400);
    standin.push_ticket().await;
}

async fn run(app: &gateway::Shared, edge: &token_refresher::WafIpSet) -> token_refresher::RefreshReport {
    token_refresher::handle_with(app, None, token_refresher::Upkeep { edge: Some(edge), media: None }).await
}

#[tokio::test]
async fn wechats_push_servers_reach_the_edge_once_a_day_and_a_wrong_list_never_does() {
    let (client, arn, name, id) = fresh_ip_set().await;
    let edge = token_refresher::WafIpSet::from_arn(&arn).expect("the emulator's ARN");
    let (standin, app, _): (StandIn, _, _) = gateway::wired(crate::support::fresh_table().await, |_| {}).await;
    standin.push_ticket().await;

    // The first run of the day copies WeChat's list, canonical.
    let report = run(&app, &edge).await;
    assert_eq!(report.edge.as_deref(), Some("updated: 2 ranges"), "{report:?}");
    assert_eq!(addresses(&client, &name, &id).await, ["101.226.103.0/25", "127.0.0.1/32"]);
    assert!(!report.has_failures());
    let asked = standin.calls("getcallbackip");

    // Later the same day: nothing asked of WeChat.
    assert_eq!(run(&app, &edge).await.edge.as_deref(), Some("current"));
    assert_eq!(standin.calls("getcallbackip"), asked);

    // The next day WeChat's servers changed: the set follows; a day later, the same list changes
    // nothing.
    standin.set_callback_ips(&["203.0.113.7", "198.51.100.0/24"]);
    next_day(&standin).await;
    assert_eq!(run(&app, &edge).await.edge.as_deref(), Some("updated: 2 ranges"));
    assert_eq!(addresses(&client, &name, &id).await, ["198.51.100.0/24", "203.0.113.7/32"]);
    next_day(&standin).await;
    assert_eq!(run(&app, &edge).await.edge.as_deref(), Some("unchanged: 2 ranges"));

    // A list that cannot be right (an entry that is no address, or none at all): the set keeps
    // what it had, the run fails (the alarm sees it), and the next run tries again.
    for wrong in [&["203.0.113.7", "not-an-address"][..], &[]] {
        standin.set_callback_ips(wrong);
        next_day(&standin).await;
        let report = run(&app, &edge).await;
        assert!(report.edge.as_deref().is_some_and(|e| e.starts_with("failed")), "{wrong:?}: {report:?}");
        assert!(report.has_failures());
        assert_eq!(addresses(&client, &name, &id).await, ["198.51.100.0/24", "203.0.113.7/32"], "{wrong:?}");
        let again = standin.calls("getcallbackip");
        assert!(run(&app, &edge).await.edge.as_deref().is_some_and(|e| e.starts_with("failed")));
        assert_eq!(standin.calls("getcallbackip"), again + 1, "a failed day is tried again");
    }
}
