//! CertCentral keys authenticated within the last second, so that a burst of requests with one
//! key reads it from the store once (a store lookup is a hop to a blocking thread, as costly as
//! the order read it precedes). The bound: a key revoked, or a user moved or demoted, is seen on
//! every replica within [`TTL`]. Entries are keyed by the key's hash, never the key.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use certkeep_core::Principal;

/// How long an authenticated key is trusted without asking the store again.
pub const TTL: Duration = Duration::from_secs(1);

/// The most keys remembered; beyond it the expired ones are dropped, and all of them if none is.
const CAPACITY: usize = 4096;

/// Recently authenticated keys by hash.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<Vec<u8>, (Instant, Principal)>>,
}

impl KeyCache {
    /// The principal of a key hash authenticated less than [`TTL`] before `now`.
    pub fn get(&self, hash: &[u8], now: Instant) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(hash).filter(|(at, _)| now.duration_since(*at) < TTL).map(|(_, p)| p.clone())
    }

    /// Remembers that `hash` authenticated as `principal` at `now`.
    pub fn put(&self, hash: Vec<u8>, principal: Principal, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| now.duration_since(*at) < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash, (now, principal));
    }
}

#[cfg(test)]
mod tests {
    use certkeep_core::{AccessRole, ApiKeyRole, Scope};

    use super::*;

    fn principal(id: i64) -> Principal {
        Principal {
            api_key_id: id,
            api_key_name: "k".into(),
            role: ApiKeyRole::Inherit,
            user_id: 1,
            container_id: 1,
            may_skip_approval: true,
            scope: Scope { account_id: 1, containers: None },
            access_role: AccessRole::Administrator,
        }
    }

    #[test]
    fn a_key_is_remembered_for_the_ttl_only_and_memory_stays_bounded() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        cache.put(b"h".to_vec(), principal(7), t0);
        assert_eq!(cache.get(b"h", t0 + TTL / 2).map(|p| p.api_key_id), Some(7));
        assert_eq!(cache.get(b"h", t0 + TTL), None);
        assert_eq!(cache.get(b"other", t0), None);
        for i in 0..CAPACITY as i64 * 3 {
            cache.put(i.to_be_bytes().to_vec(), principal(i), t0);
        }
        assert!(cache.entries.lock().unwrap().len() <= CAPACITY);
    }
}
