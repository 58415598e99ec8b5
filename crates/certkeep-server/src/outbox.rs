//! What the webhook and e-mail outboxes share: wall-clock leases, doubling retries and errors
//! worth recording.

use std::time::Duration;

use time::OffsetDateTime;

/// The wall clock in milliseconds: leases and retries follow real time, whatever the
/// server's (possibly frozen) clock says.
pub fn wall_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The wall-clock milliseconds `wait` from now.
pub fn ms_after(wait: Duration) -> i64 {
    wall_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

/// The wait before the attempt after `attempts` failed ones: `first`, doubled with each further
/// failure, never more than `max`.
pub fn backoff(first: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    first.saturating_mul(1 << doublings).min(max)
}

/// An error with its causes (client libraries' own messages often say only "error sending
/// request").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_longest_wait() {
        let (first, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let waits: Vec<u64> = (1..=9).map(|n| backoff(first, max, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(first, max, 0).as_secs(), 30);
        assert_eq!(backoff(first, max, u32::MAX).as_secs(), 3600);
    }
}
