//! WeChat API errors, classified for the decisions callers make.

use std::fmt;

/// What a caller should do about an [`ApiError`] (`docs/wechat.md`, "Component APIs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 40001, 40014, 42001: the access token is invalid, not the latest, or expired: refresh it
    /// (only if it is still the stored one) and retry once.
    TokenInvalid,
    /// -1: system busy: retry with backoff, bounded.
    SystemBusy,
    /// 45009: daily quota reached: stop calling, alert.
    Quota,
    /// 61005, 61006: the verify ticket is expired or invalid: wait for the next push or call
    /// `api_start_push_ticket`.
    TicketInvalid,
    /// 61023: the authorizer refresh token is invalid: recover via `api_get_authorizer_list`,
    /// else the admin must authorize again.
    RefreshTokenInvalid,
    /// 61009, 61010: the authorization code is invalid, used or expired: restart authorization.
    AuthCodeInvalid,
    /// 61004: our egress IP is not in the platform's whitelist (白名单IP地址列表).
    IpNotWhitelisted,
    /// 40013, 40125, 41004, 61011: appid or secret misconfigured.
    Config,
    /// 61003: the account no longer authorizes the platform.
    NotAuthorized,
    /// 45015: custom message outside the 48-hour window.
    OutOfWindow,
    /// Any other non-zero errcode.
    Other,
    /// HTTP 5xx from WeChat.
    Http5xx,
    /// No answer: connect error, timeout, dropped connection.
    Transport,
    /// A 200 answer that is not the JSON we expect.
    Decode,
}

impl ErrorKind {
    /// Worth one more try inside the same request (WeChat's own hiccups).
    pub fn is_transient(self) -> bool {
        matches!(self, Self::SystemBusy | Self::Http5xx | Self::Transport)
    }
}

/// A failed WeChat API call. Carries the call name and WeChat's `errcode`/`errmsg`; never a
/// token, secret or request URL (those carry tokens in their query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// WeChat answered `{"errcode": N, "errmsg": "…"}` with N ≠ 0.
    WeChat {
        /// The API called, e.g. `api_query_auth`.
        call: &'static str,
        /// `errcode`.
        errcode: i64,
        /// `errmsg` (with WeChat's ` rid: …` suffix).
        errmsg: String,
    },
    /// A non-2xx HTTP status.
    Http {
        /// The API called.
        call: &'static str,
        /// The status.
        status: u16,
    },
    /// No usable answer: connect error, timeout, dropped connection.
    Transport {
        /// The API called.
        call: &'static str,
        /// Whether it timed out.
        timeout: bool,
        /// reqwest's message, without the URL.
        message: String,
    },
    /// The answer was not the JSON we expect.
    Decode {
        /// The API called.
        call: &'static str,
        /// What did not parse.
        message: String,
    },
}

impl ApiError {
    /// WeChat's refusal of an earlier request, given again (an idempotent replay).
    pub fn replayed(call: &'static str, errcode: i64) -> Self {
        Self::WeChat { call, errcode, errmsg: "(the first request's answer, replayed)".to_owned() }
    }

    /// The API this error came from.
    pub fn call(&self) -> &'static str {
        match self {
            Self::WeChat { call, .. }
            | Self::Http { call, .. }
            | Self::Transport { call, .. }
            | Self::Decode { call, .. } => call,
        }
    }

    /// WeChat's `errcode`, when WeChat sent one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::WeChat { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// What to do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::WeChat { errcode, .. } => match errcode {
                40001 | 40014 | 42001 => ErrorKind::TokenInvalid,
                -1 => ErrorKind::SystemBusy,
                45009 => ErrorKind::Quota,
                61005 | 61006 => ErrorKind::TicketInvalid,
                61023 => ErrorKind::RefreshTokenInvalid,
                61009 | 61010 => ErrorKind::AuthCodeInvalid,
                61004 => ErrorKind::IpNotWhitelisted,
                40013 | 40125 | 41004 | 61011 => ErrorKind::Config,
                61003 => ErrorKind::NotAuthorized,
                45015 => ErrorKind::OutOfWindow,
                _ => ErrorKind::Other,
            },
            Self::Http { status, .. } if *status >= 500 => ErrorKind::Http5xx,
            Self::Http { .. } => ErrorKind::Other,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Decode { .. } => ErrorKind::Decode,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WeChat { call, errcode, errmsg } => write!(f, "{call}: errcode {errcode} ({errmsg})"),
            Self::Http { call, status } => write!(f, "{call}: HTTP {status}"),
            Self::Transport { call, timeout: true, .. } => write!(f, "{call}: timed out"),
            Self::Transport { call, message, .. } => write!(f, "{call}: {message}"),
            Self::Decode { call, message } => write!(f, "{call}: unexpected answer: {message}"),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_errcode_is_classified() {
        let kind = |errcode| ApiError::WeChat { call: "x", errcode, errmsg: String::new() }.kind();
        for (codes, expected) in [
            (&[40001, 40014, 42001][..], ErrorKind::TokenInvalid),
            (&[-1], ErrorKind::SystemBusy),
            (&[45009], ErrorKind::Quota),
            (&[61005, 61006], ErrorKind::TicketInvalid),
            (&[61023], ErrorKind::RefreshTokenInvalid),
            (&[61009, 61010], ErrorKind::AuthCodeInvalid),
            (&[61004], ErrorKind::IpNotWhitelisted),
            (&[40013, 40125], ErrorKind::Config),
            (&[48001], ErrorKind::Other),
        ] {
            for code in codes {
                assert_eq!(kind(*code), expected, "{code}");
            }
        }
        assert_eq!(ApiError::Http { call: "x", status: 502 }.kind(), ErrorKind::Http5xx);
        assert!(ErrorKind::Http5xx.is_transient() && ErrorKind::SystemBusy.is_transient());
        assert!(!ErrorKind::AuthCodeInvalid.is_transient());
    }
}
