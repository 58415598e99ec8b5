//! Expiry notices: which certificates are due one, and the record that makes each notice
//! happen once per certificate, window and channel.

use certkeep_core::{
    Id,
    notice::{self, Channel},
};
use time::OffsetDateTime;

use super::{
    db::{Db, DbResult, params},
    rows::time_at,
};

/// The issued certificates of `account_id`'s issued orders (that did not disable renewal
/// notices) in one of `windows` at `now`: `(certificate, order, window)`, not yet filtered by
/// what was sent.
pub fn due(
    db: &mut dyn Db,
    account_id: Id,
    windows: &[i64],
    now: OffsetDateTime,
) -> DbResult<Vec<(Id, Id, i64)>> {
    let Some((from, to)) = notice::horizon(windows, now) else { return Ok(vec![]) };
    let found = db.rows(
        "SELECT c.id, c.order_id, c.valid_till FROM certificates c JOIN orders o ON o.id = c.order_id \
         WHERE c.account_id = ? AND c.status = 'issued' AND o.status = 'issued' \
         AND o.disable_renewal_notifications = FALSE AND c.valid_till >= ? AND c.valid_till < ? ORDER BY c.id",
        params![account_id, from.unix_timestamp(), to.unix_timestamp()],
        |r| Ok((r.get::<Id>(0)?, r.get::<Id>(1)?, time_at(r, 2)?)),
    )?;
    Ok(found
        .into_iter()
        .filter_map(|(id, order, till)| {
            notice::window(notice::days_to_expiry(till, now), windows).map(|w| (id, order, w))
        })
        .collect())
}

/// Records the notice of `certificate_id` in `window` on `channel`; false (and nothing
/// written) when it was recorded before, in this process or another.
pub fn record(
    db: &mut dyn Db,
    certificate_id: Id,
    window: i64,
    channel: Channel,
    now: OffsetDateTime,
) -> DbResult<bool> {
    let inserted = db.execute(
        "INSERT INTO expiry_notices (certificate_id, window_days, channel, created_at) VALUES (?,?,?,?) \
         ON CONFLICT DO NOTHING",
        params![certificate_id, window, channel.as_str(), now.unix_timestamp()],
    )?;
    Ok(inserted == 1)
}
