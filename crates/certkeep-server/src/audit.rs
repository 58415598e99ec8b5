//! The audit log at the front doors: where a call came from, and writes refused before they
//! reached the lifecycle (which records its own refusals).

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request},
    http::{Extensions, Method},
};
use certkeep_core::{Id, lifecycle::AuditEvent};

use crate::AppState;

/// The client's IP address as the audit log records it.
pub fn client_address(extensions: &Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string())
}

/// Who a refused request authenticated as, as far as it did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller {
    /// The account its credential belongs to.
    pub account_id: Option<Id>,
    /// The user.
    pub user_id: Option<Id>,
    /// The key.
    pub api_key_id: Option<Id>,
}

/// A write refused at a door, to be recorded once the reason is known.
pub struct Refusal(Option<AuditEvent>);

impl Refusal {
    /// The refusal of `request` by `caller` at the check `action` (`certcentral.auth`...):
    /// recorded only for writes (any method but GET and HEAD); the object is the method and path.
    pub fn of(state: &AppState, request: &Request, caller: Caller, action: &str) -> Self {
        if matches!(*request.method(), Method::GET | Method::HEAD) {
            return Self(None);
        }
        let path = request
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned());
        Self(Some(AuditEvent {
            account_id: caller.account_id,
            user_id: caller.user_id,
            api_key_id: caller.api_key_id,
            action: action.to_owned(),
            object: format!("{} {path}", request.method()),
            detail: String::new(),
            source: client_address(request.extensions()),
            at: state.clock.now(),
            refused: true,
        }))
    }

    /// Records the refusal with `reason`. The future does not borrow the request.
    pub fn record(self, state: &AppState, reason: &str) -> impl Future<Output = ()> + Send + 'static {
        let event = self.0.map(|e| AuditEvent { detail: reason.to_owned(), ..e });
        let state = state.clone();
        async move {
            if let Some(event) = event {
                record(&state, event).await;
            }
        }
    }
}

/// Records a refused write at once (see [`Refusal`]).
pub fn refused_write(
    state: &AppState,
    request: &Request,
    caller: Caller,
    action: &str,
    reason: &str,
) -> impl Future<Output = ()> + Send + 'static {
    Refusal::of(state, request, caller, action).record(state, reason)
}

/// Appends a refused event. Best effort: the refusal is answered whether or not it could be
/// recorded. Refusals that named no account draw on their client address's
/// [`RefusalBudget`]: beyond it they are only counted, and summed up when the window ends.
pub async fn record(state: &AppState, event: AuditEvent) {
    if event.account_id.is_none() {
        match state.refusal_budget.admit(&event.source, Instant::now()) {
            Admission::Record => {}
            Admission::Suppress => return,
            Admission::SuppressFirst { source, started, ends } => {
                let (state, address) = (state.clone(), event.source);
                tokio::spawn(async move {
                    tokio::time::sleep_until(ends.into()).await;
                    let Some(count) = state.refusal_budget.close(&source, started) else { return };
                    let summary = AuditEvent {
                        account_id: None,
                        user_id: None,
                        api_key_id: None,
                        action: SUPPRESSED.into(),
                        object: source.clone(),
                        detail: format!("refused: {count} more from {source} suppressed"),
                        source: address,
                        at: state.clock.now(),
                        refused: true,
                    };
                    append(&state, summary).await;
                });
                return;
            }
        }
    }
    append(state, event).await;
}

/// The action of the row that sums up the refusals a [`RefusalBudget`] left out.
pub const SUPPRESSED: &str = "audit.refusals_suppressed";

async fn append(state: &AppState, event: AuditEvent) {
    if let Err(e) = state.store(move |s| s.record_audit(&event)).await {
        tracing::warn!(error = %e, "cannot record a refused write");
    }
}

/// How many refused writes without a credential the audit log takes from one client address per
/// window (default: 60 a minute, for at most 10 000 addresses at once). Beyond it a refusal is
/// still answered as before, only not recorded: it is counted, and one row per address and
/// window says how many were left out. IPv6 clients count per /64, what one host usually holds.
/// Kept in memory, per process; when the table is full, new addresses share one budget.
#[derive(Debug)]
pub struct RefusalBudget {
    per_window: u32,
    window: Duration,
    max_sources: usize,
    sources: Mutex<Sources>,
}

#[derive(Debug, Default)]
struct Sources {
    windows: HashMap<String, Window>,
    last_sweep: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    recorded: u32,
    suppressed: u64,
}

/// The budget every address shares once the table of addresses is full.
const OTHER_SOURCES: &str = "other addresses";

/// What to do with one refused write without a credential.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Record it.
    Record,
    /// Leave it out; it is counted in its window's summary.
    Suppress,
    /// Leave it out, the first of its window to be: summarise the window of `source` that
    /// started at `started` when it ends, at `ends`.
    SuppressFirst {
        /// The address (or /64, or [`OTHER_SOURCES`]) the budget is kept for.
        source: String,
        /// When the window started.
        started: Instant,
        /// When it ends.
        ends: Instant,
    },
}

impl Default for RefusalBudget {
    fn default() -> Self {
        Self::new(60, Duration::from_secs(60), 10_000)
    }
}

impl RefusalBudget {
    /// At most `per_window` recorded refusals per address in each `window`, for at most
    /// `max_sources` addresses at once.
    pub fn new(per_window: u32, window: Duration, max_sources: usize) -> Self {
        Self { per_window, window, max_sources: max_sources.max(1), sources: Mutex::default() }
    }

    /// The budget an address draws on: itself, or its /64 for IPv6.
    fn source_key(source: &str) -> String {
        match source.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            _ => source.to_owned(),
        }
    }

    /// Counts a refused write from `source` at `now` against its budget.
    pub fn admit(&self, source: &str, now: Instant) -> Admission {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = Self::source_key(source);
        if !sources.windows.contains_key(&key) && sources.windows.len() >= self.max_sources {
            sources.sweep(now, self.window);
            if sources.windows.len() >= self.max_sources {
                key = OTHER_SOURCES.to_owned();
            }
        }
        let window =
            sources.windows.entry(key.clone()).or_insert(Window { started: now, recorded: 0, suppressed: 0 });
        let ended = now.saturating_duration_since(window.started) >= self.window;
        // A window with suppressed refusals ends when its summary is written (`close`).
        if ended && window.suppressed == 0 {
            *window = Window { started: now, recorded: 0, suppressed: 0 };
        }
        if window.suppressed == 0 && window.recorded < self.per_window {
            window.recorded += 1;
            return Admission::Record;
        }
        window.suppressed += 1;
        if window.suppressed == 1 {
            Admission::SuppressFirst {
                source: key,
                started: window.started,
                ends: window.started + self.window,
            }
        } else {
            Admission::Suppress
        }
    }

    /// Ends the window of `source` that started at `started`: how many refusals it left out.
    pub fn close(&self, source: &str, started: Instant) -> Option<u64> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        match sources.windows.get(source) {
            Some(w) if w.started == started => sources.windows.remove(source).map(|w| w.suppressed),
            _ => None,
        }
    }

    /// Addresses kept at once (for tests).
    pub fn len(&self) -> usize {
        self.sources.lock().unwrap_or_else(|e| e.into_inner()).windows.len()
    }

    /// Whether no address is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Sources {
    /// Forgets the addresses whose window ended with nothing left out (at most once a second:
    /// a full table under a spread-out flood must not cost a scan per request).
    fn sweep(&mut self, now: Instant, window: Duration) {
        if self.last_sweep.is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1)) {
            return;
        }
        self.last_sweep = Some(now);
        self.windows.retain(|_, w| w.suppressed > 0 || now.saturating_duration_since(w.started) < window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_budget_and_one_summary_per_window() {
        let budget = RefusalBudget::new(2, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        assert_eq!(budget.admit("192.0.2.1", t0), Admission::Record);
        assert_eq!(budget.admit("192.0.2.1", t0), Admission::Record);
        let first = budget.admit("192.0.2.1", t0);
        assert_eq!(
            first,
            Admission::SuppressFirst {
                source: "192.0.2.1".into(),
                started: t0,
                ends: t0 + Duration::from_secs(60)
            }
        );
        assert_eq!(budget.admit("192.0.2.1", t0), Admission::Suppress);
        // Another address has its own budget.
        assert_eq!(budget.admit("192.0.2.2", t0), Admission::Record);
        // Until the summary is written the window goes on counting, even past its end.
        assert_eq!(budget.admit("192.0.2.1", t0 + Duration::from_secs(61)), Admission::Suppress);
        assert_eq!(budget.close("192.0.2.1", t0 + Duration::from_secs(1)), None, "another window");
        assert_eq!(budget.close("192.0.2.1", t0), Some(3));
        assert_eq!(budget.close("192.0.2.1", t0), None, "summed up once");
        assert_eq!(budget.admit("192.0.2.1", t0 + Duration::from_secs(61)), Admission::Record);
        // A window that left nothing out starts again by itself.
        let t1 = t0 + Duration::from_secs(121);
        assert_eq!(budget.admit("192.0.2.2", t0 + Duration::from_secs(30)), Admission::Record);
        assert!(matches!(
            budget.admit("192.0.2.2", t0 + Duration::from_secs(30)),
            Admission::SuppressFirst { .. }
        ));
        assert_eq!(budget.admit("192.0.2.1", t1), Admission::Record);
    }

    #[test]
    fn ipv6_counts_per_64_and_the_table_stays_bounded() {
        let budget = RefusalBudget::new(1, Duration::from_secs(60), 3);
        let t0 = Instant::now();
        assert_eq!(budget.admit("2001:db8:0:1::1", t0), Admission::Record);
        assert!(matches!(
            budget.admit("2001:db8:0:1::2", t0),
            Admission::SuppressFirst { source, .. } if source == "2001:db8:0:1::/64"
        ));
        assert_eq!(budget.admit("::ffff:192.0.2.9", t0), Admission::Record);
        assert!(matches!(
            budget.admit("192.0.2.9", t0),
            Admission::SuppressFirst { source, .. } if source == "192.0.2.9"
        ));
        // Full: new addresses share one budget, so a flood from many addresses stays bounded.
        for i in 1..=250 {
            let _ = budget.admit(&format!("198.51.100.{i}"), t0);
        }
        assert_eq!(budget.len(), 4);
        assert_eq!(budget.close(OTHER_SOURCES, t0), Some(248));
        // Once its window ends, an address that left nothing out makes room again.
        let later = t0 + Duration::from_secs(120);
        assert_eq!(budget.admit("203.0.113.1", later), Admission::Record);
        assert_eq!(budget.len(), 3);
    }
}
