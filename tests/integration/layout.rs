//! One name per function everywhere, and one route table: `tests/platform.json`, the `Function`
//! type, `functions/`, `events/`, this crate's dependencies, `template.yaml`'s functions and the
//! local gateway's routes must all agree. Adding a function without one of them fails here,
//! naming what is missing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::gateway::ROUTES;
use crate::support::Function;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `template.yaml` as CloudFormation deploys it: after `AWS::LanguageExtensions` (its
/// `Fn::ForEach` loops expanded), before SAM's transform.
pub(crate) fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    expand(YamlLoader::load_from_str(&text).expect("template.yaml is YAML").remove(0))
}

/// The part of `AWS::LanguageExtensions` the template uses: each `Fn::ForEach::<Loop>: [Id,
/// [values…], fragment]` is replaced by the fragment once per value, `${Id}` replaced in its keys
/// and strings (nested loops included).
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-foreach.html
fn expand(node: Yaml) -> Yaml {
    match node {
        Yaml::Hash(hash) => {
            let mut out = yaml_rust2::yaml::Hash::new();
            for (key, value) in hash {
                let Some(name) = key.as_str().and_then(|k| k.strip_prefix("Fn::ForEach::")) else {
                    out.insert(key, expand(value));
                    continue;
                };
                let (id, values, fragment) = match value.as_vec().map(Vec::as_slice) {
                    Some([Yaml::String(id), Yaml::Array(values), fragment @ Yaml::Hash(_)]) => (id, values, fragment),
                    _ => panic!("Fn::ForEach::{name} is not [identifier, [values], {{fragment}}]"),
                };
                for value in values {
                    let value = value.as_str().unwrap_or_else(|| panic!("Fn::ForEach::{name}: {value:?}"));
                    let Yaml::Hash(generated) = expand(substitute(fragment, &format!("${{{id}}}"), value)) else {
                        unreachable!("a fragment is a mapping")
                    };
                    for (key, value) in generated {
                        assert!(!out.contains_key(&key), "Fn::ForEach::{name} makes {key:?} twice");
                        out.insert(key, value);
                    }
                }
            }
            Yaml::Hash(out)
        }
        Yaml::Array(items) => Yaml::Array(items.into_iter().map(expand).collect()),
        other => other,
    }
}

fn substitute(node: &Yaml, placeholder: &str, value: &str) -> Yaml {
    match node {
        Yaml::String(text) => Yaml::String(text.replace(placeholder, value)),
        Yaml::Hash(hash) => Yaml::Hash(
            hash.iter().map(|(k, v)| (substitute(k, placeholder, value), substitute(v, placeholder, value))).collect(),
        ),
        Yaml::Array(items) => Yaml::Array(items.iter().map(|item| substitute(item, placeholder, value)).collect()),
        other => other.clone(),
    }
}

/// A function's `<Name>Function` resource (one name per function everywhere).
pub(crate) fn function_resource<'t>(template: &'t Yaml, name: &str) -> &'t Yaml {
    &template["Resources"][format!("{}Function", camel(name)).as_str()]
}

/// Every statement of a function resource's inline policies (managed policies referenced by name
/// have none here).
pub(crate) fn policy_statements(resource: &Yaml) -> Vec<&Yaml> {
    resource["Properties"]["Policies"]
        .as_vec()
        .into_iter()
        .flatten()
        .flat_map(|policy| policy["Statement"].as_vec().into_iter().flatten())
        .collect()
}

/// A statement's actions, whether IAM's one-string or list form.
pub(crate) fn statement_actions(statement: &Yaml) -> Vec<&str> {
    match &statement["Action"] {
        Yaml::String(one) => vec![one.as_str()],
        Yaml::Array(many) => many.iter().filter_map(Yaml::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The properties of every alarm in the template, by resource name.
fn alarms(template: &Yaml) -> Vec<(&str, &Yaml)> {
    template["Resources"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .filter_map(|(name, r)| Some((name.as_str()?, &r["Properties"])))
        .collect()
}

fn dirs(path: &Path) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn camel(name: &str) -> String {
    name.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

#[test]
fn every_list_of_functions_names_the_same_functions() {
    let manifest: BTreeSet<String> = wechat_standin::platform::functions().iter().map(|f| f.name.clone()).collect();
    let typed: BTreeSet<String> = Function::ALL.iter().map(|f| f.name().to_owned()).collect();
    let order: Vec<&str> = wechat_standin::platform::functions().iter().map(|f| f.name.as_str()).collect();
    let typed_order: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(order, typed_order, "tests/platform.json and support::Function::ALL list the functions in one order");
    let template = template();
    let resources = template["Resources"].as_hash().expect("Resources");
    let sam: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, r)| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned();
            assert_eq!(name.as_str(), Some(format!("{}Function", camel(&binary)).as_str()), "one name per function");
            binary
        })
        .collect();
    let manifest_toml = std::fs::read_to_string(root().join("tests/integration/Cargo.toml")).expect("Cargo.toml");
    let places = [
        ("support::Function", typed),
        ("functions/", dirs(&root().join("functions"))),
        ("events/", dirs(&root().join("events"))),
        ("template.yaml <Name>Function resources", sam),
    ];
    for (place, names) in &places {
        let missing: Vec<_> = manifest.difference(names).collect();
        assert!(missing.is_empty(), "in tests/platform.json but not in {place}: {missing:?}");
        let extra: Vec<_> = names.difference(&manifest).collect();
        assert!(extra.is_empty(), "in {place} but not in tests/platform.json: {extra:?}");
    }
    for name in &manifest {
        assert!(
            manifest_toml.contains(&format!("{name} = {{ path = \"../../functions/{name}\" }}")),
            "{name} is not a dependency of tests/integration (its handler cannot be tested in process)"
        );
        let event_file = wechat_standin::platform::functions().iter().find(|f| &f.name == name).unwrap();
        if let Some(file) = &event_file.cold_start_event {
            assert!(root().join("events").join(name).join(file).is_file(), "events/{name}/{file} (cold_start_event)");
        }
    }
}

#[test]
fn the_local_gateway_routes_exactly_what_the_template_routes() {
    let template = template();
    let mut routes = BTreeSet::new();
    for (name, resource) in template["Resources"].as_hash().expect("Resources") {
        match resource["Type"].as_str() {
            Some("AWS::Serverless::Function") => {
                let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned();
                for event in resource["Properties"]["Events"].as_hash().into_iter().flat_map(|e| e.values()) {
                    if event["Type"].as_str() == Some("HttpApi") {
                        let p = &event["Properties"];
                        let key = format!("{} {}", p["Method"].as_str().unwrap(), p["Path"].as_str().unwrap());
                        routes.insert((key, binary.clone()));
                    }
                }
            }
            Some("AWS::ApiGatewayV2::Route") => {
                let key = resource["Properties"]["RouteKey"].as_str().expect("RouteKey").to_owned();
                // `Target: !Sub "integrations/${<Name>Integration}"`.
                let target = resource["Properties"]["Target"].as_str().expect("Target");
                let integration = target
                    .split("${")
                    .nth(1)
                    .and_then(|rest| rest.split('}').next())
                    .unwrap_or_else(|| panic!("route {name:?}: Target {target:?} names no integration"));
                let binary = Function::ALL
                    .iter()
                    .find(|f| format!("{}Integration", camel(f.name())) == integration)
                    .unwrap_or_else(|| panic!("route {name:?}: {integration} is no function's integration"))
                    .name();
                // The integration (generated per routed function) calls that function, which this
                // API may invoke.
                let function = format!("{}Function", camel(binary));
                let resources = &template["Resources"];
                let uri = &resources[integration]["Properties"]["IntegrationUri"]["Fn::GetAtt"];
                assert_eq!((uri[0].as_str(), uri[1].as_str()), (Some(function.as_str()), Some("Arn")), "{integration}");
                let permission = &resources[format!("{}Permission", camel(binary)).as_str()]["Properties"];
                assert_eq!(permission["FunctionName"]["Ref"].as_str(), Some(function.as_str()), "{integration}");
                assert_eq!(permission["Principal"].as_str(), Some("apigateway.amazonaws.com"));
                routes.insert((key, binary.to_owned()));
            }
            _ => {}
        }
    }
    let gateway: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(method, path, f)| (format!("{method} {path}"), f.name().to_owned())).collect();
    assert_eq!(gateway, routes, "tests/integration/gateway.rs ROUTES and template.yaml's HTTP API");
}

/// The functions whose use cases hand off to the bus: event-callback (`handle_message`),
/// ticket-receiver (`handle_notice`) and token-refresher (`refresh_all`). The hand-off tests
/// (`handoff.rs`) drive each of them to a publish.
const PUBLISHERS: [&str; 3] = ["ticket-receiver", "event-callback", "token-refresher"];

#[test]
fn only_the_publishing_functions_may_put_events_and_only_on_the_platform_bus() {
    let template = template();
    assert_eq!(template["Resources"]["EventBus"]["Type"].as_str(), Some("AWS::Events::EventBus"));
    for function in Function::ALL {
        let resource = function_resource(&template, function.name());
        let statements = policy_statements(resource);
        let puts: Vec<&&Yaml> =
            statements.iter().filter(|s| statement_actions(s).iter().any(|a| a.starts_with("events:"))).collect();
        let bus_env = resource["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"].as_str();
        if PUBLISHERS.contains(&function.name()) {
            assert_eq!(puts.len(), 1, "{function}: one events statement");
            assert_eq!(statement_actions(puts[0]), ["events:PutEvents"], "{function}: PutEvents only");
            // yaml-rust2 reads `!GetAtt EventBus.Arn` as its scalar.
            assert_eq!(puts[0]["Resource"].as_str(), Some("EventBus.Arn"), "{function}: this bus only");
            assert_eq!(bus_env, Some("EventBus"), "{function}: EVENT_BUS_NAME");
        } else {
            assert!(puts.is_empty(), "{function} does not publish, yet may: {puts:?}");
            assert_eq!(bus_env, None, "{function} does not publish");
        }
    }
    // The binaries: publishers build the bus (App::publishing_from_env), the others do not link it.
    for function in Function::ALL {
        let main = std::fs::read_to_string(root().join("functions").join(function.name()).join("src/main.rs")).unwrap();
        let publishes = main.contains("App::publishing_from_env()");
        assert_eq!(
            publishes,
            PUBLISHERS.contains(&function.name()),
            "{function}: main.rs builds the app with the bus iff it publishes"
        );
    }
    // Nothing else in the template may publish either (the one more mention is the bus policy's
    // deny, below).
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert_eq!(text.matches("events:PutEvents").count(), PUBLISHERS.len() + 1, "PutEvents granted elsewhere");
}

/// The bus takes events of the platform's source from its publishers only: any other principal
/// of the account is denied, whatever IAM grants it, so no one forges a follower's message.
#[test]
fn only_the_publishers_may_put_the_platforms_source_on_its_bus() {
    let template = template();
    let policy = &template["Resources"]["EventBusPublishersOnly"];
    assert_eq!(policy["Type"].as_str(), Some("AWS::Events::EventBusPolicy"));
    assert_eq!(policy["Properties"]["EventBusName"].as_str(), Some("EventBus"));
    let statement = &policy["Properties"]["Statement"];
    assert_eq!(
        [&statement["Effect"], &statement["Principal"], &statement["Action"], &statement["Resource"]].map(Yaml::as_str),
        [Some("Deny"), Some("*"), Some("events:PutEvents"), Some("EventBus.Arn")]
    );
    let condition = &statement["Condition"];
    assert_eq!(condition["ForAnyValue:StringEquals"]["events:source"].as_str(), Some(shared::bus::SOURCE));
    let exempt: BTreeSet<&str> =
        condition["ArnNotEquals"]["aws:PrincipalArn"].as_vec().into_iter().flatten().filter_map(Yaml::as_str).collect();
    let publishers: Vec<String> = PUBLISHERS.iter().map(|name| format!("{}FunctionRole.Arn", camel(name))).collect();
    assert_eq!(exempt, publishers.iter().map(String::as_str).collect(), "the publishers' roles, no other");
}

/// The deployment with every default is closed: the example subscriber (a queue nobody reads,
/// keeping followers' messages 14 days) is off, and the unauthenticated demo needs a second,
/// explicit parameter.
#[test]
fn defaults_keep_data_in_and_the_demo_mode_needs_consent() {
    let template = template();
    assert_eq!(template["Parameters"]["ExampleSubscriber"]["Default"].as_str(), Some("false"));
    let consent = &template["Parameters"]["AllowUnauthenticatedDemo"];
    assert_eq!(consent["Default"].as_str(), Some("no"));
    let rule = &template["Rules"]["DemoNeedsConsent"];
    assert_eq!(
        rule["RuleCondition"].as_vec().map(|v| v.iter().filter_map(Yaml::as_str).collect::<Vec<_>>()),
        Some(vec!["DashboardAuth", "unauthenticated-local-demo"]),
        "the rule applies to the demo mode"
    );
    let asserted = rule["Assertions"][0]["Assert"].as_vec().expect("an Equals");
    let yes = asserted[1].as_str().expect("the consent value");
    assert_eq!(asserted[0].as_str(), Some("AllowUnauthenticatedDemo"));
    let allowed: Vec<&str> = consent["AllowedValues"].as_vec().unwrap().iter().filter_map(Yaml::as_str).collect();
    assert_eq!(allowed, ["no", yes], "the default is not the consent");
}

/// The secrets each function is given in `template.yaml`: only what its code uses (`docs/deploy.md`'s
/// "Secrets" table). The push functions verify and decrypt with the Token and the key; the
/// functions that call WeChat's component APIs or sign states need the AppSecret; the others
/// get none, and the shared `Globals` none at all.
const SECRETS: [(&str, &[&str]); 13] = [
    ("ticket-receiver", &PUSH_SECRETS),
    ("event-callback", &PUSH_SECRETS),
    ("qr-url-issuer", &["COMPONENT_APPSECRET"]),
    ("auth-callback", &["COMPONENT_APPSECRET"]),
    ("authorizer-list", &[]),
    ("token-refresher", &["COMPONENT_APPSECRET"]),
    ("account-actions", &["COMPONENT_APPSECRET"]),
    ("follower-ledger", &[]),
    ("web-oauth", &["COMPONENT_APPSECRET"]),
    ("console", &[]),
    ("media-library", &["COMPONENT_APPSECRET"]),
    ("account-setup", &["COMPONENT_APPSECRET"]),
    ("publishing", &["COMPONENT_APPSECRET"]),
];
const PUSH_SECRETS: [&str; 4] =
    ["COMPONENT_APPSECRET", "COMPONENT_TOKEN", "COMPONENT_ENCODING_AES_KEY", "COMPONENT_ENCODING_AES_KEY_PREVIOUS"];

#[test]
fn each_function_is_given_only_the_secrets_it_uses() {
    let template = template();
    let secret = |name: &str| PUSH_SECRETS.contains(&name);
    let globals = template["Globals"]["Function"]["Environment"]["Variables"].as_hash().expect("Globals variables");
    let shared: Vec<&str> = globals.keys().filter_map(Yaml::as_str).filter(|k| secret(k)).collect();
    assert!(shared.is_empty(), "secrets in Globals reach every function: {shared:?}");
    assert_eq!(SECRETS.len(), Function::ALL.len(), "every function has a row");
    for (name, expected) in SECRETS {
        let resource = function_resource(&template, name);
        let given: BTreeSet<&str> = resource["Properties"]["Environment"]["Variables"]
            .as_hash()
            .map(|vars| vars.keys().filter_map(Yaml::as_str).filter(|k| secret(k)).collect())
            .unwrap_or_default();
        assert_eq!(given, expected.iter().copied().collect::<BTreeSet<_>>(), "{name}'s secrets");
    }
}

/// What a function without a secret does with a request that would need it: it fails closed,
/// saying why, and nothing leaves for WeChat.
#[tokio::test]
async fn a_function_without_a_secret_fails_closed() {
    use shared::config::Config;
    let only_public = |name: &str| !PUSH_SECRETS.contains(&name);
    let credentials: Vec<(String, String)> = wechat_standin::platform::test_credentials()
        .variables()
        .into_iter()
        .filter(|(k, _)| only_public(k))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let config = Config::from_lookup(|k| credentials.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("a configuration without any secret loads");
    assert!(!config.has_component_secret() && config.push_crypto().is_none());
    let app = shared::app::App::with_platform(
        config.clone(),
        shared::service::Platform::new(&config, shared::store::MemoryStore::new()).unwrap(),
    );
    // A push: 500, the reason in the log, nothing stored.
    let push = crate::support::SealedPush::new("<xml><ToUserName>gh_1</ToUserName></xml>", "", "1732000000", "1");
    let response = Function::TicketReceiver.handle(&app, push.request("/wechat/component/events")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(app.platform.store().writes(), 0);
    // The component token: WeChat's own answer for a wrong secret (40125), and no request left
    // (the base is a closed port: a request would be a transport error instead).
    let client =
        shared::wechat::WeChatClient::new("http://127.0.0.1:9", crate::support::appid(), shared::Secret::new(""))
            .unwrap();
    let err = client.component_token(&shared::Secret::new("ticket@@@x")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(40125), "{err}");
    assert_eq!(client.start_push_ticket().await.unwrap_err().errcode(), Some(40125));
    // States signed without the secret verify nowhere else.
    let unkeyed = shared::auth_state::StateSigner::new(&shared::Secret::new(""));
    let state = unkeyed.sign("alice", 4_102_444_800);
    assert!(shared::auth_state::StateSigner::new(&shared::Secret::new("")).verify(&state, 0).is_err());
}

/// Every function logs into a log group of its own with the template's retention (CloudWatch
/// keeps logs forever by default).
#[test]
fn every_function_logs_into_a_group_with_retention() {
    let template = template();
    assert_eq!(template["Parameters"]["LogRetentionDays"]["Default"].as_i64(), Some(90));
    for function in Function::ALL {
        let name = camel(function.name());
        let resource = &template["Resources"][format!("{name}Function").as_str()];
        // yaml-rust2 reads `!Ref X` as its scalar.
        let group = resource["Properties"]["LoggingConfig"]["LogGroup"].as_str();
        assert_eq!(group, Some(format!("{name}LogGroup").as_str()), "{function}'s log group");
        let log_group = &template["Resources"][format!("{name}LogGroup").as_str()];
        assert_eq!(log_group["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{function}");
        assert_eq!(log_group["Properties"]["RetentionInDays"].as_str(), Some("LogRetentionDays"), "{function}");
    }
}

/// The push functions stop when WeChat stops waiting (5 s); the API's access log has one line per
/// request and never the query string (it carries codes, states and tickets), kept like the
/// functions' logs.
#[test]
fn push_timeouts_and_access_logs() {
    let template = template();
    for name in ["TicketReceiverFunction", "EventCallbackFunction"] {
        assert_eq!(template["Resources"][name]["Properties"]["Timeout"].as_i64(), Some(5), "{name}");
    }
    let settings = &template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    assert_eq!(settings["DestinationArn"].as_str(), Some("HttpApiAccessLogGroup.Arn"));
    let format = settings["Format"].as_str().expect("an access log format");
    let fields: serde_json::Value = serde_json::from_str(format).expect("the format is JSON");
    assert!(fields["route"] == "$context.routeKey" && fields["status"] == "$context.status", "{format}");
    for leak in ["querystring", "queryString", "$request", "$input", "authorizer", "header"] {
        assert!(!format.contains(leak), "the access log must not carry {leak}: {format}");
    }
    let group = &template["Resources"]["HttpApiAccessLogGroup"];
    assert_eq!(group["Properties"]["RetentionInDays"].as_str(), Some("LogRetentionDays"));
}

/// The alarms the operations issue asks for exist, read the metrics the code writes (same
/// namespace, same names), and notify the optional topic.
#[test]
fn the_alarms_read_the_metrics_the_code_writes() {
    use shared::metrics::{Metric, NAMESPACE};
    let template = template();
    let alarms = alarms(&template);
    for metric in [
        Metric::VerifyTicketStored,
        Metric::ComponentTokenRefreshFailed,
        Metric::AuthorizerRefreshFailed,
        Metric::NeedsReauthorization,
        Metric::AccountQuotaSpent,
        Metric::AccountQuotaNear,
    ] {
        let watching: Vec<&str> = alarms
            .iter()
            .filter(|(_, p)| {
                p["Namespace"].as_str() == Some(NAMESPACE) && p["MetricName"].as_str() == Some(metric.name())
            })
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(watching.len(), 1, "one alarm on {}: {watching:?}", metric.name());
    }
    let no_ticket = &template["Resources"]["NoVerifyTicketAlarm"]["Properties"];
    assert_eq!(
        (no_ticket["Period"].as_i64(), no_ticket["EvaluationPeriods"].as_i64(), no_ticket["TreatMissingData"].as_str()),
        (Some(600), Some(3), Some("breaching")),
        "30 minutes without a ticket, silence included"
    );
    for name in ["PushRoutes5xxAlarm", "RefresherDurationAlarm"] {
        assert!(template["Resources"][name]["Type"].as_str() == Some("AWS::CloudWatch::Alarm"), "{name}");
    }
    // Errors and throttles of every function, one alarm each (generated by Fn::ForEach).
    for metric in ["Errors", "Throttles"] {
        let watched: BTreeSet<String> = alarms
            .iter()
            .filter(|(_, p)| p["Namespace"].as_str() == Some("AWS/Lambda") && p["MetricName"].as_str() == Some(metric))
            .filter(|(_, p)| p["Threshold"].as_i64() == Some(1) && p["Period"].as_i64() == Some(300))
            .filter_map(|(_, p)| p["Dimensions"][0]["Value"]["Ref"].as_str().map(str::to_owned))
            .collect();
        let every: BTreeSet<String> = Function::ALL.iter().map(|f| format!("{}Function", camel(f.name()))).collect();
        assert_eq!(watched, every, "{metric} of every function");
    }
    for (name, properties) in alarms {
        assert!(!properties["AlarmActions"].is_badvalue(), "{name} notifies AlarmTopicArn when given");
    }
}

/// The secrets and the refresh tokens are under the platform's customer-managed key: a principal
/// that may read function configurations or table items but may not `kms:Decrypt` it reads
/// neither. Each function holding a secret has its environment under the key and may decrypt it;
/// each function using the table may use the key through DynamoDB only; the others get nothing.
#[test]
fn secrets_and_the_table_are_under_the_platform_key() {
    let template = template();
    let resources = &template["Resources"];
    let key = &resources["PlatformKey"];
    assert_eq!(key["Type"].as_str(), Some("AWS::KMS::Key"));
    assert_eq!(key["DeletionPolicy"].as_str(), Some("Retain"), "the retained table needs its key");
    assert_eq!(key["Properties"]["EnableKeyRotation"].as_bool(), Some(true));
    // The default key policy: the account's IAM policies decide, no service or wildcard principal.
    let statements = key["Properties"]["KeyPolicy"]["Statement"].as_vec().expect("a key policy");
    assert_eq!(statements.len(), 1, "{statements:?}");
    let principal = statements[0]["Principal"]["AWS"].as_str().unwrap_or_default();
    assert!(principal.ends_with(":root"), "the account itself, not {principal:?}");

    let sse = &resources["TokenTable"]["Properties"]["SSESpecification"];
    assert_eq!((sse["SSEType"].as_str(), sse["KMSMasterKeyId"].as_str()), (Some("KMS"), Some("PlatformKey.Arn")));
    let through_dynamodb = &resources["PlatformKeyTablePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        through_dynamodb["Condition"]["StringEquals"]["kms:ViaService"].as_str(),
        Some("dynamodb.${AWS::Region}.amazonaws.com"),
        "the table policy uses the key through DynamoDB only"
    );
    assert!(template["Globals"]["Function"]["KmsKeyArn"].is_badvalue(), "per function, not for all");

    for (name, secrets) in SECRETS {
        let resource = function_resource(&template, name);
        let properties = &resource["Properties"];
        let policies: Vec<&Yaml> = properties["Policies"].as_vec().map(|p| p.iter().collect()).unwrap_or_default();
        let attached = |policy: &str| policies.iter().any(|p| p.as_str() == Some(policy));
        let uses_table = policy_statements(resource)
            .into_iter()
            .any(|s| statement_actions(s).iter().any(|a| a.starts_with("dynamodb:")));
        let holds_secrets = !secrets.is_empty();
        let encrypted = properties["KmsKeyArn"].as_str() == Some("PlatformKey.Arn");
        assert_eq!(encrypted, holds_secrets, "{name}: environment under the platform key iff it holds a secret");
        assert_eq!(attached("PlatformKeyEnvironmentPolicy"), holds_secrets, "{name}: may decrypt its environment");
        assert_eq!(
            attached("PlatformKeyTablePolicy"),
            uses_table,
            "{name}: the key through DynamoDB iff it uses the table"
        );
    }
}

/// The push-route 5xx alarm counts what its name says: its metric filter reads the access log's
/// `route` and `status` fields, names exactly WeChat's two push routes (the POST routes of the
/// push functions), matches only 5xx statuses, and the alarm reads the metric it writes.
#[test]
fn the_push_route_5xx_alarm_counts_the_push_routes() {
    let template = template();
    let resources = &template["Resources"];
    let filter = &resources["PushRoute5xxMetricFilter"]["Properties"];
    assert_eq!(filter["LogGroupName"].as_str(), Some("HttpApiAccessLogGroup"));
    let pattern = filter["FilterPattern"].as_str().expect("a filter pattern");
    let quoted = |field: &str| -> BTreeSet<String> {
        pattern
            .split(&format!("$.{field} = \""))
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
            .collect()
    };
    let push_routes: BTreeSet<String> = ROUTES
        .iter()
        .filter(|(method, _, f)| *method == "POST" && matches!(f, Function::TicketReceiver | Function::EventCallback))
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    assert_eq!(quoted("route"), push_routes, "{pattern}");
    let statuses = quoted("status");
    assert!(!statuses.is_empty() && statuses.iter().all(|s| s.len() == 3 && s.starts_with('5')), "{statuses:?}");
    // The fields it reads are the access log's route key and status.
    let format = resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"].as_str().unwrap();
    let fields: serde_json::Value = serde_json::from_str(format).unwrap();
    assert_eq!(
        (fields["route"].as_str(), fields["status"].as_str()),
        (Some("$context.routeKey"), Some("$context.status"))
    );
    let metric = &filter["MetricTransformations"][0];
    let alarm = &resources["PushRoutes5xxAlarm"]["Properties"];
    assert_eq!(
        (alarm["Namespace"].as_str(), alarm["MetricName"].as_str()),
        (metric["MetricNamespace"].as_str(), metric["MetricName"].as_str()),
        "the alarm reads the filter's metric"
    );
}

/// Nothing stored is lost quietly: every dead-letter queue the platform itself uses (a queue's
/// redrive target or a rule target's dead-letter config, outside the optional example) has an
/// alarm on its depth, so someone hears of a parked follower event within its 14 days.
#[test]
fn every_dead_letter_queue_has_an_alarm_on_its_depth() {
    let template = template();
    let resources = template["Resources"].as_hash().unwrap();
    let unconditional = |r: &Yaml| r["Condition"].is_badvalue();
    let mut dead_letter_queues = BTreeSet::new();
    for (_, resource) in resources.iter().filter(|(_, r)| unconditional(r)) {
        let properties = &resource["Properties"];
        if let Some(target) = properties["RedrivePolicy"]["deadLetterTargetArn"].as_str() {
            dead_letter_queues.insert(target.trim_end_matches(".Arn").to_owned());
        }
        for target in properties["Targets"].as_vec().into_iter().flatten() {
            if let Some(arn) = target["DeadLetterConfig"]["Arn"].as_str() {
                dead_letter_queues.insert(arn.trim_end_matches(".Arn").to_owned());
            }
        }
    }
    assert!(dead_letter_queues.contains("FollowerLedgerDeadLetterQueue"), "{dead_letter_queues:?}");
    let watched: BTreeSet<String> = alarms(&template)
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| {
            p["Namespace"].as_str() == Some("AWS/SQS")
                && p["MetricName"].as_str() == Some("ApproximateNumberOfMessagesVisible")
                && p["Threshold"].as_i64() == Some(1)
        })
        .filter_map(|p| p["Dimensions"][0]["Value"].as_str().map(|q| q.trim_end_matches(".QueueName").to_owned()))
        .collect();
    assert_eq!(watched, dead_letter_queues, "one depth alarm (threshold 1) per dead-letter queue");
}

/// Every per-identity limit the code enforces is one the API document names in its answers, and
/// the reverse (`Error.limit`, the `limit` of a 1021).
#[test]
fn the_api_document_names_every_limit() {
    let text = std::fs::read_to_string(root().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
    let document = YamlLoader::load_from_str(&text).expect("YAML").remove(0);
    let named: BTreeSet<&str> = document["components"]["schemas"]["Error"]["properties"]["limit"]["enum"]
        .as_vec()
        .expect("Error.limit's enum")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let enforced: BTreeSet<&str> = shared::service::LIMITS.iter().map(|limit| limit.name).collect();
    assert_eq!(named, enforced);
}
