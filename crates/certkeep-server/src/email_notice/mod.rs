//! Expiry notices by e-mail through an SMTP relay. The notice sweep queues one notice per
//! certificate and window in the store's notice record (its `email` rows are the outbox);
//! [`send_forever`] leases due notices from the database (so replicas never send one at the
//! same time, and a crashed process's lease is taken over when it runs out), hands each to the
//! relay, marks it sent when the relay accepts it, and otherwise retries it with doubling
//! waits. A notice is sent once, unless a process dies between the relay's acceptance and
//! recording it (then it is sent again after the lease).

mod message;

use std::{sync::Arc, time::Duration};

use certkeep_core::{StoreError, notice::DIGICERT_WINDOWS, store::EmailNotice};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::OffsetDateTime;

pub use lettre::message::Mailbox;

use crate::{
    AppState,
    outbox::{self, error_chain, wall_ms},
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
    /// The wait after a first failed attempt; each further failure doubles it.
    pub first_retry: Duration,
    /// The longest wait between attempts.
    pub max_retry: Duration,
    /// How often the outbox is looked at when it had nothing due.
    pub poll: Duration,
    /// How long a process holds the notices it leased before another may take them.
    pub lease: Duration,
    /// How long one conversation with the relay may take.
    pub timeout: Duration,
    /// How many notices one round leases.
    pub batch: u32,
}

impl EmailSettings {
    /// Notices at DigiCert's windows through `relay_host:relay_port` from `from`, retried from
    /// 30 seconds up to an hour.
    pub fn new(relay_host: String, relay_port: u16, from: Mailbox) -> Self {
        Self {
            relay_host,
            relay_port,
            from,
            windows: DIGICERT_WINDOWS.to_vec(),
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
            batch: 16,
        }
    }

    /// The wait before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> Duration {
        outbox::backoff(self.first_retry, self.max_retry, attempts)
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
            .timeout(Some(settings.timeout))
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
    loop {
        match send_due(&state).await {
            Ok(n) if n == email.settings.batch as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot lease e-mail notices"),
        }
        tokio::time::sleep(email.settings.poll).await;
    }
}

/// Leases the due notices and makes one attempt at each, concurrently; returns how many.
pub async fn send_due(state: &AppState) -> Result<usize, StoreError> {
    let Some(email) = state.email.clone() else { return Ok(0) };
    let settings = &email.settings;
    let (now, lease_until, batch) = (wall_ms(), outbox::ms_after(settings.lease), settings.batch);
    let due = state.store(move |s| s.claim_email_notices(now, lease_until, batch)).await?;
    let count = due.len();
    let mut attempts = tokio::task::JoinSet::new();
    for notice in due {
        attempts.spawn(attempt(state.clone(), email.clone(), notice));
    }
    while attempts.join_next().await.is_some() {}
    Ok(count)
}

/// One attempt at one leased notice, recorded in the outbox.
async fn attempt(state: AppState, email: Arc<EmailNotices>, n: EmailNotice) {
    let result = email.send(&n, &state.public_url, state.clock.now()).await;
    state.metrics.email_notice(result.is_ok());
    let (certificate, window) = (n.certificate_id, n.window_days);
    let recorded = match result {
        Ok(()) => {
            state.store(move |s| s.email_notice_sent(certificate, window, OffsetDateTime::now_utc())).await
        }
        Err(error) => {
            let wait = email.settings.backoff(n.attempts);
            tracing::warn!(certificate, window, attempts = n.attempts, %error, retry_in = ?wait, "e-mail notice failed");
            let retry_at = outbox::ms_after(wait);
            state.store(move |s| s.email_notice_failed(certificate, window, &error, retry_at)).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the notice is attempted again.
        tracing::warn!(certificate, window, error = %e, "cannot record an e-mail notice attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_first_wait_up_to_an_hour() {
        let s = EmailSettings::new("127.0.0.1".into(), 25, mailbox("n@certkeep.test").unwrap());
        assert_eq!(s.windows, [90, 60, 30, 7, 0, -7]);
        let waits: Vec<u64> = (1..=4).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240]);
        assert_eq!(s.backoff(20), Duration::from_secs(3600));
    }

    #[test]
    fn senders_are_addresses_with_an_optional_name() {
        assert_eq!(mailbox("certkeep <n@certkeep.test>").unwrap().email.to_string(), "n@certkeep.test");
        assert!(mailbox("nobody").unwrap_err().contains("\"nobody\" is not an e-mail address"));
    }
}
