//! Secrets that must never reach a log line.

use std::fmt;

/// A string that is a credential: a verify ticket, an authorization code, a token, an app secret.
///
/// `Debug` and `Display` print `Secret(***)` so that `?value` and `{value}` in a log line stay
/// safe; the value itself is only reachable through [`Secret::expose`], which makes every place
/// that handles the raw credential easy to find.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw credential, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Unwraps the credential.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// True when the credential is the empty string (WeChat never issues one).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// `N` random bytes from the OS. On the (theoretical) failure of the OS RNG, the time and the
/// process id stand in: every caller needs uniqueness (lease holders, state nonces), and none
/// relies on these bytes for secrecy (a state is protected by its MAC).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let fallback = (nanos ^ u128::from(std::process::id())).to_be_bytes();
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = fallback[i % fallback.len()];
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("ticket@@@very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "ticket@@@very-secret");
    }
}
