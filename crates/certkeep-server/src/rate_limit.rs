//! Per-key request limits over rolling windows (sliding-window counters).

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use certkeep_core::Store;
use time::OffsetDateTime;

/// At most `requests` in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length.
    pub window: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    /// Parses `REQUESTS/SECONDS`, e.g. `100/5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("rate limit {s:?} is not REQUESTS/SECONDS (e.g. 100/5)");
        let (n, secs) = s.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
        if requests == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(Self { requests, window: Duration::from_secs(secs) })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.requests, self.window.as_secs())
    }
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    started: Instant,
    current: u32,
    previous: u32,
}

/// Counts requests per caller against every configured limit.
#[derive(Default)]
pub struct RateLimiter {
    limits: Vec<RateLimit>,
    counters: Mutex<HashMap<(String, usize), Counter>>,
    /// Where the counts live when several processes share them.
    shared: Option<Arc<dyn Store>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter enforcing all of `limits` (none: unlimited), counting in this process.
    pub fn new(limits: Vec<RateLimit>) -> Self {
        Self { limits, counters: Mutex::default(), shared: None }
    }

    /// A limiter enforcing all of `limits` with counts kept in the database, so that every
    /// process on it (replicas behind a load balancer) shares them.
    pub fn shared(limits: Vec<RateLimit>, store: Arc<dyn Store>) -> Self {
        Self { limits, counters: Mutex::default(), shared: Some(store) }
    }

    /// Records a request by `caller` at `now`; false when any limit is exceeded (the request
    /// is then not counted).
    pub fn allow(&self, caller: &str, now: Instant) -> bool {
        if self.limits.is_empty() {
            return true;
        }
        if let Some(store) = &self.shared {
            return self.allow_shared(&**store, caller);
        }
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let mut updated = Vec::with_capacity(self.limits.len());
        for (i, limit) in self.limits.iter().enumerate() {
            let mut c = counters.get(&(caller.to_owned(), i)).copied().unwrap_or(Counter {
                started: now,
                current: 0,
                previous: 0,
            });
            let mut elapsed = now.saturating_duration_since(c.started);
            if elapsed >= limit.window {
                let windows = elapsed.as_nanos() / limit.window.as_nanos();
                c.previous = if windows == 1 { c.current } else { 0 };
                c.current = 0;
                c.started += limit.window * windows as u32;
                elapsed = now.saturating_duration_since(c.started);
            }
            let weight = 1.0 - elapsed.as_secs_f64() / limit.window.as_secs_f64();
            let estimate = f64::from(c.previous) * weight + f64::from(c.current);
            if estimate + 1.0 > f64::from(limit.requests) {
                return false;
            }
            c.current += 1;
            updated.push(((caller.to_owned(), i), c));
        }
        counters.extend(updated);
        true
    }

    /// [`Self::allow`] against the database's counters (at the wall clock: processes share it,
    /// not their monotonic clocks). A failing database does not turn requests away.
    fn allow_shared(&self, store: &dyn Store, caller: &str) -> bool {
        let limits: Vec<(u32, u64)> = self.limits.iter().map(|l| (l.requests, l.window.as_secs())).collect();
        let count = || store.count_request(caller, &limits, OffsetDateTime::now_utc());
        // A database round trip: off the async worker, when there is one to leave.
        let counted = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(count)
            }
            _ => count(),
        };
        counted.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "request not counted against the rate limits");
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("100/5".parse::<RateLimit>().unwrap().to_string(), "100/5");
        assert!("100".parse::<RateLimit>().is_err());
        assert!("0/5".parse::<RateLimit>().is_err());
        assert!("x/5".parse::<RateLimit>().is_err());
    }

    #[test]
    fn limits_each_caller_separately_and_recovers() {
        let limiter = RateLimiter::new(vec!["3/10".parse().unwrap()]);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow("a", t0)));
        assert!(!limiter.allow("a", t0));
        assert!(limiter.allow("b", t0));
        // Halfway through the next window half of the previous window still counts.
        assert!(limiter.allow("a", t0 + Duration::from_secs(15)));
        assert!(!limiter.allow("a", t0 + Duration::from_secs(15)));
        // Two windows later everything is forgotten.
        assert!((0..3).all(|_| limiter.allow("a", t0 + Duration::from_secs(40))));
    }

    #[test]
    fn unlimited_without_limits() {
        let limiter = RateLimiter::new(vec![]);
        assert!((0..10_000).all(|_| limiter.allow("a", Instant::now())));
    }
}
