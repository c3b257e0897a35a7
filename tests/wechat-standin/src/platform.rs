//! `tests/platform.json`: the platform's function list and the test-only credentials, read by
//! every test and script so that each is written once.

use std::sync::OnceLock;

/// The platform's test-only credentials (never a real account's).
#[derive(Debug, Clone)]
pub struct TestCredentials {
    /// `COMPONENT_APPID`.
    pub appid: String,
    /// `COMPONENT_APPSECRET`.
    pub secret: String,
    /// `COMPONENT_TOKEN`.
    pub token: String,
    /// `COMPONENT_ENCODING_AES_KEY`.
    pub encoding_aes_key: String,
}

/// One function of the platform.
#[derive(Debug, Clone)]
pub struct FunctionEntry {
    /// Its one name: folder, package, binary, `events/` folder; `<Name>Function` in SAM.
    pub name: String,
    /// `http` or `schedule`.
    pub trigger: String,
    /// The `events/<name>/` file the cold-start benchmark sends, if any.
    pub cold_start_event: Option<String>,
}

struct Manifest {
    credentials: TestCredentials,
    functions: Vec<FunctionEntry>,
}

fn manifest() -> &'static Manifest {
    static MANIFEST: OnceLock<Manifest> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../platform.json")).expect("tests/platform.json is JSON");
        let text = |v: &serde_json::Value, name: &str| {
            v[name].as_str().unwrap_or_else(|| panic!("tests/platform.json: `{name}` is missing")).to_owned()
        };
        let credentials = &json["test_credentials"];
        Manifest {
            credentials: TestCredentials {
                appid: text(credentials, "COMPONENT_APPID"),
                secret: text(credentials, "COMPONENT_APPSECRET"),
                token: text(credentials, "COMPONENT_TOKEN"),
                encoding_aes_key: text(credentials, "COMPONENT_ENCODING_AES_KEY"),
            },
            functions: json["functions"]
                .as_array()
                .expect("tests/platform.json: `functions` is a list")
                .iter()
                .map(|f| FunctionEntry {
                    name: text(f, "name"),
                    trigger: text(f, "trigger"),
                    cold_start_event: f["cold_start_event"].as_str().map(str::to_owned),
                })
                .collect(),
        }
    })
}

/// The test-only credentials.
pub fn test_credentials() -> &'static TestCredentials {
    &manifest().credentials
}

/// Every function, in the manifest's order.
pub fn functions() -> &'static [FunctionEntry] {
    &manifest().functions
}

impl TestCredentials {
    /// The stand-in configured for these credentials.
    pub fn standin_config(&self) -> crate::Config {
        crate::Config::new(&self.appid, &self.secret, &self.token, &self.encoding_aes_key)
    }

    /// The platform's configuration variables for these credentials (`TABLE_NAME` and the local
    /// demo's `DASHBOARD_AUTH` included).
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("COMPONENT_APPID", self.appid.clone()),
            ("COMPONENT_APPSECRET", self.secret.clone()),
            ("COMPONENT_TOKEN", self.token.clone()),
            ("COMPONENT_ENCODING_AES_KEY", self.encoding_aes_key.clone()),
            ("TABLE_NAME", "unused".to_owned()),
            // Tests and local runs have no identity provider: the one demo user.
            ("DASHBOARD_AUTH", "unauthenticated-local-demo".to_owned()),
        ]
    }
}
