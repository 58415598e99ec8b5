//! Request counters shared by every process on the database: one row per caller and window,
//! read as a sliding window (the previous window weighted by how much of it still overlaps).

use super::db::{Db, DbResult, params};

/// See [`certkeep_core::Store::count_request`]; `now_ms` is unix milliseconds.
pub fn count_request(db: &mut dyn Db, caller: &str, limits: &[(u32, u64)], now_ms: i64) -> DbResult<bool> {
    let mut windows = Vec::with_capacity(limits.len());
    for &(requests, seconds) in limits {
        let length = i64::try_from(seconds).unwrap_or(i64::MAX).clamp(1, i64::MAX / 1000) * 1000;
        let start = now_ms - now_ms.rem_euclid(length);
        let mut count = |at: i64| -> DbResult<i64> {
            Ok(db
                .row_opt(
                    "SELECT n FROM rate_counters WHERE caller = ? AND window_ms = ? AND window_start = ?",
                    params![caller, length, at],
                    |r| r.get(0),
                )?
                .unwrap_or(0))
        };
        let (previous, current) = (count(start - length)?, count(start)?);
        let weight = 1.0 - (now_ms - start) as f64 / length as f64;
        if previous as f64 * weight + current as f64 + 1.0 > f64::from(requests) {
            return Ok(false);
        }
        windows.push((length, start));
    }
    for (length, start) in windows {
        db.execute(
            "INSERT INTO rate_counters (caller, window_ms, window_start, n) VALUES (?, ?, ?, 1) \
             ON CONFLICT (caller, window_ms, window_start) DO UPDATE SET n = rate_counters.n + 1",
            params![caller, length, start],
        )?;
        db.execute(
            "DELETE FROM rate_counters WHERE caller = ? AND window_ms = ? AND window_start < ?",
            params![caller, length, start - length],
        )?;
    }
    Ok(true)
}
