//! Time as the platform counts it. A module of its own, below everything else, because every
//! layer stamps things (the store's records, signed states, the WeChat client's token expiry)
//! and none of them should import another layer for an integer type.

use std::sync::Arc;

/// Unix time in seconds.
pub type Timestamp = i64;

/// Clock used by the services, in Unix **milliseconds** (refresh tokens are ordered by when
/// WeChat's answer arrived, finer than seconds); tests inject one that can be advanced.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock, Unix milliseconds.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Days since the epoch in China Standard Time (UTC+8), as WeChat and the accounts' admins count
/// days (WeChat's daily quotas turn at its midnight).
pub fn china_day(at: Timestamp) -> i64 {
    (at + 8 * 3600).div_euclid(86_400)
}

/// The civil date (year, month, day) of a day counted from the epoch (Howard Hinnant's
/// `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
pub fn civil_date(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::{china_day, civil_date};

    #[test]
    fn days_turn_at_china_midnight_and_read_as_dates() {
        // 2026-12-05 16:00 UTC is 2026-12-06 00:00 in Beijing.
        assert_eq!(china_day(1_796_486_400) - china_day(1_796_486_399), 1);
        assert_eq!(civil_date(china_day(1_796_486_400)), (2026, 12, 6));
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
    }
}
