//! Webhooks and their outbox. [`enqueue`] runs inside every transaction that appends an audit
//! event, so an event is queued exactly when its change commits; deliveries are leased with one
//! atomic UPDATE, so replicas on one database never deliver the same row at once.

use std::collections::{HashMap, hash_map::Entry};

use certkeep_core::{
    CertificateStatus, Id, RequestStatus, RequestType, StoreResult, WebhookStore,
    lifecycle::AuditEvent,
    notice::Channel,
    seal::SealedSecret,
    store::{Attempt, Delivery, DeliveryRecord, DeliverySummary},
    webhook::{
        self, CertificateState, Challenge, EventKind, NewWebhook, Outcome, RequestOutcome, Trigger, Webhook,
        WebhookRefusal, WebhookSettings, WebhookStatus,
    },
};
use time::OffsetDateTime;

use super::{
    Engine, Mode, SqlStore, audit,
    db::{self, Db, DbError, DbResult, Row, params},
    notice,
    rows::{opt_time_at, parsed, time_at},
};

const WEBHOOK_COLUMNS: &str = "id, account_id, endpoint, sealed_secret, events, instant_issue_notification, \
    send_certificate_chain, send_instant_issued_certificate_chain, notification_frequency, status, verified, \
    challenge_token, challenge_expires, date_created";

fn webhook_row(r: &Row) -> DbResult<Webhook> {
    let list = |s: String| s.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let frequency: String = r.get(8)?;
    let token: Option<String> = r.get(11)?;
    let expires = opt_time_at(r, 12)?;
    Ok(Webhook {
        id: r.get(0)?,
        account_id: r.get(1)?,
        endpoint: r.get(2)?,
        sealed_secret: r.get(3)?,
        events: list(r.get(4)?),
        settings: WebhookSettings {
            instant_issue_notification: r.get(5)?,
            send_certificate_chain: r.get(6)?,
            send_instant_issued_certificate_chain: r.get(7)?,
            notification_frequency: list(frequency)
                .iter()
                .map(|d| d.parse().map_err(|_| DbError::Data(format!("notification_frequency {d:?}"))))
                .collect::<DbResult<_>>()?,
        },
        status: parsed(r, 9, WebhookStatus::parse)?,
        verified: r.get(10)?,
        challenge: token.zip(expires).map(|(token, expires)| Challenge { token, expires }),
        date_created: time_at(r, 13)?,
    })
}

fn joined<T: ToString>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

fn active_webhook(db: &mut dyn Db, account_id: Id) -> DbResult<Option<Webhook>> {
    db.row_opt(
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = ? AND status = 'active'"),
        params![account_id],
        webhook_row,
    )
}

/// Queues the events `e` reports for its account's active webhook, in the transaction that
/// appends `e`. Refused writes and accounts without an active webhook cost one indexed read.
pub fn enqueue(db: &mut dyn Db, e: &AuditEvent) -> DbResult<()> {
    let (Some(account_id), false) = (e.account_id, e.refused) else { return Ok(()) };
    let Some(trigger) = webhook::trigger(&e.action, &e.object) else { return Ok(()) };
    let Some(hook) = active_webhook(db, account_id)? else { return Ok(()) };
    let Some(outcome) = outcome(db, &trigger, e.at)? else { return Ok(()) };
    for o in webhook::occurrences(&trigger, &outcome).iter().filter(|o| hook.wants(o)) {
        db.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event, order_id, certificate_id, send_chain, created_at) \
             VALUES (?,?,?,?,?,?)",
            params![hook.id, o.kind.as_str(), o.order_id, o.certificate_id, hook.sends_chain(o), e.at.unix_timestamp()],
        )?;
    }
    Ok(())
}

/// What `trigger`'s transaction left behind; `None` when the object it names is gone.
fn outcome(db: &mut dyn Db, trigger: &Trigger, at: OffsetDateTime) -> DbResult<Option<Outcome>> {
    let (order_id, request) = match *trigger {
        Trigger::Placed { order_id } | Trigger::Added { order_id } => (Some(order_id), None),
        Trigger::Revoked { order_id: Some(order_id), .. } => (Some(order_id), None),
        Trigger::Revoked { certificate_id, .. } => {
            let order =
                db.row_opt("SELECT order_id FROM certificates WHERE id = ?", params![certificate_id], |r| {
                    r.get(0)
                })?;
            (order, None)
        }
        Trigger::Decided { request_id } => {
            let found = db.row_opt(
                "SELECT order_id, type, status, certificate_id FROM requests WHERE id = ?",
                params![request_id],
                |r| {
                    Ok((
                        r.get::<Id>(0)?,
                        RequestOutcome {
                            request_type: parsed(r, 1, RequestType::parse)?,
                            status: parsed(r, 2, RequestStatus::parse)?,
                            certificate_id: r.get(3)?,
                        },
                    ))
                },
            )?;
            match found {
                Some((order, request)) => (Some(order), Some(request)),
                None => (None, None),
            }
        }
    };
    let Some(order_id) = order_id else { return Ok(None) };
    let certificates = db.rows(
        "SELECT id, status, revoked_at FROM certificates WHERE order_id = ? ORDER BY id",
        params![order_id],
        |r| {
            Ok(CertificateState {
                id: r.get(0)?,
                status: parsed(r, 1, CertificateStatus::parse)?,
                revoked_at: opt_time_at(r, 2)?,
            })
        },
    )?;
    Ok(Some(Outcome { order_id, request, certificates, at }))
}

fn summary(db: &mut dyn Db, webhook_id: Id) -> DbResult<DeliverySummary> {
    let (pending, delivered, last_delivered): (i64, i64, Option<i64>) = db.row(
        "SELECT count(*) - count(delivered_at), count(delivered_at), max(delivered_at) \
         FROM webhook_deliveries WHERE webhook_id = ?",
        params![webhook_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let last_error = db.row_opt(
        "SELECT last_error FROM webhook_deliveries WHERE webhook_id = ? AND delivered_at IS NULL \
         AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
        params![webhook_id],
        |r| r.get(0),
    )?;
    Ok(DeliverySummary {
        pending: pending.max(0) as u64,
        delivered: delivered.max(0) as u64,
        last_error,
        last_delivered: last_delivered.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
    })
}

fn save(db: &mut dyn Db, w: &Webhook) -> DbResult<()> {
    let (token, expires) = match &w.challenge {
        Some(c) => (Some(c.token.as_str()), Some(c.expires.unix_timestamp())),
        None => (None, None),
    };
    db.execute(
        "UPDATE webhooks SET endpoint = ?, sealed_secret = ?, events = ?, instant_issue_notification = ?, \
         send_certificate_chain = ?, send_instant_issued_certificate_chain = ?, notification_frequency = ?, \
         status = ?, verified = ?, challenge_token = ?, challenge_expires = ? WHERE id = ?",
        params![
            w.endpoint,
            w.sealed_secret,
            joined(&w.events),
            w.settings.instant_issue_notification,
            w.settings.send_certificate_chain,
            w.settings.send_instant_issued_certificate_chain,
            joined(&w.settings.notification_frequency),
            w.status.as_str(),
            w.verified,
            token,
            expires,
            w.id
        ],
    )
    .map(drop)
}

/// Re-seals every webhook secret (see [`certkeep_core::OperationsStore::reseal_secrets`]).
pub fn reseal_secrets(
    db: &mut dyn Db,
    reseal: &dyn Fn(SealedSecret<'_>) -> Option<Vec<u8>>,
) -> DbResult<u64> {
    let secrets: Vec<(Id, Vec<u8>)> =
        db.rows("SELECT account_id, sealed_secret FROM webhooks ORDER BY id", params![], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    for (account_id, sealed) in &secrets {
        let secret = SealedSecret::WebhookSecret { account_id: *account_id, sealed };
        let new = reseal(secret).ok_or_else(|| {
            DbError::Data(format!("{} does not open under the sealing key", secret.describe()))
        })?;
        db.execute("UPDATE webhooks SET sealed_secret = ? WHERE account_id = ?", params![new, account_id])?;
    }
    Ok(secrets.len() as u64)
}

impl<E: Engine> WebhookStore for SqlStore<E> {
    fn create_webhook(&self, w: &NewWebhook, e: &AuditEvent) -> StoreResult<Option<Id>> {
        self.run(Mode::Write, |db| {
            let id = db.insert(
                "INSERT INTO webhooks (account_id, endpoint, sealed_secret, events, instant_issue_notification, \
                 send_certificate_chain, send_instant_issued_certificate_chain, notification_frequency, status, \
                 verified, date_created) VALUES (?,?,?,?,?,?,?,?,'pending',FALSE,?) ON CONFLICT DO NOTHING",
                params![
                    w.account_id,
                    w.endpoint,
                    w.sealed_secret,
                    joined(&w.events),
                    w.settings.instant_issue_notification,
                    w.settings.send_certificate_chain,
                    w.settings.send_instant_issued_certificate_chain,
                    joined(&w.settings.notification_frequency),
                    w.date_created.unix_timestamp()
                ],
            )?;
            if id.is_some() {
                audit::insert(db, &AuditEvent { object: format!("webhook:{}", id.unwrap_or_default()), ..e.clone() })?;
            }
            Ok(id)
        })
    }

    fn webhooks(&self, account_id: Id) -> StoreResult<Vec<(Webhook, DeliverySummary)>> {
        self.run(Mode::Snapshot, |db| {
            let hooks = db.rows(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = ? ORDER BY id"),
                params![account_id],
                webhook_row,
            )?;
            let mut out = Vec::with_capacity(hooks.len());
            for w in hooks {
                let s = summary(db, w.id)?;
                out.push((w, s));
            }
            Ok(out)
        })
    }

    fn change_webhook(
        &self,
        account_id: Id,
        id: Id,
        change: &mut dyn FnMut(&mut Webhook) -> Result<AuditEvent, WebhookRefusal>,
    ) -> StoreResult<Option<Result<Webhook, WebhookRefusal>>> {
        self.run(Mode::Write, |db| {
            let found = db.row_opt(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ? AND account_id = ?"),
                params![id, account_id],
                webhook_row,
            )?;
            let Some(mut w) = found else { return Ok(None) };
            match change(&mut w) {
                Ok(event) => {
                    save(db, &w)?;
                    audit::insert(db, &event)?;
                    Ok(Some(Ok(w)))
                }
                Err(refusal) => Ok(Some(Err(refusal))),
            }
        })
    }

    fn delete_webhook(&self, account_id: Id, id: Id, e: &AuditEvent) -> StoreResult<bool> {
        self.run(Mode::Write, |db| {
            if !db
                .exists("SELECT 1 FROM webhooks WHERE id = ? AND account_id = ?", params![id, account_id])?
            {
                return Ok(false);
            }
            db.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", params![id])?;
            db.execute("DELETE FROM webhooks WHERE id = ?", params![id])?;
            audit::insert(db, e)?;
            Ok(true)
        })
    }

    fn claim_deliveries(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        // An idle outbox costs one read of the partial index, not a write transaction.
        let due = self.run(Mode::Read, |db| {
            db.exists(
                "SELECT 1 FROM webhook_deliveries WHERE delivered_at IS NULL AND next_attempt_ms <= ? \
                 AND (lease_until_ms IS NULL OR lease_until_ms <= ?) LIMIT 1",
                params![now_ms, now_ms],
            )
        })?;
        if !due {
            return Ok(vec![]);
        }
        self.run(Mode::Write, |db| {
            // The lease condition is checked again by the UPDATE itself, so a row another
            // process leased meanwhile is skipped (PostgreSQL re-reads it; SQLite writes one
            // transaction at a time).
            type Claimed = (Id, Id, String, Id, Option<Id>, bool, i64, Option<i64>);
            let claimed: Vec<Claimed> = db.rows(
                "UPDATE webhook_deliveries SET lease_until_ms = ?, attempts = attempts + 1 \
                 WHERE delivered_at IS NULL AND next_attempt_ms <= ? \
                 AND (lease_until_ms IS NULL OR lease_until_ms <= ?) \
                 AND id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                   WHERE d.delivered_at IS NULL AND d.next_attempt_ms <= ? \
                   AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ?) AND w.status = 'active' \
                   ORDER BY d.id LIMIT ?) \
                 RETURNING id, webhook_id, event, order_id, certificate_id, send_chain, attempts, notice_days",
                params![lease_until_ms, now_ms, now_ms, now_ms, now_ms, limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
            )?;
            let mut out = Vec::with_capacity(claimed.len());
            // A busy account's batch is one webhook's: read each webhook once.
            let mut hooks: HashMap<Id, (Id, String, Vec<u8>)> = HashMap::new();
            for (id, webhook_id, event, order_id, certificate_id, send_chain, attempts, notice_days) in claimed {
                let (account_id, endpoint, sealed_secret) = match hooks.entry(webhook_id) {
                    Entry::Occupied(hook) => hook.get().clone(),
                    Entry::Vacant(slot) => slot
                        .insert(db.row(
                            "SELECT account_id, endpoint, sealed_secret FROM webhooks WHERE id = ?",
                            params![webhook_id],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )?)
                        .clone(),
                };
                out.push(Delivery {
                    id,
                    account_id,
                    endpoint,
                    sealed_secret,
                    event: EventKind::parse(&event)
                        .ok_or_else(|| DbError::Data(format!("event {event:?}")))?,
                    order_id,
                    certificate_id,
                    send_chain,
                    notice_days,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                });
            }
            out.sort_by_key(|d| d.id);
            Ok(out)
        })
    }

    fn record_attempts(&self, attempts: &[(Id, Attempt)]) -> StoreResult<()> {
        self.run(Mode::Write, |db| {
            for (id, attempt) in attempts {
                match attempt {
                    Attempt::Delivered(at) => db.execute(
                        "UPDATE webhook_deliveries SET delivered_at = ?, lease_until_ms = NULL, last_error = NULL \
                         WHERE id = ? AND delivered_at IS NULL",
                        params![at.unix_timestamp(), id],
                    ),
                    Attempt::Failed { error, retry_at_ms } => db.execute(
                        "UPDATE webhook_deliveries SET next_attempt_ms = ?, lease_until_ms = NULL, last_error = ? \
                         WHERE id = ? AND delivered_at IS NULL",
                        params![retry_at_ms, error, id],
                    ),
                }?;
            }
            Ok(())
        })
    }

    fn queue_expiry_notices(&self, now: OffsetDateTime) -> StoreResult<u64> {
        self.run(Mode::Write, |db| {
            let hooks = db.rows(
                &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE status = 'active' ORDER BY id"),
                params![],
                webhook_row,
            )?;
            let mut queued = 0;
            for hook in hooks.iter().filter(|w| w.events.iter().any(|e| e == EventKind::CertificateExpiring.as_str())) {
                let windows = hook.settings.notice_windows();
                for (certificate_id, order_id, window) in notice::due(db, hook.account_id, windows, now)? {
                    if notice::record(db, certificate_id, window, Channel::Webhook, now)? {
                        db.execute(
                            "INSERT INTO webhook_deliveries (webhook_id, event, order_id, certificate_id, notice_days, \
                             created_at) VALUES (?,?,?,?,?,?)",
                            params![
                                hook.id,
                                EventKind::CertificateExpiring.as_str(),
                                order_id,
                                certificate_id,
                                window,
                                now.unix_timestamp()
                            ],
                        )?;
                        queued += 1;
                    }
                }
            }
            Ok(queued)
        })
    }

    fn webhook_deliveries(
        &self,
        account_id: Id,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<DeliveryRecord>)> {
        self.run(Mode::Snapshot, |db| {
            const FROM: &str = "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE w.account_id = ?";
            let total: i64 = db.row(&format!("SELECT count(*) {FROM}"), params![account_id], |r| r.get(0))?;
            let page = db.rows(
                &format!(
                    "SELECT d.id, d.event, d.order_id, d.certificate_id, d.attempts, d.last_error, d.created_at, \
                     d.delivered_at, d.next_attempt_ms {FROM} ORDER BY d.id DESC LIMIT ? OFFSET ?"
                ),
                params![account_id, db::limit(Some(limit)), db::offset(offset)],
                |r| {
                    let delivered_at = opt_time_at(r, 7)?;
                    let next_ms: i64 = r.get(8)?;
                    Ok(DeliveryRecord {
                        id: r.get(0)?,
                        event: parsed(r, 1, EventKind::parse)?,
                        order_id: r.get(2)?,
                        certificate_id: r.get(3)?,
                        attempts: u32::try_from(r.get::<i64>(4)?).unwrap_or(u32::MAX),
                        last_error: r.get(5)?,
                        created_at: time_at(r, 6)?,
                        delivered_at,
                        next_attempt: (delivered_at.is_none() && next_ms > 0)
                            .then(|| OffsetDateTime::from_unix_timestamp_nanos(i128::from(next_ms) * 1_000_000).ok())
                            .flatten(),
                    })
                },
            )?;
            Ok((total.max(0) as u64, page))
        })
    }

    fn webhook_backlog(&self) -> StoreResult<u64> {
        self.run(Mode::Read, |db| {
            db.row("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL", params![], |r| {
                r.get::<i64>(0)
            })
            .map(|n| n.max(0) as u64)
        })
    }
}
