//! Orders, their certificates and requests, and the statuses CertCentral gives them.

use time::OffsetDateTime;

use crate::{Contact, Container, Id, Organization, User};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// Parses the wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum! {
    /// Stored order status. `expired` is never stored: it is derived from the certificate's
    /// expiry and the clock (see [`OrderStatus::effective`]).
    OrderStatus {
        /// Waiting for an administrator's approval.
        NeedsApproval = "needs_approval",
        /// Approved, waiting for validation or issuance.
        Pending = "pending",
        /// Being processed by the CA.
        Processing = "processing",
        /// Certificate issued.
        Issued = "issued",
        /// Request rejected.
        Rejected = "rejected",
        /// Certificate revoked.
        Revoked = "revoked",
        /// Order canceled.
        Canceled = "canceled",
        /// Issued, waiting for the customer to pick it up.
        WaitingPickup = "waiting_pickup",
        /// A reissue is under way.
        ReissuePending = "reissue_pending",
        /// Issued and expired: derived, never stored.
        Expired = "expired",
    }
}

impl OrderStatus {
    /// The status a caller sees at `now`: an issued order whose certificate has expired is `expired`.
    pub fn effective(self, valid_till: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        match (self, valid_till) {
            (Self::Issued, Some(till)) if till <= now => Self::Expired,
            _ => self,
        }
    }
}

wire_enum! {
    /// What a certificate is to its order.
    CertificateKind {
        /// The order's original certificate.
        Primary = "primary",
        /// A replacement of the primary (new key or names); the latest issued one is current.
        Reissue = "reissue",
        /// An extra certificate for the same names, alongside the primary.
        Duplicate = "duplicate",
    }
}

wire_enum! {
    /// Status of one certificate (duplicates and reissues lists).
    CertificateStatus {
        /// Requested, not yet issued.
        Pending = "pending",
        /// Approved, issuing.
        Approved = "approved",
        /// Issued.
        Issued = "issued",
        /// Rejected.
        Rejected = "rejected",
        /// Revoked.
        Revoked = "revoked",
    }
}

wire_enum! {
    /// Kind of request on an order.
    RequestType {
        /// The order itself.
        NewRequest = "new_request",
        /// Revocation.
        Revoke = "revoke",
        /// A duplicate.
        Duplicate = "duplicate",
        /// A reissue.
        Reissue = "reissue",
    }
}

wire_enum! {
    /// State of a request.
    RequestStatus {
        /// Submitted.
        Submitted = "submitted",
        /// Waiting for approval.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
    }
}

wire_enum! {
    /// Where an order came from (`filters[origin]`).
    Origin {
        /// Placed in certkeep.
        CertCentral = "certcentral",
        /// Imported from elsewhere.
        Migrated = "migrated",
    }
}

wire_enum! {
    /// The front door an order came in through, as the order records it: imported orders are
    /// [`Origin::Migrated`], ACME orders carry their contract, NCP's paid orders the NCP access
    /// key that placed them and NCP's ACME orders a contract made through its ACME accounts;
    /// every other order was placed through CertCentral.
    Door {
        /// Placed through the CertCentral API.
        CertCentral = "certcentral",
        /// Issued to an ACME client under a contract.
        Acme = "acme",
        /// Placed with an NCP access key, or issued through an NCP ACME account's contract.
        Ncp = "ncp",
        /// Imported from elsewhere.
        Imported = "imported",
    }
}

impl Door {
    /// Every door, in the order lists show them.
    pub const ALL: [Self; 4] = [Self::CertCentral, Self::Acme, Self::Ncp, Self::Imported];
}

/// How the validity of an order or certificate was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// A number of years.
    Years(u32),
    /// A number of days.
    Days(u32),
    /// A fixed end date.
    CustomExpiration(time::Date),
}

/// What a certificate's issuance produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFacts {
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// SHA-1 of the DER, upper-case hex.
    pub thumbprint: String,
    /// notBefore.
    pub valid_from: OffsetDateTime,
    /// notAfter.
    pub valid_till: OffsetDateTime,
    /// When it was issued.
    pub date_issued: OffsetDateTime,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// A certificate to record on an order.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// Primary, reissue or duplicate.
    pub kind: CertificateKind,
    /// Status.
    pub status: CertificateStatus,
    /// Common name (lower case).
    pub common_name: String,
    /// Additional names (lower case).
    pub dns_names: Vec<String>,
    /// The CSR, PEM.
    pub csr: String,
    /// Server platform id (-1 = OTHER).
    pub server_platform_id: i64,
    /// Signature hash (`sha256`).
    pub signature_hash: String,
    /// Key size in bits.
    pub key_size: u32,
    /// When requested.
    pub date_created: OffsetDateTime,
    /// Set once issued.
    pub issued: Option<IssuedFacts>,
    /// Whether hidden from lists unless `show_archived`.
    pub archived: bool,
    /// Who requested it.
    pub user_id: Id,
    /// Whether it is to assert id-kp-clientAuth besides serverAuth.
    pub client_auth: bool,
}

/// A request to record on an order.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// When submitted.
    pub date: OffsetDateTime,
    /// Kind.
    pub request_type: RequestType,
    /// State.
    pub status: RequestStatus,
    /// Requester's comment.
    pub comments: Option<String>,
    /// Requester.
    pub user_id: Id,
}

/// A new order with its certificates and requests, written in one transaction.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Tenant.
    pub account_id: Id,
    /// Container.
    pub container_id: Id,
    /// Organization (none for DV).
    pub organization_id: Option<Id>,
    /// Submitting user.
    pub user_id: Id,
    /// Product identifier.
    pub product_name_id: String,
    /// Status.
    pub status: OrderStatus,
    /// Common name (lower case).
    pub common_name: String,
    /// Additional names (lower case).
    pub dns_names: Vec<String>,
    /// Contact e-mail of the order (`filters[email]`, `filters[search]`); empty for the
    /// submitting user's.
    pub email: String,
    /// Signature hash.
    pub signature_hash: String,
    /// Order validity.
    pub validity: Validity,
    /// Creation time.
    pub date_created: OffsetDateTime,
    /// The order this one renews.
    pub renewed_order_id: Option<Id>,
    /// Renewal notifications off.
    pub disable_renewal_notifications: bool,
    /// Auto-renew on.
    pub auto_renew: bool,
    /// Auto-reissue on.
    pub auto_reissue: bool,
    /// Issuance e-mail off.
    pub disable_issuance_email: bool,
    /// CT logging off.
    pub disable_ct: bool,
    /// `balance`, `credit` or `profile`.
    pub payment_method: String,
    /// Origin.
    pub origin: Origin,
    /// The API key (name, key type `api_key`/`acme_url`) that placed the order, if any.
    pub api_key: Option<(String, String)>,
    /// Customer's own order id.
    pub alternative_order_id: Option<String>,
    /// Organization units on the certificate.
    pub organization_units: Vec<String>,
    /// Number of additional names paid for.
    pub purchased_dns_names: u32,
    /// Custom field values: (metadata id, value).
    pub custom_fields: Vec<(Id, String)>,
    /// Opaque id used for express installs.
    pub public_id: String,
    /// The ACME contract the order was placed under, if any.
    pub acme_contract_id: Option<Id>,
    /// Certificates; the first is the primary.
    pub certificates: Vec<NewCertificate>,
    /// Requests.
    pub requests: Vec<NewRequest>,
}

/// One row of the order list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    /// Order id.
    pub id: Id,
    /// Current certificate.
    pub certificate: CertificateSummary,
    /// Stored status (see [`OrderStatus::effective`]).
    pub status: OrderStatus,
    /// Whether a later order renewed this one.
    pub is_renewed: bool,
    /// Creation time.
    pub date_created: OffsetDateTime,
    /// Organization (id, name), if any.
    pub organization: Option<(Id, String)>,
    /// Order validity.
    pub validity: Validity,
    /// Renewal notifications off.
    pub disable_renewal_notifications: bool,
    /// Container.
    pub container: Container,
    /// Product identifier.
    pub product_name_id: String,
    /// Whether the order has duplicate certificates.
    pub has_duplicates: bool,
    /// Contact e-mail.
    pub email: String,
    /// Submitting user.
    pub user_id: Id,
    /// Auto-renew on.
    pub auto_renew: bool,
    /// The front door it came in through.
    pub door: Door,
}

/// The current certificate of an order, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Certificate id.
    pub id: Id,
    /// Common name.
    pub common_name: String,
    /// Additional names.
    pub dns_names: Vec<String>,
    /// Signature hash.
    pub signature_hash: String,
    /// Serial number, once issued.
    pub serial_number: Option<String>,
    /// Thumbprint, once issued.
    pub thumbprint: Option<String>,
    /// notBefore, once issued.
    pub valid_from: Option<OffsetDateTime>,
    /// notAfter, once issued.
    pub valid_till: Option<OffsetDateTime>,
}

/// One certificate of an order, as the duplicates, reissues and order-info views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Certificate id.
    pub id: Id,
    /// Order id.
    pub order_id: Id,
    /// Kind.
    pub kind: CertificateKind,
    /// Status.
    pub status: CertificateStatus,
    /// Common name.
    pub common_name: String,
    /// Additional names.
    pub dns_names: Vec<String>,
    /// CSR, PEM.
    pub csr: String,
    /// Server platform id.
    pub server_platform_id: i64,
    /// Signature hash.
    pub signature_hash: String,
    /// Key size in bits.
    pub key_size: u32,
    /// When requested.
    pub date_created: OffsetDateTime,
    /// Issuance facts, once issued (the DER is not loaded here).
    pub serial_number: Option<String>,
    /// Thumbprint, once issued.
    pub thumbprint: Option<String>,
    /// notBefore, once issued.
    pub valid_from: Option<OffsetDateTime>,
    /// notAfter, once issued.
    pub valid_till: Option<OffsetDateTime>,
    /// When issued.
    pub date_issued: Option<OffsetDateTime>,
    /// Archived.
    pub archived: bool,
    /// Requester.
    pub user: User,
    /// Whether it asserts (or, pending, is to assert) id-kp-clientAuth besides serverAuth.
    pub client_auth: bool,
}

/// A request as order info shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Request id.
    pub id: Id,
    /// When submitted.
    pub date: OffsetDateTime,
    /// Kind.
    pub request_type: RequestType,
    /// State.
    pub status: RequestStatus,
    /// Comment.
    pub comments: Option<String>,
}

/// A custom field value on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldValue {
    /// Metadata id.
    pub metadata_id: Id,
    /// Field label.
    pub label: String,
    /// Value.
    pub value: String,
}

/// Everything order info shows about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetail {
    /// The list-level fields.
    pub summary: OrderSummary,
    /// The current certificate in full.
    pub certificate: CertificateRecord,
    /// Organization in full, if any.
    pub organization: Option<Organization>,
    /// Submitting user.
    pub user: User,
    /// Technical contact (defaults to the organization contact).
    pub technical_contact: Option<Contact>,
    /// Requests, oldest first.
    pub requests: Vec<RequestRecord>,
    /// Custom fields.
    pub custom_fields: Vec<CustomFieldValue>,
    /// The order this one renews.
    pub renewed_order_id: Option<Id>,
    /// The order that renewed this one.
    pub was_renewed_by_order_id: Option<Id>,
    /// Auto-reissue on.
    pub auto_reissue: bool,
    /// Issuance e-mail off.
    pub disable_issuance_email: bool,
    /// CT logging off.
    pub disable_ct: bool,
    /// Payment method.
    pub payment_method: String,
    /// Origin.
    pub origin: Origin,
    /// API key (name, key type) that placed the order.
    pub api_key: Option<(String, String)>,
    /// Customer's own order id.
    pub alternative_order_id: Option<String>,
    /// Organization units.
    pub organization_units: Vec<String>,
    /// Number of additional names paid for.
    pub purchased_dns_names: u32,
    /// Opaque id used for express installs.
    pub public_id: String,
}

/// Whole days from `now` until `valid_till`; 0 once expired.
pub fn days_remaining(valid_till: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (valid_till - now).whole_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn days_remaining_counts_whole_days_and_stops_at_zero() {
        let now = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(days_remaining(datetime!(2026-01-11 12:00 UTC), now), 10);
        assert_eq!(days_remaining(datetime!(2026-01-11 11:59 UTC), now), 9);
        assert_eq!(days_remaining(datetime!(2025-01-01 00:00 UTC), now), 0);
    }

    #[test]
    fn issued_becomes_expired_at_not_after() {
        let till = datetime!(2026-01-01 00:00 UTC);
        let before = datetime!(2025-12-31 23:59 UTC);
        assert_eq!(OrderStatus::Issued.effective(Some(till), before), OrderStatus::Issued);
        assert_eq!(OrderStatus::Issued.effective(Some(till), till), OrderStatus::Expired);
        assert_eq!(OrderStatus::Revoked.effective(Some(till), till), OrderStatus::Revoked);
        assert_eq!(OrderStatus::Pending.effective(None, till), OrderStatus::Pending);
    }

    #[test]
    fn wire_names_round_trip() {
        for s in ["needs_approval", "reissue_pending", "waiting_pickup", "expired"] {
            assert_eq!(OrderStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(OrderStatus::parse("ISSUED"), None);
    }
}

/// A request with the order it is about, as the request endpoints show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDetail {
    /// The request.
    pub request: RequestRecord,
    /// Who made it.
    pub requester: User,
    /// The order.
    pub order: OrderSummary,
    /// The certificate it is about, if one.
    pub certificate_id: Option<Id>,
    /// Decision comment.
    pub processor_comment: Option<String>,
}

/// A revoked certificate, as a CRL lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// When.
    pub revoked_at: OffsetDateTime,
    /// Reason (snake_case).
    pub reason: String,
}
