//! The ACME objects as they are kept: accounts, orders, authorizations and challenges, and
//! their statuses.

use std::{fmt, str::FromStr};

use time::OffsetDateTime;

use crate::Id;

/// Status of an ACME object (RFC 8555 §7.1.6); each object uses a subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeStatus {
    /// Waiting for the client (orders, authorizations, challenges).
    Pending,
    /// Every authorization is valid; the order may be finalized.
    Ready,
    /// Being validated (challenges) or issued (orders).
    Processing,
    /// Done.
    Valid,
    /// Failed.
    Invalid,
    /// Deactivated by the client (accounts, authorizations).
    Deactivated,
    /// Expired before completion (authorizations).
    Expired,
    /// Revoked (accounts, authorizations).
    Revoked,
}

impl AcmeStatus {
    /// The RFC's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Processing => "processing",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Deactivated => "deactivated",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for AcmeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AcmeStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pending" => Self::Pending,
            "ready" => Self::Ready,
            "processing" => Self::Processing,
            "valid" => Self::Valid,
            "invalid" => Self::Invalid,
            "deactivated" => Self::Deactivated,
            "expired" => Self::Expired,
            "revoked" => Self::Revoked,
            other => return Err(format!("unknown ACME status {other:?}")),
        })
    }
}

/// An ACME account: a client key bound to a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAccount {
    /// Account id (its URL ends with it).
    pub id: Id,
    /// RFC 7638 thumbprint of the key (base64url); unique.
    pub thumbprint: String,
    /// The public key, as JWK JSON.
    pub jwk: String,
    /// The contract the EAB credential bound it to.
    pub contract_id: Id,
    /// The EAB credential used.
    pub eab_id: Id,
    /// `valid`, `deactivated` or `revoked`.
    pub status: AcmeStatus,
    /// Contact URLs (`mailto:`).
    pub contacts: Vec<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An ACME order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOrder {
    /// Order id.
    pub id: Id,
    /// The account that placed it.
    pub account_id: Id,
    /// Status.
    pub status: AcmeStatus,
    /// When it stops being usable.
    pub expires: OffsetDateTime,
    /// The DNS names (normalised, wildcards as `*.name`).
    pub identifiers: Vec<String>,
    /// Its authorizations, one per identifier, in identifier order.
    pub authz_ids: Vec<Id>,
    /// Why it is invalid: an RFC 7807 problem document (JSON).
    pub error: Option<String>,
    /// The inventory order finalization placed.
    pub inventory_order_id: Option<Id>,
    /// The issued certificate (inventory id).
    pub certificate_id: Option<Id>,
    /// Serial number of the issued certificate (upper-case hex).
    pub certificate_serial: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An ACME authorization for one identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAuthz {
    /// Authorization id.
    pub id: Id,
    /// The order it belongs to.
    pub order_id: Id,
    /// The account.
    pub account_id: Id,
    /// The DNS name, without any wildcard label.
    pub identifier: String,
    /// Whether the order asked for `*.identifier`.
    pub wildcard: bool,
    /// Status.
    pub status: AcmeStatus,
    /// When it stops being usable.
    pub expires: OffsetDateTime,
    /// Its challenges.
    pub challenges: Vec<AcmeChallenge>,
}

/// One way of proving control of an authorization's identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeChallenge {
    /// Challenge id.
    pub id: Id,
    /// The authorization.
    pub authz_id: Id,
    /// `http-01`, `dns-01` or `tls-alpn-01`.
    pub kind: String,
    /// The random token (base64url).
    pub token: String,
    /// Status.
    pub status: AcmeStatus,
    /// When it was validated.
    pub validated: Option<OffsetDateTime>,
    /// Why validation failed: a problem document (JSON).
    pub error: Option<String>,
}
