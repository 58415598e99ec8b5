//! The order lifecycle every front door shares: place, approve or reject, cancel, duplicate,
//! reissue and revoke. Each operation runs in one store transaction, signs (when it issues)
//! inside it, and writes an audit event, so no state is ever half-changed. Each one that is
//! refused leaves a `refused` audit event of its own (the refused transaction rolled back with
//! everything it wrote).
//!
//! This module holds who acts, what is recorded, how operations fail and the checks and
//! signing they share; each operation lives in the submodule of what it acts on.

mod certificate;
mod domain;
mod order;
mod request;
mod transaction;
mod verified_csr;

use std::fmt;

use time::{Duration, OffsetDateTime};

pub use certificate::{CertificateRequest, RevokeTarget};
pub use domain::{DcvFailure, DomainPolicy, NewDomain, vouch_domain};
pub use order::{OrderRequest, Placed};
pub use transaction::{CertificateRef, RequestState, Transaction};
pub use verified_csr::VerifiedCsr;

use crate::{
    Id, IssuedFacts, OrderSummary, Organization, Product, Scope, Store, StoreError, ValidationType, Validity,
    policy::{self, IssuanceSettings, NameRefusal},
    refusal::{Object, Refusal},
};

/// Who changes something, with which key, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user.
    pub user_id: Id,
    /// The API key, if the change came through one.
    pub api_key_id: Option<Id>,
    /// The key's name (recorded on orders) and type (`api_key`, `acme_url`).
    pub api_key: Option<(String, String)>,
    /// Whether the actor may skip approval.
    pub may_skip_approval: bool,
    /// The client's address.
    pub source: String,
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Tenant; `None` for a refused write whose credential named none.
    pub account_id: Option<Id>,
    /// Acting user.
    pub user_id: Option<Id>,
    /// Acting key.
    pub api_key_id: Option<Id>,
    /// What happened (`order.create`, `request.approve`...).
    pub action: String,
    /// What it happened to (`order:123`).
    pub object: String,
    /// Details.
    pub detail: String,
    /// Client address.
    pub source: String,
    /// When.
    pub at: OffsetDateTime,
    /// Whether the change was refused (and nothing changed).
    pub refused: bool,
}

/// Why a lifecycle operation failed.
#[derive(Debug)]
pub enum LifecycleError {
    /// The object does not exist or is not visible.
    NotFound(Object),
    /// The request is refused (see [`Refusal`] for why).
    Refused(Refusal),
    /// The CA could not sign.
    Issuance(String),
    /// The store failed.
    Store(StoreError),
}

impl From<Refusal> for LifecycleError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<StoreError> for LifecycleError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(what) => write!(f, "{what} not found"),
            Self::Refused(refusal) => refusal.fmt(f),
            Self::Issuance(m) => write!(f, "issuance failed: {m}"),
            Self::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LifecycleError {}

impl LifecycleError {
    /// A refusal of the request (not found, invalid, wrong state, not permitted), as opposed to
    /// a failure of the CA or the store.
    fn is_refusal(&self) -> bool {
        matches!(self, Self::NotFound(_) | Self::Refused(_))
    }
}

/// What the CA needs to sign one certificate.
#[derive(Debug, Clone, Copy)]
pub struct IssueSpec<'a> {
    /// The product the certificate is issued under (its [`Product::name_id`], such as
    /// `ssl_basic`; an ACME contract's product for ACME orders): one of a fixed set, so a
    /// signer may count by it.
    pub product: &'static str,
    /// The CSR (PEM), whose key the certificate certifies.
    pub csr_pem: &'a str,
    /// That key's DER SubjectPublicKeyInfo when the front door has just parsed and verified the
    /// CSR ([`VerifiedCsr::spki_der`]): the CA certifies it without parsing the CSR again.
    pub verified_key: Option<&'a [u8]>,
    /// Common name.
    pub common_name: &'a str,
    /// Additional names.
    pub dns_names: &'a [String],
    /// Organization for OV/EV subjects.
    pub organization: Option<&'a Organization>,
    /// Organization units.
    pub organization_units: &'a [String],
    /// Validation level.
    pub validation: ValidationType,
    /// Whether the certificate follows the public TLS rules (else the private profile).
    pub public: bool,
    /// Whether it also asserts id-kp-clientAuth.
    pub client_auth: bool,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
}

/// A verified CSR as the lifecycle hands it to the CA: its PEM, and its key's DER
/// SubjectPublicKeyInfo when the front door has it ([`IssueSpec::verified_key`]).
#[derive(Debug, Clone, Copy)]
struct CsrRef<'a>(&'a str, Option<&'a [u8]>);

/// A certificate authority as the lifecycle sees it.
pub trait Issuer: Send + Sync {
    /// Signs a certificate.
    fn issue(&self, spec: &IssueSpec<'_>) -> Result<IssuedFacts, String>;
}

/// The lifecycle over one store, CA and clock.
pub struct Lifecycle<'a> {
    /// The inventory.
    pub store: &'a dyn Store,
    /// The CA.
    pub issuer: &'a dyn Issuer,
    /// The current time.
    pub now: OffsetDateTime,
    /// Domain-control policy.
    pub domains: DomainPolicy,
    /// The deployment's choices within the issuance rules.
    pub issuance: IssuanceSettings,
}

fn audit(
    scope: &Scope,
    actor: &Actor,
    now: OffsetDateTime,
    action: &str,
    object: String,
    detail: String,
) -> AuditEvent {
    AuditEvent {
        account_id: Some(scope.account_id),
        user_id: Some(actor.user_id),
        api_key_id: actor.api_key_id,
        action: action.into(),
        object,
        detail,
        source: actor.source.clone(),
        at: now,
        refused: false,
    }
}

/// The end of a validity period that starts at `start`.
pub fn validity_end(v: Validity, start: OffsetDateTime) -> OffsetDateTime {
    match v {
        Validity::Years(y) => {
            start.replace_year(start.year() + y as i32).unwrap_or(start + Duration::days(365))
        }
        Validity::Days(d) => start + Duration::days(d.into()),
        Validity::CustomExpiration(date) => date.midnight().assume_utc(),
    }
}

/// A name refusal of the product's rules; `common_name` tells which malformed name is the
/// common name.
fn name_refusal(refusal: NameRefusal, common_name: &str) -> LifecycleError {
    let common_name = matches!(&refusal, NameRefusal::Malformed(n) if n == common_name);
    Refusal::Name { refusal, common_name }.into()
}

impl Lifecycle<'_> {
    /// The names normalised and checked against the product's rules (see
    /// [`policy::product_names`]).
    fn product_names(
        &self,
        product: &Product,
        cn: &str,
        dns: &[String],
    ) -> Result<(String, Vec<String>), LifecycleError> {
        policy::product_names(product, cn, dns, self.issuance.test_names).map_err(|r| name_refusal(r, cn))
    }

    /// Refuses id-kp-clientAuth on public products after [`policy::CLIENT_AUTH_LAST_DAY`].
    fn check_client_auth(&self, product: &Product, client_auth: bool) -> Result<(), LifecycleError> {
        if client_auth && product.is_public() && !policy::client_auth_allowed(self.now) {
            return Err(Refusal::ClientAuthRetired.into());
        }
        Ok(())
    }

    /// The end of a certificate issued now that should cover until `wanted`: shortened to the
    /// longest certificate the product's rules allow today (DigiCert adjusts, never refuses).
    /// A validity period counts both its first and its last second (RFC 5280 4.1.2.5), so a
    /// 199-day certificate ends one second before 199 days have passed.
    fn certificate_end(&self, product: &Product, wanted: OffsetDateTime) -> OffsetDateTime {
        let days = if product.is_public() {
            policy::max_certificate_days(self.now)
        } else {
            self.issuance.private_certificate_days
        };
        wanted.min(self.now + Duration::days(days.into()) - Duration::SECOND)
    }

    /// Signs a certificate for `product` meant to cover until `cover_until` (shortened by
    /// [`Self::certificate_end`]).
    fn sign(
        &self,
        cert: (CsrRef<'_>, &str, &[String]),
        org: Option<&Organization>,
        units: &[String],
        (product, client_auth): (&Product, bool),
        cover_until: OffsetDateTime,
    ) -> Result<IssuedFacts, LifecycleError> {
        let (CsrRef(csr_pem, verified_key), common_name, dns_names) = cert;
        if cover_until <= self.now {
            return Err(Refusal::OrderExpired.into());
        }
        self.check_client_auth(product, client_auth)?;
        self.issuer
            .issue(&IssueSpec {
                product: product.name_id,
                csr_pem,
                verified_key,
                common_name,
                dns_names,
                organization: org,
                organization_units: units,
                validation: product.validation,
                public: product.is_public(),
                client_auth,
                not_before: self.now,
                not_after: self.certificate_end(product, cover_until),
            })
            .map_err(LifecycleError::Issuance)
    }

    /// Issues a pending certificate of an order.
    fn issue_pending(
        &self,
        tx: &mut dyn Transaction,
        scope: &Scope,
        order: &OrderSummary,
        cert_id: Id,
        end: OffsetDateTime,
        verified_key: Option<&[u8]>,
    ) -> Result<IssuedFacts, LifecycleError> {
        let cert = tx
            .certificate(scope, &CertificateRef::Id(cert_id))?
            .ok_or(LifecycleError::NotFound(Object::Certificate))?;
        let product =
            Product::find(&order.product_name_id).ok_or(LifecycleError::NotFound(Object::Product))?;
        let org = match order.organization.as_ref() {
            Some((id, _)) if product.validation.needs_organization() => tx.organization(scope, *id)?,
            _ => None,
        };
        let facts = self.sign(
            (CsrRef(&cert.csr, verified_key), &cert.common_name, &cert.dns_names),
            org.as_ref(),
            &[],
            (product, cert.client_auth),
            end,
        )?;
        tx.set_certificate_issued(cert_id, &facts)?;
        Ok(facts)
    }

    /// Hands `result` on, first appending a refused event when it is a refusal. The event is
    /// best effort: a store that cannot write it is failing the operation anyway.
    fn recorded<T>(
        &self,
        scope: &Scope,
        actor: &Actor,
        action: &str,
        object: String,
        result: Result<T, LifecycleError>,
    ) -> Result<T, LifecycleError> {
        if let Some(e) = result.as_ref().err().filter(|e| e.is_refusal()) {
            let event = audit(scope, actor, self.now, action, object, e.to_string());
            let _ = self.store.record_audit(&AuditEvent { refused: true, ..event });
        }
        result
    }
}
