//! Expiry notices: which certificates are due one, and the record that makes each notice
//! happen once per certificate, window and channel. The record's `email` rows are also the
//! e-mail outbox ([`NoticeStore`]): leased for sending with one atomic UPDATE, so replicas on
//! one database never send the same notice at once.

use certkeep_core::{
    Id, NoticeStore, StoreResult,
    notice::{self, Channel},
    store::{Attempt, EmailNotice},
};
use time::OffsetDateTime;

use super::{
    Engine, Mode, SqlStore,
    db::{Db, DbResult, params},
    rows::{names, time_at},
};

/// The unsent e-mail notices whose next attempt is due and whose lease (if any) ran out, at
/// the wall-clock milliseconds bound twice after it.
const EMAIL_DUE: &str = "channel = 'email' AND sent_at IS NULL AND next_attempt_ms <= ? \
    AND (lease_until_ms IS NULL OR lease_until_ms <= ?)";

/// Where an order's notices go: its contact e-mail, else the e-mail of the user who placed it
/// (CertCentral's rule for an order without contacts).
const RECIPIENT: &str = "coalesce(nullif(o.email, ''), u.email)";

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

/// Queues the e-mail notice of `certificate_id` (of `order_id`) in `window` to the order's
/// recipient; false (and nothing written) when it was queued before or there is no recipient.
fn queue_email(
    db: &mut dyn Db,
    (certificate_id, order_id, window): (Id, Id, i64),
    now: OffsetDateTime,
) -> DbResult<bool> {
    let inserted = db.execute(
        &format!(
            // The casts type the parameters of a SELECT list for PostgreSQL.
            "INSERT INTO expiry_notices (certificate_id, window_days, channel, created_at, recipient) \
             SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), '{channel}', CAST(? AS BIGINT), {RECIPIENT} \
             FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = ? AND {RECIPIENT} <> '' \
             ON CONFLICT DO NOTHING",
            channel = Channel::Email.as_str()
        ),
        params![certificate_id, window, now.unix_timestamp(), order_id],
    )?;
    Ok(inserted == 1)
}

impl<E: Engine> NoticeStore for SqlStore<E> {
    fn queue_email_notices(&self, windows: &[i64], now: OffsetDateTime) -> StoreResult<u64> {
        self.run(Mode::Write, |db| {
            let accounts = db.rows("SELECT id FROM accounts ORDER BY id", params![], |r| r.get::<Id>(0))?;
            let mut queued = 0;
            for account_id in accounts {
                for found in due(db, account_id, windows, now)? {
                    if queue_email(db, found, now)? {
                        queued += 1;
                    }
                }
            }
            Ok(queued)
        })
    }

    fn claim_email_notices(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<EmailNotice>> {
        // An idle outbox costs one read of the partial index, not a write transaction.
        let due = self.run(Mode::Read, |db| {
            db.exists(
                &format!("SELECT 1 FROM expiry_notices WHERE {EMAIL_DUE} LIMIT 1"),
                params![now_ms, now_ms],
            )
        })?;
        if !due {
            return Ok(vec![]);
        }
        self.run(Mode::Write, |db| {
            // The UPDATE checks the lease again itself, so a row another process leased
            // meanwhile is skipped (PostgreSQL re-reads it; SQLite writes one transaction at a
            // time).
            let claimed: Vec<(Id, i64, String, i64)> = db.rows(
                &format!(
                    "UPDATE expiry_notices SET lease_until_ms = ?, attempts = attempts + 1 WHERE {EMAIL_DUE} \
                     AND (certificate_id, window_days) IN (SELECT certificate_id, window_days FROM expiry_notices \
                       WHERE {EMAIL_DUE} ORDER BY next_attempt_ms, certificate_id, window_days LIMIT ?) \
                     RETURNING certificate_id, window_days, recipient, attempts"
                ),
                params![lease_until_ms, now_ms, now_ms, now_ms, now_ms, limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let mut out = Vec::with_capacity(claimed.len());
            for (certificate_id, window_days, recipient, attempts) in claimed {
                let (order_id, product_name_id, common_name, dns_names, valid_till) = db.row(
                    "SELECT c.order_id, o.product_name_id, c.common_name, c.dns_names, c.valid_till \
                     FROM certificates c JOIN orders o ON o.id = c.order_id WHERE c.id = ?",
                    params![certificate_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, names(&r.get::<String>(3)?), time_at(r, 4)?)),
                )?;
                out.push(EmailNotice {
                    certificate_id,
                    window_days,
                    recipient,
                    order_id,
                    product_name_id,
                    common_name,
                    dns_names,
                    valid_till,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                });
            }
            out.sort_by_key(|n| (n.certificate_id, n.window_days));
            Ok(out)
        })
    }

    fn record_email_attempts(&self, attempts: &[((Id, i64), Attempt)]) -> StoreResult<()> {
        self.run(Mode::Write, |db| {
            for ((certificate_id, window_days), attempt) in attempts {
                match attempt {
                    Attempt::Delivered(at) => db.execute(
                        "UPDATE expiry_notices SET sent_at = ?, lease_until_ms = NULL, last_error = NULL \
                         WHERE certificate_id = ? AND window_days = ? AND channel = 'email' AND sent_at IS NULL",
                        params![at.unix_timestamp(), certificate_id, window_days],
                    ),
                    Attempt::Failed { error, retry_at_ms } => db.execute(
                        "UPDATE expiry_notices SET next_attempt_ms = ?, lease_until_ms = NULL, last_error = ? \
                         WHERE certificate_id = ? AND window_days = ? AND channel = 'email' AND sent_at IS NULL",
                        params![retry_at_ms, error, certificate_id, window_days],
                    ),
                }?;
            }
            Ok(())
        })
    }

    fn email_backlog(&self) -> StoreResult<u64> {
        self.run(Mode::Read, |db| {
            db.row(
                "SELECT count(*) FROM expiry_notices WHERE channel = 'email' AND sent_at IS NULL",
                params![],
                |r| r.get::<i64>(0),
            )
            .map(|n| n.max(0) as u64)
        })
    }
}
