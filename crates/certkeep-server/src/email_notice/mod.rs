//! Expiry notices by e-mail through an SMTP relay. The notice sweep queues one notice per
//! certificate and window in the store's notice record (its `email` rows are the outbox);
//! [`send_forever`] leases due notices from the database (so replicas never send one at the
//! same time, and a crashed process's lease is taken over when it runs out), hands each to the
//! relay, marks it sent when the relay accepts it, and otherwise retries it with doubling
//! waits. A notice is sent once, unless a process dies between the relay's acceptance and
//! recording it (then it is sent again after the lease).

mod message;

use std::{sync::Arc, time::Duration};

use certkeep_core::{
    Id, StoreError,
    notice::DIGICERT_WINDOWS,
    store::{Attempt, EmailNotice},
};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::OffsetDateTime;

pub use lettre::message::Mailbox;

use crate::{
    AppState,
    outbox::{self, Pace, error_chain, wall_ms},
};

/// Where e-mail notices go out, from whom, at which windows, and how they are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// The SMTP relay's host name or address (plain SMTP, no authentication).
    pub relay_host: String,
    /// Its port.
    pub relay_port: u16,
    /// The notices' `From`.
    pub from: Mailbox,
    /// Days to expiry at which a certificate is noticed (see [`certkeep_core::notice::window`]).
    pub windows: Vec<i64>,
    /// How the outbox is drained (an attempt is one conversation with the relay).
    pub pace: Pace,
}

impl EmailSettings {
    /// Notices at DigiCert's windows through `relay_host:relay_port` from `from`, retried from
    /// 30 seconds up to an hour, 16 at a time (a relay is not a web server), leased for two
    /// minutes, each conversation at most 30 seconds.
    pub fn new(relay_host: String, relay_port: u16, from: Mailbox) -> Self {
        let pace = Pace {
            lease: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
            batch: 16,
            ..Pace::default()
        };
        Self { relay_host, relay_port, from, windows: DIGICERT_WINDOWS.to_vec(), pace }
    }
}

/// Parses a notice sender: `notices@example.com` or `certkeep <notices@example.com>`.
pub fn mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse().map_err(|e| format!("{s:?} is not an e-mail address: {e}"))
}

/// The relay client and its settings.
pub struct EmailNotices {
    relay: AsyncSmtpTransport<Tokio1Executor>,
    settings: EmailSettings,
}

impl std::fmt::Debug for EmailNotices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotices").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl EmailNotices {
    /// A client of the relay the settings name (connected per round, not now).
    pub fn new(settings: EmailSettings) -> Self {
        let relay = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.relay_host.clone())
            .port(settings.relay_port)
            .timeout(Some(settings.pace.timeout))
            .build();
        Self { relay, settings }
    }

    /// The settings.
    pub fn settings(&self) -> &EmailSettings {
        &self.settings
    }

    /// Writes notice `n` as of `now` and hands it to the relay; `Err` says why it was not
    /// accepted.
    async fn send(&self, n: &EmailNotice, public_url: &str, now: OffsetDateTime) -> Result<(), String> {
        let message = message::build(n, &self.settings.from, public_url, now)?;
        self.relay.send(message).await.map(drop).map_err(|e| error_chain(&e))
    }
}

/// Sends due notices until the process ends; returns at once without a relay.
pub async fn send_forever(state: AppState) {
    let Some(email) = state.email.clone() else { return };
    outbox::drain_forever(email.settings.pace, "e-mail", || send_due(&state)).await;
}

/// Leases the due notices, makes one attempt at each, concurrently, and records how they
/// ended in one store call; returns how many.
pub async fn send_due(state: &AppState) -> Result<usize, StoreError> {
    let Some(email) = state.email.clone() else { return Ok(0) };
    let pace = email.settings.pace;
    let (now, lease_until) = (wall_ms(), outbox::ms_after(pace.lease));
    let due = state.store(move |s| s.claim_email_notices(now, lease_until, pace.batch)).await?;
    let count = due.len();
    let mut attempts = tokio::task::JoinSet::new();
    for notice in due {
        attempts.spawn(attempt(state.clone(), email.clone(), notice));
    }
    let mut ended = Vec::with_capacity(count);
    while let Some(outcome) = attempts.join_next().await {
        ended.extend(outcome.ok());
    }
    if let Err(e) = state.store(move |s| s.record_email_attempts(&ended)).await {
        // The leases run out and the notices are attempted again.
        tracing::warn!(error = %e, "cannot record e-mail notice attempts");
    }
    Ok(count)
}

/// One attempt at one leased notice.
async fn attempt(state: AppState, email: Arc<EmailNotices>, n: EmailNotice) -> ((Id, i64), Attempt) {
    let result = email.send(&n, &state.public_url, state.clock.now()).await;
    state.metrics.email_notice(result.is_ok());
    let (certificate, window) = (n.certificate_id, n.window_days);
    let ended = match result {
        Ok(()) => Attempt::Delivered(OffsetDateTime::now_utc()),
        Err(error) => {
            let wait = email.settings.pace.backoff(n.attempts);
            tracing::warn!(certificate, window, attempts = n.attempts, %error, retry_in = ?wait, "e-mail notice failed");
            Attempt::Failed { error, retry_at_ms: outbox::ms_after(wait) }
        }
    };
    ((certificate, window), ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_first_wait_up_to_an_hour() {
        let s = EmailSettings::new("127.0.0.1".into(), 25, mailbox("n@certkeep.test").unwrap());
        assert_eq!(s.windows, [90, 60, 30, 7, 0, -7]);
        let waits: Vec<u64> = (1..=4).map(|n| s.pace.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240]);
        assert_eq!(s.pace.backoff(20), Duration::from_secs(3600));
    }

    #[test]
    fn senders_are_addresses_with_an_optional_name() {
        assert_eq!(mailbox("certkeep <n@certkeep.test>").unwrap().email.to_string(), "n@certkeep.test");
        assert!(mailbox("nobody").unwrap_err().contains("\"nobody\" is not an e-mail address"));
    }
}
