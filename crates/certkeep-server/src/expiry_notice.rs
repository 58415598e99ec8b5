//! Expiry notices: a task in every server process looks, with the server's clock, for
//! certificates that reached a notice window and queues one notice per certificate and
//! window (the store's record of each makes replicas and restarts queue it once); the webhook
//! delivery loop delivers them.

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

/// Queues the notices due at the server's clock now; returns how many.
pub async fn sweep(state: &AppState) -> Result<u64, StoreError> {
    let now = state.clock.now();
    state.store(move |s| s.queue_expiry_notices(now)).await
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
