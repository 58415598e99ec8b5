//! Webhooks: one endpoint per account that hears about its certificates' lifecycle.
//!
//! Events come out of the lifecycle's own transactions. Where the store appends an audit event,
//! [`trigger`] says what the event may report, the store reads the state the transaction left
//! ([`Outcome`]), [`occurrences`] turns it into events, and those a webhook wants
//! ([`Webhook::wants`]) are queued in an outbox in the same transaction: an event is queued if
//! and only if its change commits.

use time::{Duration, OffsetDateTime};

use crate::{CertificateStatus, Id, RequestStatus, RequestType};

/// What a webhook can be told about the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A certificate was signed.
    CertificateIssued,
    /// A certificate was revoked.
    CertificateRevoked,
    /// An order's request was rejected.
    OrderRejected,
    /// A certificate reached a window of `webhook_notification_frequency` (certkeep's name:
    /// DigiCert documents no expiry event).
    CertificateExpiring,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 4] =
        [Self::CertificateIssued, Self::CertificateRevoked, Self::OrderRejected, Self::CertificateExpiring];

    /// The name subscriptions and deliveries use (and the outbox stores).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertificateIssued => "certificate_issued",
            Self::CertificateRevoked => "certificate_revoked",
            Self::OrderRejected => "order_rejected",
            Self::CertificateExpiring => "certificate_expiring",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a webhook stands: it delivers only once its endpoint passed the challenge and it was
/// activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Registered (or its endpoint changed), not activated since.
    Pending,
    /// Delivering.
    Active,
    /// Deactivated.
    Inactive,
}

impl WebhookStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Active, Self::Inactive].into_iter().find(|k| k.as_str() == s)
    }
}

/// How a webhook wants its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether a certificate issued in the request that asked for it (no approval step) is
    /// reported too; off by default.
    pub instant_issue_notification: bool,
    /// Whether `certificate_issued` carries the chain.
    pub send_certificate_chain: bool,
    /// Whether `certificate_issued` of an instant issuance carries the chain.
    pub send_instant_issued_certificate_chain: bool,
    /// Days before (and, negative, after) expiry at which the account wants
    /// `certificate_expiring`; empty: [`crate::notice::DIGICERT_WINDOWS`].
    pub notification_frequency: Vec<i64>,
}

impl WebhookSettings {
    /// The notice windows the webhook hears `certificate_expiring` at.
    pub fn notice_windows(&self) -> &[i64] {
        if self.notification_frequency.is_empty() {
            &crate::notice::DIGICERT_WINDOWS
        } else {
            &self.notification_frequency
        }
    }
}

/// A proof-of-access token sent to the endpoint, to be sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The token.
    pub token: String,
    /// When it stops being accepted.
    pub expires: OffsetDateTime,
}

/// How long a challenge token is accepted.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(30);

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: Id,
    /// The account it reports on.
    pub account_id: Id,
    /// The `https://` URL events are posted to.
    pub endpoint: String,
    /// The shared secret sent with every event, sealed under the server key
    /// ([`secret_context`]).
    pub sealed_secret: Vec<u8>,
    /// The event names subscribed to, as registered.
    pub events: Vec<String>,
    /// Its settings.
    pub settings: WebhookSettings,
    /// Its status.
    pub status: WebhookStatus,
    /// Whether the current endpoint passed the challenge.
    pub verified: bool,
    /// The challenge waiting for its answer.
    pub challenge: Option<Challenge>,
    /// When it was registered.
    pub date_created: OffsetDateTime,
}

/// A webhook to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// The account.
    pub account_id: Id,
    /// The endpoint.
    pub endpoint: String,
    /// The sealed secret.
    pub sealed_secret: Vec<u8>,
    /// The event names.
    pub events: Vec<String>,
    /// The settings.
    pub settings: WebhookSettings,
    /// Now.
    pub date_created: OffsetDateTime,
}

/// Why a webhook refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// Activation or deactivation before the endpoint passed the challenge.
    NotVerified,
    /// A challenge answer that is not the live token.
    InvalidToken,
}

/// The context a webhook's secret is sealed with.
pub fn secret_context(account_id: Id) -> Vec<u8> {
    format!("webhook-secret:{account_id}").into_bytes()
}

impl Webhook {
    /// Whether the webhook is told about `o`: it subscribed to its kind and, for an instant
    /// issuance, asked for those.
    pub fn wants(&self, o: &Occurrence) -> bool {
        self.events.iter().any(|e| e == o.kind.as_str())
            && (!o.instant || self.settings.instant_issue_notification)
    }

    /// Whether `certificate_issued` for `o` carries the chain.
    pub fn sends_chain(&self, o: &Occurrence) -> bool {
        o.kind == EventKind::CertificateIssued
            && if o.instant {
                self.settings.send_instant_issued_certificate_chain
            } else {
                self.settings.send_certificate_chain
            }
    }

    /// Points the webhook at `endpoint`; a new endpoint must pass the challenge again, and the
    /// webhook waits for activation meanwhile.
    pub fn set_endpoint(&mut self, endpoint: String) {
        if endpoint != self.endpoint {
            self.endpoint = endpoint;
            self.verified = false;
            self.challenge = None;
            self.status = WebhookStatus::Pending;
        }
    }

    /// Draws a new challenge token (replacing any earlier one) valid from `now`.
    pub fn issue_challenge(&mut self, token: String, now: OffsetDateTime) -> &Challenge {
        self.challenge.insert(Challenge { token, expires: now + CHALLENGE_LIFETIME })
    }

    /// Accepts `token` if it is the live challenge's: the endpoint is verified.
    pub fn answer_challenge(&mut self, token: &str, now: OffsetDateTime) -> Result<(), WebhookRefusal> {
        match &self.challenge {
            Some(c) if c.expires > now && constant_time_eq(c.token.as_bytes(), token.as_bytes()) => {
                self.challenge = None;
                self.verified = true;
                Ok(())
            }
            _ => Err(WebhookRefusal::InvalidToken),
        }
    }

    /// Starts (`true`) or stops delivering; only a verified endpoint's webhook may do either.
    pub fn set_active(&mut self, active: bool) -> Result<(), WebhookRefusal> {
        if !self.verified {
            return Err(WebhookRefusal::NotVerified);
        }
        self.status = if active { WebhookStatus::Active } else { WebhookStatus::Inactive };
        Ok(())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What an audit event may report, and what the store reads to find out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An order was placed (and maybe issued at once).
    Placed {
        /// The order.
        order_id: Id,
    },
    /// A request was approved or rejected.
    Decided {
        /// The request.
        request_id: Id,
    },
    /// A revocation was asked for (and maybe done at once), of one certificate or of an order.
    Revoked {
        /// The certificate, or `None` for the whole order.
        certificate_id: Option<Id>,
        /// The order, or `None` when a certificate is named.
        order_id: Option<Id>,
    },
    /// A duplicate or reissue was added to an order (and maybe issued at once).
    Added {
        /// The order.
        order_id: Id,
    },
}

/// The pure mapping from an audit event's action and object to what it may report; `None`
/// for actions that never report anything (domains, refusals, cancellations).
pub fn trigger(action: &str, object: &str) -> Option<Trigger> {
    let (kind, id) = object.split_once(':')?;
    let id: Id = id.parse().ok()?;
    Some(match (action, kind) {
        ("order.create", "order") => Trigger::Placed { order_id: id },
        ("request.approve" | "request.reject", "request") => Trigger::Decided { request_id: id },
        ("certificate.revoke", "certificate") => {
            Trigger::Revoked { certificate_id: Some(id), order_id: None }
        }
        ("certificate.revoke", "order") => Trigger::Revoked { certificate_id: None, order_id: Some(id) },
        ("order.duplicate" | "order.reissue", "order") => Trigger::Added { order_id: id },
        _ => return None,
    })
}

/// One certificate of the order as the transaction left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateState {
    /// The certificate.
    pub id: Id,
    /// Its status.
    pub status: CertificateStatus,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A decided request as the transaction left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOutcome {
    /// What it asked for.
    pub request_type: RequestType,
    /// Approved or rejected.
    pub status: RequestStatus,
    /// The certificate it was about.
    pub certificate_id: Option<Id>,
}

/// What a [`Trigger`]'s transaction left behind, read in that transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The order concerned.
    pub order_id: Id,
    /// The request, for [`Trigger::Decided`].
    pub request: Option<RequestOutcome>,
    /// The order's certificates, oldest first.
    pub certificates: Vec<CertificateState>,
    /// When the change happened (the audit event's time).
    pub at: OffsetDateTime,
}

/// One event to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// What happened.
    pub kind: EventKind,
    /// The order.
    pub order_id: Id,
    /// The certificate.
    pub certificate_id: Option<Id>,
    /// Whether a certificate was issued in the request that asked for it (no approval step).
    pub instant: bool,
}

/// The events `trigger`'s transaction reports, from what it left behind.
pub fn occurrences(trigger: &Trigger, outcome: &Outcome) -> Vec<Occurrence> {
    let event = |kind, certificate_id, instant| Occurrence {
        kind,
        order_id: outcome.order_id,
        certificate_id,
        instant,
    };
    let issued = |id: Option<Id>| {
        outcome
            .certificates
            .iter()
            .find(|c| Some(c.id) == id)
            .is_some_and(|c| c.status == CertificateStatus::Issued)
    };
    let revoked_now = |only: Option<Id>| {
        outcome
            .certificates
            .iter()
            .filter(|c| c.status == CertificateStatus::Revoked && c.revoked_at == Some(outcome.at))
            .filter(|c| only.is_none_or(|id| id == c.id))
            .map(|c| event(EventKind::CertificateRevoked, Some(c.id), false))
            .collect::<Vec<_>>()
    };
    match *trigger {
        Trigger::Placed { .. } => {
            let first = outcome.certificates.first().map(|c| c.id);
            issued(first).then(|| event(EventKind::CertificateIssued, first, true)).into_iter().collect()
        }
        Trigger::Added { .. } => {
            let newest = outcome.certificates.last().map(|c| c.id);
            issued(newest).then(|| event(EventKind::CertificateIssued, newest, true)).into_iter().collect()
        }
        Trigger::Revoked { certificate_id, .. } => revoked_now(certificate_id),
        Trigger::Decided { .. } => {
            let Some(r) = &outcome.request else { return vec![] };
            match (r.status, r.request_type) {
                (RequestStatus::Approved, RequestType::Revoke) => revoked_now(r.certificate_id),
                (RequestStatus::Approved, _) if issued(r.certificate_id) => {
                    vec![event(EventKind::CertificateIssued, r.certificate_id, false)]
                }
                (RequestStatus::Rejected, RequestType::NewRequest) => {
                    vec![event(EventKind::OrderRejected, r.certificate_id, false)]
                }
                _ => vec![],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const AT: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    fn cert(id: Id, status: CertificateStatus, revoked_at: Option<OffsetDateTime>) -> CertificateState {
        CertificateState { id, status, revoked_at }
    }

    fn outcome(request: Option<RequestOutcome>, certificates: Vec<CertificateState>) -> Outcome {
        Outcome { order_id: 7, request, certificates, at: AT }
    }

    fn kinds(events: &[Occurrence]) -> Vec<(EventKind, Option<Id>, bool)> {
        events.iter().map(|o| (o.kind, o.certificate_id, o.instant)).collect()
    }

    #[test]
    fn audit_actions_map_to_what_they_may_report() {
        assert_eq!(trigger("order.create", "order:5"), Some(Trigger::Placed { order_id: 5 }));
        assert_eq!(trigger("request.reject", "request:9"), Some(Trigger::Decided { request_id: 9 }));
        assert_eq!(
            trigger("certificate.revoke", "certificate:3"),
            Some(Trigger::Revoked { certificate_id: Some(3), order_id: None })
        );
        assert_eq!(
            trigger("certificate.revoke", "order:4"),
            Some(Trigger::Revoked { certificate_id: None, order_id: Some(4) })
        );
        assert_eq!(trigger("order.reissue", "order:2"), Some(Trigger::Added { order_id: 2 }));
        for (action, object) in [
            ("order.cancel", "order:1"),
            ("domain.create", "domain:a.com"),
            ("order.create", "order:x"),
            ("certcentral.auth", "POST /services/v2/webhook"),
        ] {
            assert_eq!(trigger(action, object), None, "{action} {object}");
        }
    }

    #[test]
    fn an_order_issued_at_placement_is_an_instant_issuance_and_a_pending_one_reports_nothing() {
        let t = Trigger::Placed { order_id: 7 };
        let issued = outcome(None, vec![cert(11, CertificateStatus::Issued, None)]);
        assert_eq!(kinds(&occurrences(&t, &issued)), [(EventKind::CertificateIssued, Some(11), true)]);
        let pending = outcome(None, vec![cert(11, CertificateStatus::Pending, None)]);
        assert!(occurrences(&t, &pending).is_empty());
    }

    #[test]
    fn approvals_report_issuance_and_revocation_and_rejections_of_orders_report_order_rejected() {
        let t = Trigger::Decided { request_id: 1 };
        let request = |request_type, status, certificate_id| {
            Some(RequestOutcome { request_type, status, certificate_id: Some(certificate_id) })
        };
        let approved = outcome(
            request(RequestType::NewRequest, RequestStatus::Approved, 11),
            vec![cert(11, CertificateStatus::Issued, None)],
        );
        assert_eq!(kinds(&occurrences(&t, &approved)), [(EventKind::CertificateIssued, Some(11), false)]);
        let rejected = outcome(
            request(RequestType::NewRequest, RequestStatus::Rejected, 11),
            vec![cert(11, CertificateStatus::Rejected, None)],
        );
        assert_eq!(kinds(&occurrences(&t, &rejected)), [(EventKind::OrderRejected, Some(11), false)]);
        let duplicate_rejected = outcome(
            request(RequestType::Duplicate, RequestStatus::Rejected, 12),
            vec![cert(11, CertificateStatus::Issued, None), cert(12, CertificateStatus::Rejected, None)],
        );
        assert!(occurrences(&t, &duplicate_rejected).is_empty());
        let revoked = outcome(
            request(RequestType::Revoke, RequestStatus::Approved, 12),
            vec![
                cert(11, CertificateStatus::Revoked, Some(AT)),
                cert(12, CertificateStatus::Revoked, Some(AT)),
            ],
        );
        assert_eq!(kinds(&occurrences(&t, &revoked)), [(EventKind::CertificateRevoked, Some(12), false)]);
    }

    #[test]
    fn a_revocation_reports_the_certificates_it_revoked_now_only() {
        let earlier = AT - Duration::days(1);
        let certs = vec![
            cert(11, CertificateStatus::Revoked, Some(earlier)),
            cert(12, CertificateStatus::Revoked, Some(AT)),
            cert(13, CertificateStatus::Revoked, Some(AT)),
        ];
        let order = Trigger::Revoked { certificate_id: None, order_id: Some(7) };
        assert_eq!(
            kinds(&occurrences(&order, &outcome(None, certs.clone()))),
            [
                (EventKind::CertificateRevoked, Some(12), false),
                (EventKind::CertificateRevoked, Some(13), false)
            ]
        );
        let one = Trigger::Revoked { certificate_id: Some(13), order_id: None };
        assert_eq!(
            kinds(&occurrences(&one, &outcome(None, certs))),
            [(EventKind::CertificateRevoked, Some(13), false)]
        );
        let pending = vec![cert(11, CertificateStatus::Issued, None)];
        assert!(occurrences(&order, &outcome(None, pending)).is_empty());
    }

    #[test]
    fn a_webhook_hears_instant_issuances_only_when_it_asks() {
        let mut w = Webhook {
            id: 1,
            account_id: 1,
            endpoint: "https://hooks.example.com/".into(),
            sealed_secret: vec![],
            events: vec!["certificate_issued".into()],
            settings: WebhookSettings::default(),
            status: WebhookStatus::Active,
            verified: true,
            challenge: None,
            date_created: AT,
        };
        let instant = Occurrence {
            kind: EventKind::CertificateIssued,
            order_id: 7,
            certificate_id: Some(1),
            instant: true,
        };
        let approved = Occurrence { instant: false, ..instant };
        let revoked = Occurrence { kind: EventKind::CertificateRevoked, ..approved };
        assert!(!w.wants(&instant));
        assert!(w.wants(&approved));
        assert!(!w.wants(&revoked), "not subscribed");
        w.settings.instant_issue_notification = true;
        assert!(w.wants(&instant));
    }

    #[test]
    fn a_webhook_is_activated_only_after_its_endpoint_answers_the_challenge() {
        let mut w = Webhook {
            id: 1,
            account_id: 1,
            endpoint: "https://a.example.com/".into(),
            sealed_secret: vec![],
            events: vec![],
            settings: WebhookSettings::default(),
            status: WebhookStatus::Pending,
            verified: false,
            challenge: None,
            date_created: AT,
        };
        assert_eq!(w.set_active(true), Err(WebhookRefusal::NotVerified));
        assert_eq!(w.set_active(false), Err(WebhookRefusal::NotVerified));
        w.issue_challenge("token-1".into(), AT);
        assert_eq!(w.answer_challenge("token-2", AT), Err(WebhookRefusal::InvalidToken));
        assert_eq!(w.answer_challenge("token-1", AT + CHALLENGE_LIFETIME), Err(WebhookRefusal::InvalidToken));
        assert_eq!(w.answer_challenge("token-1", AT + Duration::minutes(29)), Ok(()));
        assert_eq!(w.answer_challenge("token-1", AT), Err(WebhookRefusal::InvalidToken), "used up");
        assert_eq!(w.set_active(true), Ok(()));
        assert_eq!(w.status, WebhookStatus::Active);
        w.set_endpoint("https://a.example.com/".into());
        assert_eq!(w.status, WebhookStatus::Active, "the same endpoint stays verified");
        w.set_endpoint("https://b.example.com/".into());
        assert_eq!((w.status, w.verified), (WebhookStatus::Pending, false));
    }
}
