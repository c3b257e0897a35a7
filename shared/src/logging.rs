//! The functions' log subscriber: Lambda's logging controls, without a regex engine.
//!
//! `lambda_http::tracing::init_default_subscriber` filters with tracing-subscriber's `EnvFilter`,
//! which links two regex crates (about 0.3 MB of every binary) for directive syntax this platform
//! never needs. [`init`] keeps what users rely on — `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced
//! logging controls) over `RUST_LOG` over `INFO`, per-target directives such as
//! `RUST_LOG=shared=debug,warn`, and `AWS_LAMBDA_LOG_FORMAT=JSON` — on the plain prefix matcher
//! ([`Targets`]). It also writes without ANSI colour codes: CloudWatch shows them as garbage.

use std::str::FromStr;

use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Libraries that write what passes through them at `DEBUG`/`TRACE`: `lambda_runtime` and its API
/// client log every raw event (authorization codes, states, the dashboard's bearer tokens), the
/// HTTP stacks log URLs and headers (WeChat's tokens ride in query strings), the AWS SDK logs
/// request and response bodies (stored tokens). They are held at `INFO` whatever the configured
/// level: debugging the platform never needs their secrets.
const CAPPED_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "aws_sdk_eventbridge",
];

/// `filter` with every [`CAPPED_TARGETS`] entry at most `INFO` (and never louder than the
/// filter already allows it).
fn capped(filter: Targets) -> Targets {
    use tracing::Level;
    let mut out = filter.clone();
    for target in CAPPED_TARGETS {
        let level = [Level::INFO, Level::WARN, Level::ERROR]
            .into_iter()
            .find(|level| filter.would_enable(target, level))
            .map_or(LevelFilter::OFF, LevelFilter::from_level);
        out = out.with_target(*target, level);
    }
    out
}

/// What the environment asks of the log output.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Which events are written.
    pub filter: Targets,
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`) instead of text.
    pub json: bool,
    /// A setting that could not be used, said once the subscriber is up.
    pub warning: Option<String>,
}

impl LogSettings {
    /// Reads `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG` and `AWS_LAMBDA_LOG_FORMAT` through `var`. A value
    /// that does not parse falls back to `INFO` with a warning rather than failing the cold start.
    pub fn read(var: impl Fn(&str) -> Option<String>) -> Self {
        let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
        let info = || Targets::new().with_default(LevelFilter::INFO);
        let (filter, warning) = if let Some(level) = var("AWS_LAMBDA_LOG_LEVEL").filter(|v| !v.is_empty()) {
            // Lambda's levels are TRACE … ERROR plus FATAL, which tracing calls ERROR.
            let parsed = if level.eq_ignore_ascii_case("fatal") { Ok(LevelFilter::ERROR) } else { level.parse() };
            match parsed {
                Ok(level) => (Targets::new().with_default(level), None),
                Err(_) => (info(), Some(format!("AWS_LAMBDA_LOG_LEVEL={level:?} is not a level; logging at INFO"))),
            }
        } else if let Some(directives) = var("RUST_LOG").filter(|v| !v.is_empty()) {
            match Targets::from_str(&directives) {
                // Directives for some targets leave the others at INFO, as EnvFilter's default does.
                Ok(targets) if targets.default_level().is_none() => (targets.with_default(LevelFilter::INFO), None),
                Ok(targets) => (targets, None),
                Err(_) => (
                    info(),
                    Some(format!("RUST_LOG={directives:?} is not `level` or `target=level,…`; logging at INFO")),
                ),
            }
        } else {
            (info(), None)
        };
        Self { filter: capped(filter), json, warning }
    }

    /// The subscriber these settings describe, writing to `writer`.
    pub fn subscriber<W>(&self, writer: W) -> Box<dyn Subscriber + Send + Sync>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        // No target (the message says what happened) and no time (Lambda stamps every line). The
        // builder's own level (INFO unless told) would cut below the filter, so it lets all through.
        let format = tracing_subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .with_writer(writer);
        if self.json {
            Box::new(format.json().finish().with(self.filter.clone()))
        } else {
            Box::new(format.finish().with(self.filter.clone()))
        }
    }
}

/// Installs the subscriber for this process, writing to stdout (Lambda sends it to CloudWatch).
/// A second call changes nothing.
pub fn init() {
    let settings = LogSettings::read(|name| std::env::var(name).ok());
    if tracing::subscriber::set_global_default(settings.subscriber(std::io::stdout)).is_ok()
        && let Some(warning) = &settings.warning
    {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing::Level;

    fn settings(vars: &[(&str, &str)]) -> LogSettings {
        LogSettings::read(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    fn enabled(settings: &LogSettings, target: &str) -> Vec<Level> {
        [Level::TRACE, Level::DEBUG, Level::INFO, Level::WARN, Level::ERROR]
            .into_iter()
            .filter(|level| settings.filter.would_enable(target, level))
            .collect()
    }

    #[test]
    fn lambda_log_level_over_rust_log_over_info() {
        let from_info = [Level::INFO, Level::WARN, Level::ERROR];
        assert_eq!(enabled(&settings(&[]), "shared::service"), from_info);
        assert_eq!(enabled(&settings(&[("RUST_LOG", "")]), "shared::service"), from_info);
        assert_eq!(enabled(&settings(&[("RUST_LOG", "debug")]), "shared")[0], Level::DEBUG);
        let both = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "trace")]);
        assert_eq!(enabled(&both, "shared"), [Level::WARN, Level::ERROR]);
        assert_eq!(enabled(&settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]), "shared"), [Level::ERROR]);
        assert!(enabled(&settings(&[("RUST_LOG", "off")]), "shared").is_empty());
    }

    #[test]
    fn per_target_directives_leave_the_rest_at_info() {
        let s = settings(&[("RUST_LOG", "shared::store=debug")]);
        assert_eq!(enabled(&s, "shared::store::dynamodb")[0], Level::DEBUG);
        assert_eq!(enabled(&s, "hyper_util::client")[0], Level::INFO);
        let s = settings(&[("RUST_LOG", "shared=trace,warn")]);
        assert_eq!(enabled(&s, "shared::service")[0], Level::TRACE);
        assert_eq!(enabled(&s, "aws_smithy_runtime")[0], Level::WARN);
        assert_eq!(s.warning, None);
    }

    #[test]
    fn libraries_that_log_raw_events_and_bodies_stay_at_info_whatever_the_level() {
        for vars in [
            vec![("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
            vec![("RUST_LOG", "trace")],
            vec![("RUST_LOG", "lambda_runtime=trace,aws_smithy_runtime=debug,reqwest=trace")],
        ] {
            let s = settings(&vars);
            for target in [
                "lambda_runtime",
                "lambda_runtime::layers::trace",
                "lambda_runtime_api_client",
                "reqwest::connect",
                "aws_smithy_runtime::client::orchestrator",
                "hyper_util::client",
            ] {
                assert_eq!(enabled(&s, target)[0], Level::INFO, "{vars:?}: {target}");
            }
            if vars[0].1 != "lambda_runtime=trace,aws_smithy_runtime=debug,reqwest=trace" {
                assert_eq!(enabled(&s, "shared::service")[0], Level::TRACE, "{vars:?}: our own code still traces");
            }
        }
        // Quieter settings stay quieter.
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR")]);
        assert_eq!(enabled(&s, "lambda_runtime"), [Level::ERROR]);
        // Through a real subscriber: a raw event logged by the runtime at TRACE is not written.
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = settings(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]).subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "lambda_runtime", body = "queryauthcode@@@SECRET", "raw event");
            tracing::trace!(target: "shared::service", "our own trace");
        });
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("SECRET") && text.contains("our own trace"), "{text}");
    }

    #[test]
    fn unusable_settings_log_at_info_and_say_so() {
        for vars in
            [[("AWS_LAMBDA_LOG_LEVEL", "LOUD")], [("RUST_LOG", "shared[span{id=1}]=debug")], [("RUST_LOG", "=debug=x")]]
        {
            let s = settings(&vars);
            assert_eq!(enabled(&s, "shared"), [Level::INFO, Level::WARN, Level::ERROR], "{vars:?}");
            let warning = s.warning.unwrap_or_default();
            assert!(warning.contains(vars[0].0) && warning.contains("INFO"), "{warning}");
        }
    }

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn output(vars: &[(&str, &str)]) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = settings(vars).subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(appid = "wx1", "ticket stored");
            tracing::debug!("not shown at INFO");
        });
        String::from_utf8(capture.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn text_lines_carry_level_message_and_fields_without_colour_codes() {
        let text = output(&[]);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("INFO") && text.contains("ticket stored") && text.contains("appid=\"wx1\""), "{text}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn json_format_writes_one_object_per_line() {
        let text = output(&[("AWS_LAMBDA_LOG_FORMAT", "json"), ("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
        let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["fields"]["message"], "ticket stored");
        assert_eq!(lines[0]["fields"]["appid"], "wx1");
        assert_eq!(lines[1]["level"], "DEBUG");
    }
}
