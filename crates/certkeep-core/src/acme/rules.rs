//! The protocol's rules (RFC 8555 §7.1.6, §7.5), as plain functions of an object's state and
//! the time: what status an order or an authorization has now, which challenges a name gets,
//! what a challenge response and its validation change, and what finalization and
//! deactivation may do.

use time::{Duration, OffsetDateTime};

use super::objects::{AcmeAuthz, AcmeOrder, AcmeStatus};

/// How long orders and authorizations stay usable.
pub const LIFETIME: Duration = Duration::days(7);

/// The status an order has now, from its stored status, its expiry and the stored statuses of
/// its authorizations (`None`: missing): a `pending` or `ready` order is `invalid` once expired
/// or once one authorization is neither pending nor valid, `ready` when all are valid, else
/// `pending`. Every other status is final.
pub fn order_status(order: &AcmeOrder, authzs: &[Option<AcmeStatus>], now: OffsetDateTime) -> AcmeStatus {
    if !matches!(order.status, AcmeStatus::Pending | AcmeStatus::Ready) {
        return order.status;
    }
    if order.expires <= now {
        return AcmeStatus::Invalid;
    }
    let status = |a: &Option<AcmeStatus>| a.unwrap_or(AcmeStatus::Invalid);
    if authzs.iter().all(|a| status(a) == AcmeStatus::Valid) {
        AcmeStatus::Ready
    } else if authzs.iter().any(|a| !matches!(status(a), AcmeStatus::Pending | AcmeStatus::Valid)) {
        AcmeStatus::Invalid
    } else {
        AcmeStatus::Pending
    }
}

/// The status an authorization has now: a `pending` one past its expiry has `expired`.
pub fn authz_status(authz: &AcmeAuthz, now: OffsetDateTime) -> AcmeStatus {
    if authz.status == AcmeStatus::Pending && authz.expires <= now {
        AcmeStatus::Expired
    } else {
        authz.status
    }
}

/// When a new order expires: its lifetime from `now`, and never after one of its
/// authorizations (reused ones may expire sooner), as Boulder does.
pub fn order_expiry(
    now: OffsetDateTime,
    authz_expiries: impl IntoIterator<Item = OffsetDateTime>,
) -> OffsetDateTime {
    authz_expiries.into_iter().fold(now + LIFETIME, OffsetDateTime::min)
}

/// The challenge types offered for a name: tls-alpn-01 cannot prove control of a wildcard
/// (RFC 8737 §3), and neither can http-01 (RFC 8555 §7.1.3).
pub fn challenge_types(wildcard: bool) -> &'static [&'static str] {
    if wildcard { &["dns-01"] } else { &["http-01", "dns-01", "tls-alpn-01"] }
}

/// Whether a challenge response starts validation: only for a `pending` challenge of a
/// `pending` authorization (a repeated response changes nothing).
pub fn starts_validation(challenge: AcmeStatus, authz: AcmeStatus) -> bool {
    challenge == AcmeStatus::Pending && authz == AcmeStatus::Pending
}

/// What a validation's outcome makes of the challenge and of its authorization: both `valid`
/// or both `invalid` (one failed challenge ends the authorization, §7.1.6).
pub fn validated(valid: bool) -> AcmeStatus {
    if valid { AcmeStatus::Valid } else { AcmeStatus::Invalid }
}

/// Whether the client may deactivate an authorization in this status (§7.5.2).
pub fn may_deactivate(status: AcmeStatus) -> bool {
    matches!(status, AcmeStatus::Pending | AcmeStatus::Valid)
}

/// Whether an order in this status may be finalized (§7.4): only a `ready` one; any other
/// answers `orderNotReady`.
pub fn may_finalize(status: AcmeStatus) -> bool {
    status == AcmeStatus::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use AcmeStatus::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn order(status: AcmeStatus, expires: OffsetDateTime) -> AcmeOrder {
        AcmeOrder {
            id: 1,
            account_id: 1,
            status,
            expires,
            identifiers: vec!["a.test".into()],
            authz_ids: vec![1],
            error: None,
            inventory_order_id: None,
            certificate_id: None,
            certificate_serial: None,
            created_at: now(),
        }
    }

    fn authz(status: AcmeStatus, expires: OffsetDateTime) -> AcmeAuthz {
        AcmeAuthz {
            id: 1,
            order_id: 1,
            account_id: 1,
            identifier: "a.test".into(),
            wildcard: false,
            status,
            expires,
            challenges: vec![],
        }
    }

    #[test]
    fn an_order_is_ready_once_every_authorization_is_valid() {
        let o = order(Pending, now() + LIFETIME);
        assert_eq!(order_status(&o, &[Some(Valid), Some(Valid)], now()), Ready);
        assert_eq!(order_status(&o, &[Some(Valid), Some(Pending)], now()), Pending);
        assert_eq!(order_status(&o, &[Some(Pending)], now()), Pending);
    }

    #[test]
    fn an_order_is_invalid_once_one_authorization_failed_or_is_missing() {
        let o = order(Pending, now() + LIFETIME);
        for failed in [Invalid, Deactivated, Expired, Revoked] {
            assert_eq!(order_status(&o, &[Some(Valid), Some(failed)], now()), Invalid, "{failed}");
        }
        assert_eq!(order_status(&o, &[Some(Valid), None], now()), Invalid);
        // A ready order whose authorization was deactivated since is no longer ready.
        assert_eq!(order_status(&order(Ready, now() + LIFETIME), &[Some(Deactivated)], now()), Invalid);
    }

    #[test]
    fn an_expired_order_is_invalid_whatever_its_authorizations() {
        let o = order(Ready, now());
        assert_eq!(order_status(&o, &[Some(Valid)], now()), Invalid);
    }

    #[test]
    fn processing_valid_and_invalid_orders_keep_their_status() {
        for kept in [Processing, Valid, Invalid] {
            assert_eq!(order_status(&order(kept, now()), &[Some(Pending)], now()), kept);
        }
    }

    #[test]
    fn a_pending_authorization_expires_and_a_valid_one_does_not_change() {
        assert_eq!(authz_status(&authz(Pending, now()), now()), Expired);
        assert_eq!(authz_status(&authz(Pending, now() + Duration::SECOND), now()), Pending);
        assert_eq!(authz_status(&authz(Valid, now() - LIFETIME), now()), Valid);
    }

    #[test]
    fn an_order_never_outlives_its_authorizations() {
        assert_eq!(order_expiry(now(), []), now() + LIFETIME);
        let soon = now() + Duration::hours(1);
        assert_eq!(order_expiry(now(), [now() + LIFETIME, soon]), soon);
    }

    #[test]
    fn wildcards_are_proved_by_dns01_only() {
        assert_eq!(challenge_types(true), ["dns-01"]);
        assert_eq!(challenge_types(false), ["http-01", "dns-01", "tls-alpn-01"]);
    }

    #[test]
    fn only_a_pending_challenge_of_a_pending_authorization_starts_validation() {
        assert!(starts_validation(Pending, Pending));
        assert!(!starts_validation(Processing, Pending));
        assert!(!starts_validation(Pending, Deactivated));
        assert!(!starts_validation(Valid, Valid));
        assert_eq!((validated(true), validated(false)), (Valid, Invalid));
    }

    #[test]
    fn finalize_needs_a_ready_order_and_deactivation_a_live_authorization() {
        assert!(may_finalize(Ready));
        for other in [Pending, Processing, Valid, Invalid] {
            assert!(!may_finalize(other), "{other}");
        }
        assert!(may_deactivate(Pending) && may_deactivate(Valid));
        assert!(!may_deactivate(Invalid) && !may_deactivate(Deactivated) && !may_deactivate(Expired));
    }
}
