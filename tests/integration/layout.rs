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

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    YamlLoader::load_from_str(&text).expect("template.yaml is YAML").remove(0)
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
        let resource = &template["Resources"][format!("{}Function", camel(function.name())).as_str()];
        let statements: Vec<&Yaml> = resource["Properties"]["Policies"]
            .as_vec()
            .map(|policies| policies.iter().flat_map(|p| p["Statement"].as_vec().into_iter().flatten()).collect())
            .unwrap_or_default();
        let actions = |statement: &Yaml| -> Vec<String> {
            match &statement["Action"] {
                Yaml::String(one) => vec![one.clone()],
                Yaml::Array(many) => many.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            }
        };
        let puts: Vec<&&Yaml> =
            statements.iter().filter(|s| actions(s).iter().any(|a| a.starts_with("events:"))).collect();
        let bus_env = resource["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"].as_str();
        if PUBLISHERS.contains(&function.name()) {
            assert_eq!(puts.len(), 1, "{function}: one events statement");
            assert_eq!(actions(puts[0]), ["events:PutEvents"], "{function}: PutEvents only");
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
    // Nothing else in the template may publish either.
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert_eq!(text.matches("events:PutEvents").count(), PUBLISHERS.len(), "PutEvents granted elsewhere");
}
