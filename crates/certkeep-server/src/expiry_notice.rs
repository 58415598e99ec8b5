//! Expiry notices: a task in every server process looks, with the server's clock, for
//! certificates that reached a notice window and queues one notice per certificate, window
//! and channel (the store's record of each makes replicas and restarts queue it once): a
//! `certificate_expiring` event at the windows of each account's webhook, which the webhook
//! delivery loop delivers, and, with an SMTP relay configured, an e-mail at the e-mail
//! windows, which [`crate::email_notice::send_forever`] sends.

use std::time::Duration;

use certkeep_core::StoreError;

use crate::AppState;

/// When notices are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeSettings {
    /// The wait between two sweeps.
    pub interval: Duration,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self { interval: Duration::from_secs(3600) }
    }
}

/// Queues the notices due at the server's clock now, on every channel; returns how many.
pub async fn sweep(state: &AppState) -> Result<u64, StoreError> {
    let now = state.clock.now();
    let hooks = state.store(move |s| s.queue_expiry_notices(now)).await?;
    let Some(email) = &state.email else { return Ok(hooks) };
    let windows = email.settings().windows.clone();
    let emails = state.store(move |s| s.queue_email_notices(&windows, now)).await?;
    Ok(hooks + emails)
}

/// Sweeps every `interval` until the process ends.
pub async fn notice_forever(state: AppState, interval: Duration) {
    loop {
        match sweep(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(notices = n, "queued expiry notices"),
            Err(e) => tracing::warn!(error = %e, "cannot queue expiry notices"),
        }
        tokio::time::sleep(interval).await;
    }
}
