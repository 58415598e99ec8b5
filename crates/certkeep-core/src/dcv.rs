//! Domain control validation (DCV): how an account proves it controls a domain before
//! certificates may name it, and how long that proof counts.
//!
//! A domain a tenant registers is [`DomainStatus::Pending`] until the front door has checked
//! the random value ([`DcvToken`]) where its [`DcvMethod`] says it must be (the checks
//! themselves are network I/O and live in the server); the operator may vouch for a private
//! deployment's domains ([`DcvMethod::Operator`]). A validation counts for
//! [`policy::dcv_reuse_days`] from the moment it was recorded, then the domain is
//! [`DomainStatus::Expired`] until validated again. Validations belong to one account.

use time::{Duration, OffsetDateTime};

use crate::{credentials::random_bytes, policy};

/// How control over a domain is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DcvMethod {
    /// The random value in a DNS TXT record at the domain or at `_dnsauth.<domain>`.
    DnsTxtToken,
    /// A DNS CNAME at `_dnsauth.<domain>` whose target's first label is the random value.
    DnsCnameToken,
    /// The random value at `http://<domain>/.well-known/pki-validation/fileauth.txt`. Proves
    /// control of this exact name only, never of its subdomains.
    HttpToken,
    /// E-mail to the domain's contacts. certkeep sends no e-mail: such a domain stays pending
    /// until its method is changed (or the operator vouches for it).
    Email,
    /// The operator vouched for the domain (`certkeep domain vouch`), for a private deployment.
    Operator,
}

impl DcvMethod {
    /// Whether the method checks a random value (and a domain using it has a [`DcvToken`]).
    pub fn uses_token(self) -> bool {
        matches!(self, Self::DnsTxtToken | Self::DnsCnameToken | Self::HttpToken)
    }

    /// Whether a validation with this method also covers names under the domain.
    pub fn covers_subdomains(self) -> bool {
        self != Self::HttpToken
    }
}

/// How long a random value may be used to prove control (DigiCert: 30 days).
pub const TOKEN_LIFETIME: Duration = Duration::days(30);

/// A random value a domain's control is proven with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcvToken {
    /// 32 characters of `[0-9a-z]`, like DigiCert's random values.
    pub value: String,
    /// When it stops being accepted.
    pub expires: OffsetDateTime,
}

impl DcvToken {
    /// A fresh random value, valid for [`TOKEN_LIFETIME`] from `now`.
    pub fn generate(now: OffsetDateTime) -> Self {
        const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut value = String::with_capacity(32);
        while value.len() < 32 {
            // 252 = 7 * 36: rejecting the bytes above it keeps every character equally likely.
            for b in random_bytes::<48>() {
                if b < 252 && value.len() < 32 {
                    value.push(ALPHABET[(b % 36) as usize] as char);
                }
            }
        }
        Self { value, expires: now + TOKEN_LIFETIME }
    }

    /// Whether the value is still accepted at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires
    }
}

/// Where a domain's validation stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainStatus {
    /// Control was never proven.
    Pending,
    /// Control was proven within the reuse period in force.
    Validated,
    /// Control was proven, longer ago than the reuse period allows.
    Expired,
}

/// The status of a domain validated at `validated_at` (if ever), seen at `now`.
pub fn status(validated_at: Option<OffsetDateTime>, now: OffsetDateTime) -> DomainStatus {
    match validated_at {
        None => DomainStatus::Pending,
        Some(at) if at >= reuse_since(now) => DomainStatus::Validated,
        Some(_) => DomainStatus::Expired,
    }
}

/// When a validation recorded at `validated_at` stops counting, by the rules in force at `now`.
pub fn validation_expires(validated_at: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
    validated_at + Duration::days(policy::dcv_reuse_days(now).into())
}

/// The oldest validation that still counts at `now`.
pub fn reuse_since(now: OffsetDateTime) -> OffsetDateTime {
    now - Duration::days(policy::dcv_reuse_days(now).into())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn tokens_are_32_lowercase_alphanumerics_and_differ() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let (a, b) = (DcvToken::generate(now), DcvToken::generate(now));
        assert_eq!(a.value.len(), 32);
        assert!(a.value.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(a.value, b.value);
        assert!(a.is_live(now + Duration::days(29)) && !a.is_live(now + Duration::days(30)));
    }

    #[test]
    fn a_validation_counts_for_the_reuse_period_in_force() {
        let now = datetime!(2026-06-01 00:00 UTC);
        assert_eq!(status(None, now), DomainStatus::Pending);
        assert_eq!(status(Some(now - Duration::days(199)), now), DomainStatus::Validated);
        assert_eq!(status(Some(now - Duration::days(200)), now), DomainStatus::Expired);
        let later = datetime!(2029-06-01 00:00 UTC);
        assert_eq!(status(Some(later - Duration::days(10)), later), DomainStatus::Expired);
    }
}
