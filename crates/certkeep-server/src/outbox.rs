//! What the webhook and e-mail outboxes share: their pace (leases, doubling retries, rounds),
//! the loop that drains them, and errors worth recording.

use std::{future::Future, time::Duration};

use certkeep_core::StoreError;
use time::OffsetDateTime;

/// How an outbox is drained: leased in rounds, attempted, and retried with doubling waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The wait after a first failed attempt; each further failure doubles it.
    pub first_retry: Duration,
    /// The longest wait between attempts.
    pub max_retry: Duration,
    /// How often the outbox is looked at when it had nothing due.
    pub poll: Duration,
    /// How long a process holds what it leased before another may take it.
    pub lease: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How many items one round leases.
    pub batch: u32,
}

impl Default for Pace {
    /// Retries from 30 seconds up to an hour, a one-second poll, rounds of 64 leased for a
    /// minute (under a backlog, fewer rounds cost the one SQLite writer less), attempts of at
    /// most ten seconds.
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            batch: 64,
        }
    }
}

impl Pace {
    /// The wait before the attempt after `attempts` failed ones: the first retry's, doubled
    /// with each further failure, never more than the longest.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.first_retry.saturating_mul(1 << doublings).min(self.max_retry)
    }
}

/// Runs `round` (which leases, attempts and records up to a batch, and says how many it
/// leased) until the process ends: again at once after a full batch, after a poll otherwise.
pub async fn drain_forever<F>(pace: Pace, outbox: &str, mut round: impl FnMut() -> F)
where
    F: Future<Output = Result<usize, StoreError>>,
{
    loop {
        match round().await {
            Ok(n) if n == pace.batch as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, outbox, "cannot lease from the outbox"),
        }
        tokio::time::sleep(pace.poll).await;
    }
}

/// The wall clock in milliseconds: leases and retries follow real time, whatever the
/// server's (possibly frozen) clock says.
pub fn wall_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The wall-clock milliseconds `wait` from now.
pub fn ms_after(wait: Duration) -> i64 {
    wall_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
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
        let pace = Pace::default();
        let waits: Vec<u64> = (1..=9).map(|n| pace.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(pace.backoff(0).as_secs(), 30);
        assert_eq!(pace.backoff(u32::MAX).as_secs(), 3600);
    }
}
