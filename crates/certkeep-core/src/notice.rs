//! Expiry notices: at which days before (and after) a certificate's expiry its account is told.
//!
//! A notice window is a number of days to expiry (DigiCert's 90, 60, 30, 7, 0 and -7). A
//! certificate is in the most urgent window its days to expiry reached; it is noticed once per
//! window and channel (the store keeps a record of each), so a sweep that finds it in the same
//! window again sends nothing, and windows passed while no sweep ran are not sent late.

use time::{Duration, OffsetDateTime};

/// DigiCert's renewal notice days, the default of `webhook_notification_frequency` and of the
/// e-mail notices.
pub const DIGICERT_WINDOWS: [i64; 6] = [90, 60, 30, 7, 0, -7];

/// How many days past the lowest window a certificate is still noticed in it: one that expired
/// long before (an imported certificate, a server down for weeks) is not.
pub const LATE_DAYS: i64 = 7;

/// Where a notice goes; the store records each notice per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The account's webhook (`certificate_expiring`).
    Webhook,
    /// E-mail to the order's contacts through the SMTP relay.
    Email,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }
}

/// Whole days from `now` to `valid_till`, rounded down: 29.5 days left is 29, half a day
/// after expiry is -1.
pub fn days_to_expiry(valid_till: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (valid_till - now).whole_seconds().div_euclid(86_400)
}

/// The window a certificate `days` from expiry is in: the smallest of `windows` that `days`
/// reached, or `None` before the first and more than [`LATE_DAYS`] past the last.
pub fn window(days: i64, windows: &[i64]) -> Option<i64> {
    let lowest = windows.iter().copied().min()?;
    if days < lowest - LATE_DAYS {
        return None;
    }
    windows.iter().copied().filter(|&w| days <= w).min()
}

/// The range of expiry instants `[from, to)` that fall in one of `windows` at `now` (a
/// certificate expiring outside it is in none); `None` without windows.
pub fn horizon(windows: &[i64], now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (lowest, highest) = (windows.iter().copied().min()?, windows.iter().copied().max()?);
    Some((now + Duration::days(lowest - LATE_DAYS), now + Duration::days(highest + 1)))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    #[test]
    fn days_to_expiry_round_down_also_after_expiry() {
        assert_eq!(days_to_expiry(NOW + Duration::days(30), NOW), 30);
        assert_eq!(days_to_expiry(NOW + Duration::hours(30 * 24 - 1), NOW), 29);
        assert_eq!(days_to_expiry(NOW + Duration::hours(1), NOW), 0);
        assert_eq!(days_to_expiry(NOW - Duration::hours(1), NOW), -1);
        assert_eq!(days_to_expiry(NOW - Duration::days(7), NOW), -7);
    }

    #[test]
    fn a_certificate_is_in_the_most_urgent_window_it_reached() {
        let w = DIGICERT_WINDOWS;
        assert_eq!(window(91, &w), None, "before the first window");
        assert_eq!(window(90, &w), Some(90));
        assert_eq!(window(61, &w), Some(90));
        assert_eq!(window(60, &w), Some(60));
        assert_eq!(window(31, &w), Some(60));
        assert_eq!(window(30, &w), Some(30));
        assert_eq!(window(8, &w), Some(30));
        assert_eq!(window(7, &w), Some(7));
        assert_eq!(window(1, &w), Some(7));
        assert_eq!(window(0, &w), Some(0));
        assert_eq!(window(-1, &w), Some(0), "expired, not yet a week ago");
        assert_eq!(window(-6, &w), Some(0));
        assert_eq!(window(-7, &w), Some(-7), "a week after expiry");
        assert_eq!(window(-14, &w), Some(-7));
        assert_eq!(window(-15, &w), None, "long expired");
        assert_eq!(window(5, &[]), None);
        assert_eq!(window(20, &[7, 30]), Some(30), "in any order");
    }

    #[test]
    fn the_horizon_spans_every_certificate_in_a_window() {
        let (from, to) = horizon(&DIGICERT_WINDOWS, NOW).unwrap();
        assert_eq!((from, to), (NOW - Duration::days(14), NOW + Duration::days(91)));
        assert_eq!(window(days_to_expiry(to, NOW), &DIGICERT_WINDOWS), None);
        assert_eq!(window(days_to_expiry(from, NOW), &DIGICERT_WINDOWS), Some(-7));
        assert!(horizon(&[], NOW).is_none());
    }
}
