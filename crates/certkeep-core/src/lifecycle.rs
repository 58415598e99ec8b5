//! The order lifecycle every front door shares: place, approve or reject, cancel, duplicate,
//! reissue and revoke. Each operation runs in one store transaction, signs (when it issues)
//! inside it, and writes an audit event, so no state is ever half-changed.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::{
    CertificateKind, CertificateRecord, CertificateStatus, Domain, Id, IssuedFacts, NewCertificate, NewOrder,
    NewRequest, OrderStatus, OrderSummary, Organization, Origin, Product, RequestStatus, RequestType, Scope,
    Store, StoreError, ValidationType, Validity,
    dcv::{DcvMethod, DcvToken},
    names,
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
    /// The CSR (PEM), whose key the certificate certifies.
    pub csr_pem: &'a str,
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

/// A certificate authority as the lifecycle sees it.
pub trait Issuer: Send + Sync {
    /// Signs a certificate.
    fn issue(&self, spec: &IssueSpec<'_>) -> Result<IssuedFacts, String>;
}

/// A request as the lifecycle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestState {
    /// Request id.
    pub id: Id,
    /// Order.
    pub order_id: Id,
    /// Kind.
    pub request_type: RequestType,
    /// State.
    pub status: RequestStatus,
    /// The certificate it is about (none: the whole order).
    pub certificate_id: Option<Id>,
    /// Revocation reason, for revoke requests.
    pub revocation_reason: Option<String>,
}

/// A certificate by id or serial number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateRef {
    /// Certificate id.
    Id(Id),
    /// Serial number (upper-case hex).
    Serial(String),
}

/// Storage primitives inside one transaction (see [`Store::transaction`]).
pub trait Transaction {
    /// Writes an order with its certificates and requests.
    fn insert_order(&mut self, order: &NewOrder) -> Result<Id, StoreError>;
    /// An order of the scope, locked for the rest of the transaction.
    fn order(&mut self, scope: &Scope, id: Id) -> Result<Option<OrderSummary>, StoreError>;
    /// A certificate of the scope.
    fn certificate(
        &mut self,
        scope: &Scope,
        r: &CertificateRef,
    ) -> Result<Option<CertificateRecord>, StoreError>;
    /// Every certificate of an order.
    fn order_certificates(&mut self, order_id: Id) -> Result<Vec<CertificateRecord>, StoreError>;
    /// A request of the scope.
    fn request(&mut self, scope: &Scope, id: Id) -> Result<Option<RequestState>, StoreError>;
    /// An organization of the scope's account.
    fn organization(&mut self, scope: &Scope, id: Id) -> Result<Option<Organization>, StoreError>;
    /// Whether a custom field exists in the account.
    fn custom_field_exists(&mut self, account_id: Id, id: Id) -> Result<bool, StoreError>;
    /// Whether the account has validated `domain` (exactly this name) at `since` or later;
    /// with `subdomains`, only by a method whose validation also covers names under it.
    fn domain_validated(
        &mut self,
        account_id: Id,
        domain: &str,
        since: OffsetDateTime,
        subdomains: bool,
    ) -> Result<bool, StoreError>;
    /// Adds a certificate to an order.
    fn insert_certificate(
        &mut self,
        order: &OrderSummary,
        account_id: Id,
        cert: &NewCertificate,
    ) -> Result<Id, StoreError>;
    /// Records issuance facts on a certificate and marks it issued.
    fn set_certificate_issued(&mut self, certificate_id: Id, facts: &IssuedFacts) -> Result<(), StoreError>;
    /// Sets a certificate's status.
    fn set_certificate_status(
        &mut self,
        certificate_id: Id,
        status: CertificateStatus,
    ) -> Result<(), StoreError>;
    /// Marks a certificate revoked.
    fn revoke_certificate(
        &mut self,
        certificate_id: Id,
        at: OffsetDateTime,
        reason: &str,
    ) -> Result<(), StoreError>;
    /// Sets an order's status (and when it changed).
    fn set_order_status(
        &mut self,
        order_id: Id,
        status: OrderStatus,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Makes a certificate the order's current one (copies its facts onto the order).
    fn set_current_certificate(&mut self, order_id: Id, certificate_id: Id) -> Result<(), StoreError>;
    /// Adds a request to an order.
    fn insert_request(
        &mut self,
        order_id: Id,
        account_id: Id,
        request: &NewRequest,
        certificate_id: Option<Id>,
        revocation_reason: Option<&str>,
    ) -> Result<Id, StoreError>;
    /// Records the decision on a request.
    fn set_request_status(
        &mut self,
        request_id: Id,
        status: RequestStatus,
        processor_id: Id,
        comment: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Appends an audit event.
    fn insert_audit(&mut self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Records a domain; `None` when the account already has it.
    fn insert_domain(&mut self, domain: &NewDomain) -> Result<Option<Id>, StoreError>;
    /// A domain of the account by id, locked for the rest of the transaction.
    fn domain(&mut self, account_id: Id, domain_id: Id) -> Result<Option<Domain>, StoreError>;
    /// A domain of the account by (normalised) name.
    fn domain_named(&mut self, account_id: Id, name: &str) -> Result<Option<Domain>, StoreError>;
    /// Sets a domain's DCV method and random value.
    fn set_domain_dcv(
        &mut self,
        domain_id: Id,
        method: DcvMethod,
        token: Option<&DcvToken>,
    ) -> Result<(), StoreError>;
    /// Records that control of a domain was shown at `at`, by `method`.
    fn set_domain_validated(
        &mut self,
        domain_id: Id,
        method: DcvMethod,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Deletes a domain of the account; false when it has none with this id.
    fn delete_domain(&mut self, account_id: Id, domain_id: Id) -> Result<bool, StoreError>;
    /// Marks a `ready` ACME order `valid` with the inventory order and certificate that issued
    /// it; false when the order is not `ready`.
    fn finalize_acme_order(
        &mut self,
        acme_order_id: Id,
        order_id: Id,
        certificate_id: Id,
        serial: &str,
    ) -> Result<bool, StoreError>;
}

/// A domain to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDomain {
    /// Tenant.
    pub account_id: Id,
    /// Container.
    pub container_id: Id,
    /// Organization.
    pub organization_id: Option<Id>,
    /// Name (normalised).
    pub name: String,
    /// How control is to be shown.
    pub dcv_method: DcvMethod,
    /// The random value to show, for methods that use one.
    pub dcv_token: Option<DcvToken>,
    /// When it was registered.
    pub at: OffsetDateTime,
    /// When control was shown (the operator vouching), or `None`: pending.
    pub validated_at: Option<OffsetDateTime>,
}

/// Domain-control policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Every name must be covered by a domain the account validated.
    Validated,
    /// Every name is accepted (test setups and demos).
    TrustAll,
}

/// Why a DCV check did not show control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcvFailure {
    /// The method checks no random value (e-mail: certkeep sends none).
    NoCheck,
    /// The random value expired before the check.
    TokenExpired,
    /// No DNS TXT record holds the random value (details: what was found).
    TxtNotFound(String),
    /// No DNS CNAME points at the random value.
    CnameNotFound(String),
    /// The file does not hold the random value, or could not be fetched.
    FileNotFound(String),
}

/// A new order as a front door parsed it.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Product.
    pub product: &'static Product,
    /// Container (default: the caller's).
    pub container_id: Id,
    /// Organization (required for OV/EV).
    pub organization_id: Option<Id>,
    /// Common name.
    pub common_name: String,
    /// Additional names.
    pub dns_names: Vec<String>,
    /// The verified CSR (PEM) and its key size.
    pub csr: (String, u32),
    /// Server platform id.
    pub server_platform_id: i64,
    /// Order validity.
    pub validity: Validity,
    /// Comment for the approver.
    pub comments: Option<String>,
    /// Asked to skip approval.
    pub skip_approval: bool,
    /// Renewal notifications off.
    pub disable_renewal_notifications: bool,
    /// Auto-renew on.
    pub auto_renew: bool,
    /// Custom field values.
    pub custom_fields: Vec<(Id, String)>,
    /// Payment method.
    pub payment_method: String,
    /// Customer's own id.
    pub alternative_order_id: Option<String>,
    /// Organization units.
    pub organization_units: Vec<String>,
    /// The order this one renews.
    pub renewed_order_id: Option<Id>,
    /// Contact e-mail (empty: the submitting user's).
    pub email: String,
    /// Opaque id for express installs.
    pub public_id: String,
    /// The ACME contract the order is placed under, if any.
    pub acme_contract_id: Option<Id>,
    /// The ACME order this placement finalizes: it turns `valid` in the same transaction, or the
    /// placement is refused when that order is no longer `ready`.
    pub acme_order_id: Option<Id>,
    /// Also assert id-kp-clientAuth (public products only until [`policy::CLIENT_AUTH_LAST_DAY`]).
    pub client_auth: bool,
}

impl OrderRequest {
    /// An order a machine front door (ACME, NCP) places for `names` (common name first) with a
    /// checked CSR: issued at once, no approval comment, paid from the balance, renewal
    /// notifications on, a one-year plan (each certificate as long as the product's rules allow),
    /// serverAuth only. Callers override the rest with struct-update syntax.
    pub fn automated(
        product: &'static Product,
        container_id: Id,
        (common_name, dns_names): (String, Vec<String>),
        csr: (String, u32),
    ) -> Self {
        OrderRequest {
            product,
            container_id,
            organization_id: None,
            common_name,
            dns_names,
            csr,
            server_platform_id: -1,
            validity: Validity::Years(1),
            comments: None,
            skip_approval: true,
            disable_renewal_notifications: false,
            auto_renew: false,
            custom_fields: vec![],
            payment_method: "balance".into(),
            alternative_order_id: None,
            organization_units: vec![],
            renewed_order_id: None,
            email: String::new(),
            public_id: crate::credentials::generate_api_key()[..32].to_owned(),
            acme_contract_id: None,
            acme_order_id: None,
            client_auth: false,
        }
    }
}

/// What placing an order produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Order id.
    pub order_id: Id,
    /// The new request.
    pub request_id: Id,
    /// Its status (`approved` when issued at once, else `pending`).
    pub request_status: RequestStatus,
    /// The certificate.
    pub certificate_id: Id,
    /// The certificate DER, when issued at once.
    pub issued: Option<Vec<u8>>,
}

/// A duplicate or reissue request.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    /// Common name (default: the order's).
    pub common_name: Option<String>,
    /// Additional names (default: the order's).
    pub dns_names: Option<Vec<String>>,
    /// The verified CSR (PEM) and its key size.
    pub csr: (String, u32),
    /// Server platform id.
    pub server_platform_id: Option<i64>,
    /// Asked to skip approval.
    pub skip_approval: bool,
    /// Comment.
    pub comments: Option<String>,
    /// Also assert id-kp-clientAuth (public products only until [`policy::CLIENT_AUTH_LAST_DAY`]).
    pub client_auth: bool,
}

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// One certificate.
    Certificate(CertificateRef),
    /// Every certificate of an order.
    Order(Id),
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

    /// Under [`DomainPolicy::Validated`], every name must be covered by a domain the account
    /// validated within the reuse period in force.
    fn check_domains(
        &self,
        tx: &mut dyn Transaction,
        scope: &Scope,
        cn: &str,
        dns: &[String],
    ) -> Result<(), LifecycleError> {
        if self.domains != DomainPolicy::Validated {
            return Ok(());
        }
        let since = crate::dcv::reuse_since(self.now);
        for name in std::iter::once(cn).chain(dns.iter().map(String::as_str)) {
            let mut covered = false;
            for candidate in names::with_parents(name) {
                // A wildcard, or a parent domain, needs a validation that covers subdomains.
                if tx.domain_validated(scope.account_id, candidate, since, candidate != name)? {
                    covered = true;
                    break;
                }
            }
            if !covered {
                return Err(Refusal::DomainNotValidated(name.to_owned()).into());
            }
        }
        Ok(())
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
        cert: (&str, &str, &[String]),
        org: Option<&Organization>,
        units: &[String],
        (product, client_auth): (&Product, bool),
        cover_until: OffsetDateTime,
    ) -> Result<IssuedFacts, LifecycleError> {
        let (csr_pem, common_name, dns_names) = cert;
        if cover_until <= self.now {
            return Err(Refusal::OrderExpired.into());
        }
        self.check_client_auth(product, client_auth)?;
        self.issuer
            .issue(&IssueSpec {
                csr_pem,
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

    fn try_place_order(
        &self,
        scope: &Scope,
        actor: &Actor,
        req: &OrderRequest,
    ) -> Result<Placed, LifecycleError> {
        let product = req.product;
        let (cn, dns) = self.product_names(product, &req.common_name, &req.dns_names)?;
        self.check_client_auth(product, req.client_auth)?;
        // The order's plan; each certificate covers as much of it as the rules allow.
        let end = validity_end(req.validity, self.now);
        if end <= self.now {
            return Err(Refusal::ValidityNotInFuture.into());
        }
        if end - self.now > Duration::days(product.max_plan_days.into()) {
            return Err(Refusal::ValidityTooLong {
                product: product.name_id,
                max_days: product.max_plan_days,
            }
            .into());
        }
        if !scope.allows_container(req.container_id) {
            return Err(LifecycleError::NotFound(Object::Container));
        }
        if product.validation.needs_organization() && req.organization_id.is_none() {
            return Err(Refusal::OrganizationRequired { product: product.name_id }.into());
        }
        let immediate = req.skip_approval && actor.may_skip_approval;
        self.store.transact(|tx| {
            let org = match req.organization_id {
                Some(id) => {
                    Some(tx.organization(scope, id)?.ok_or(LifecycleError::NotFound(Object::Organization))?)
                }
                None => None,
            };
            let org = if product.validation.needs_organization() { org } else { None };
            if product.validation == ValidationType::Ev
                && product.is_public()
                && org.as_ref().is_some_and(|o| o.registration.number.trim().is_empty())
            {
                return Err(Refusal::RegistrationNumberMissing.into());
            }
            for (id, _) in &req.custom_fields {
                if !tx.custom_field_exists(scope.account_id, *id)? {
                    return Err(Refusal::UnknownCustomField(*id).into());
                }
            }
            if let Some(renewed) = req.renewed_order_id {
                tx.order(scope, renewed)?.ok_or(LifecycleError::NotFound(Object::Order))?;
            }
            self.check_domains(tx, scope, &cn, &dns)?;
            let issued = if immediate {
                Some(self.sign(
                    (&req.csr.0, &cn, &dns),
                    org.as_ref(),
                    &req.organization_units,
                    (product, req.client_auth),
                    end,
                )?)
            } else {
                None
            };
            let der = issued.as_ref().map(|f| f.der.clone());
            let issued_serial = issued.as_ref().map(|f| f.serial_number.clone());
            let order = NewOrder {
                account_id: scope.account_id,
                container_id: req.container_id,
                organization_id: org.as_ref().map(|o| o.id),
                user_id: actor.user_id,
                product_name_id: product.name_id.into(),
                status: if immediate { OrderStatus::Issued } else { OrderStatus::NeedsApproval },
                common_name: cn.clone(),
                dns_names: dns.clone(),
                email: req.email.clone(),
                signature_hash: "sha256".into(),
                validity: req.validity,
                date_created: self.now,
                renewed_order_id: req.renewed_order_id,
                disable_renewal_notifications: req.disable_renewal_notifications,
                auto_renew: req.auto_renew,
                auto_reissue: false,
                disable_issuance_email: false,
                disable_ct: false,
                payment_method: req.payment_method.clone(),
                origin: Origin::CertCentral,
                api_key: actor.api_key.clone(),
                alternative_order_id: req.alternative_order_id.clone(),
                organization_units: req.organization_units.clone(),
                purchased_dns_names: dns.len() as u32,
                custom_fields: req.custom_fields.clone(),
                public_id: req.public_id.clone(),
                acme_contract_id: req.acme_contract_id,
                certificates: vec![NewCertificate {
                    kind: CertificateKind::Primary,
                    status: if immediate { CertificateStatus::Issued } else { CertificateStatus::Pending },
                    common_name: cn.clone(),
                    dns_names: dns.clone(),
                    csr: req.csr.0.clone(),
                    server_platform_id: req.server_platform_id,
                    signature_hash: "sha256".into(),
                    key_size: req.csr.1,
                    date_created: self.now,
                    issued,
                    archived: false,
                    user_id: actor.user_id,
                    client_auth: req.client_auth,
                }],
                requests: vec![],
            };
            let order_id = tx.insert_order(&order)?;
            let summary = tx.order(scope, order_id)?.ok_or(LifecycleError::NotFound(Object::Order))?;
            let request = NewRequest {
                date: self.now,
                request_type: RequestType::NewRequest,
                status: if immediate { RequestStatus::Approved } else { RequestStatus::Pending },
                comments: req.comments.clone(),
                user_id: actor.user_id,
            };
            let request_id =
                tx.insert_request(order_id, scope.account_id, &request, Some(summary.certificate.id), None)?;
            if let Some(acme_order_id) = req.acme_order_id {
                let serial = issued_serial
                    .as_deref()
                    .ok_or_else(|| LifecycleError::from(Refusal::AcmeOrderNotIssued))?;
                if !tx.finalize_acme_order(acme_order_id, order_id, summary.certificate.id, serial)? {
                    return Err(Refusal::AcmeOrderNotReady.into());
                }
            }
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "order.create",
                format!("order:{order_id}"),
                format!(
                    "{} {} ({})",
                    product.name_id,
                    cn,
                    if immediate { "issued" } else { "needs approval" }
                ),
            ))?;
            Ok(Placed {
                order_id,
                request_id,
                request_status: request.status,
                certificate_id: summary.certificate.id,
                issued: der,
            })
        })
    }

    /// Issues a pending certificate of an order.
    fn issue_pending(
        &self,
        tx: &mut dyn Transaction,
        scope: &Scope,
        order: &OrderSummary,
        cert_id: Id,
        end: OffsetDateTime,
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
            (&cert.csr, &cert.common_name, &cert.dns_names),
            org.as_ref(),
            &[],
            (product, cert.client_auth),
            end,
        )?;
        tx.set_certificate_issued(cert_id, &facts)?;
        Ok(facts)
    }

    fn try_decide_request(
        &self,
        scope: &Scope,
        actor: &Actor,
        request_id: Id,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<(), LifecycleError> {
        self.store.transaction(&mut |tx| {
            let req = tx.request(scope, request_id)?.ok_or(LifecycleError::NotFound(Object::Request))?;
            if !matches!(req.status, RequestStatus::Pending | RequestStatus::Submitted) {
                return Err(Refusal::RequestAlreadyProcessed { id: request_id, status: req.status }.into());
            }
            let order = tx.order(scope, req.order_id)?.ok_or(LifecycleError::NotFound(Object::Order))?;
            let cert_id = req.certificate_id.unwrap_or(order.certificate.id);
            match (req.request_type, approve) {
                (RequestType::NewRequest, true) => {
                    self.issue_pending(tx, scope, &order, cert_id, validity_end(order.validity, self.now))?;
                    tx.set_order_status(order.id, OrderStatus::Issued, self.now)?;
                    tx.set_current_certificate(order.id, cert_id)?;
                }
                (RequestType::Duplicate, true) => {
                    let end = order.certificate.valid_till.unwrap_or(self.now);
                    self.issue_pending(tx, scope, &order, cert_id, end)?;
                }
                (RequestType::Reissue, true) => {
                    let end = validity_end(order.validity, order.date_created);
                    self.issue_pending(tx, scope, &order, cert_id, end)?;
                    tx.set_order_status(order.id, OrderStatus::Issued, self.now)?;
                    tx.set_current_certificate(order.id, cert_id)?;
                }
                (RequestType::Revoke, true) => {
                    let reason = req.revocation_reason.clone().unwrap_or_else(|| "unspecified".into());
                    self.revoke_now(tx, &order, req.certificate_id, &reason)?;
                }
                (RequestType::NewRequest, false) => {
                    tx.set_certificate_status(cert_id, CertificateStatus::Rejected)?;
                    tx.set_order_status(order.id, OrderStatus::Rejected, self.now)?;
                }
                (RequestType::Duplicate, false) => {
                    tx.set_certificate_status(cert_id, CertificateStatus::Rejected)?
                }
                (RequestType::Reissue, false) => {
                    tx.set_certificate_status(cert_id, CertificateStatus::Rejected)?;
                    tx.set_order_status(order.id, OrderStatus::Issued, self.now)?;
                }
                (RequestType::Revoke, false) => {}
            }
            let status = if approve { RequestStatus::Approved } else { RequestStatus::Rejected };
            tx.set_request_status(request_id, status, actor.user_id, comment)?;
            let action = if approve { "request.approve" } else { "request.reject" };
            let detail = format!("{} on order {}", req.request_type.as_str(), order.id);
            tx.insert_audit(&audit(scope, actor, self.now, action, format!("request:{request_id}"), detail))
                .map_err(Into::into)
        })
    }

    fn revoke_now(
        &self,
        tx: &mut dyn Transaction,
        order: &OrderSummary,
        certificate: Option<Id>,
        reason: &str,
    ) -> Result<(), LifecycleError> {
        let certs = tx.order_certificates(order.id)?;
        let targets: Vec<&CertificateRecord> = certs
            .iter()
            .filter(|c| c.status == CertificateStatus::Issued && certificate.is_none_or(|id| id == c.id))
            .collect();
        for c in &targets {
            tx.revoke_certificate(c.id, self.now, reason)?;
        }
        if certificate.is_none() || certificate == Some(order.certificate.id) {
            tx.set_order_status(order.id, OrderStatus::Revoked, self.now)?;
        }
        Ok(())
    }

    fn try_cancel(
        &self,
        scope: &Scope,
        actor: &Actor,
        order_id: Id,
        note: Option<&str>,
    ) -> Result<(), LifecycleError> {
        self.store.transaction(&mut |tx| {
            let order = tx.order(scope, order_id)?.ok_or(LifecycleError::NotFound(Object::Order))?;
            let next = match order.status {
                OrderStatus::NeedsApproval
                | OrderStatus::Pending
                | OrderStatus::Processing
                | OrderStatus::WaitingPickup => OrderStatus::Canceled,
                OrderStatus::ReissuePending => OrderStatus::Issued,
                other => {
                    return Err(Refusal::OrderNotCancelable(other).into());
                }
            };
            for c in tx.order_certificates(order_id)? {
                if c.status == CertificateStatus::Pending
                    && (next == OrderStatus::Canceled || c.kind == CertificateKind::Reissue)
                {
                    tx.set_certificate_status(c.id, CertificateStatus::Rejected)?;
                }
            }
            tx.set_order_status(order_id, next, self.now)?;
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "order.cancel",
                format!("order:{order_id}"),
                note.unwrap_or_default().to_owned(),
            ))
            .map_err(Into::into)
        })
    }

    fn check_active(&self, order: &OrderSummary) -> Result<(), LifecycleError> {
        match order.status.effective(order.certificate.valid_till, self.now) {
            OrderStatus::Issued => Ok(()),
            other => Err(Refusal::OrderNotIssued(other).into()),
        }
    }

    fn try_add_certificate(
        &self,
        scope: &Scope,
        actor: &Actor,
        order_id: Id,
        kind: CertificateKind,
        req: &CertificateRequest,
    ) -> Result<(Id, Id, Option<Vec<u8>>), LifecycleError> {
        let immediate = req.skip_approval && actor.may_skip_approval;
        self.store.transact(|tx| {
            let order = tx.order(scope, order_id)?.ok_or(LifecycleError::NotFound(Object::Order))?;
            self.check_active(&order)?;
            let product =
                Product::find(&order.product_name_id).ok_or(LifecycleError::NotFound(Object::Product))?;
            let cn = req.common_name.as_ref().unwrap_or(&order.certificate.common_name);
            let dns = req.dns_names.as_ref().unwrap_or(&order.certificate.dns_names);
            let (cn, dns) = self.product_names(product, cn, dns)?;
            self.check_client_auth(product, req.client_auth)?;
            if kind == CertificateKind::Duplicate {
                let ordered: std::collections::HashSet<&String> =
                    std::iter::once(&order.certificate.common_name)
                        .chain(&order.certificate.dns_names)
                        .collect();
                if let Some(extra) = std::iter::once(&cn).chain(&dns).find(|n| !ordered.contains(n)) {
                    return Err(Refusal::NameNotOnOrder(extra.clone()).into());
                }
            } else {
                self.check_domains(tx, scope, &cn, &dns)?;
            }
            let cert = NewCertificate {
                kind,
                status: CertificateStatus::Pending,
                common_name: cn.clone(),
                dns_names: dns.clone(),
                csr: req.csr.0.clone(),
                server_platform_id: req.server_platform_id.unwrap_or(-1),
                signature_hash: "sha256".into(),
                key_size: req.csr.1,
                date_created: self.now,
                issued: None,
                archived: false,
                user_id: actor.user_id,
                client_auth: req.client_auth,
            };
            let cert_id = tx.insert_certificate(&order, scope.account_id, &cert)?;
            let request_type = if kind == CertificateKind::Duplicate {
                RequestType::Duplicate
            } else {
                RequestType::Reissue
            };
            let request = NewRequest {
                date: self.now,
                request_type,
                status: if immediate { RequestStatus::Approved } else { RequestStatus::Pending },
                comments: req.comments.clone(),
                user_id: actor.user_id,
            };
            let request_id = tx.insert_request(order_id, scope.account_id, &request, Some(cert_id), None)?;
            let mut der = None;
            if immediate {
                // A duplicate ends with the certificate it duplicates; a reissue covers the
                // rest of the order's plan (as far as the rules allow).
                let end = match kind {
                    CertificateKind::Reissue => validity_end(order.validity, order.date_created),
                    _ => order.certificate.valid_till.unwrap_or(self.now),
                };
                der = Some(self.issue_pending(tx, scope, &order, cert_id, end)?.der);
                if kind == CertificateKind::Reissue {
                    tx.set_current_certificate(order_id, cert_id)?;
                }
            } else if kind == CertificateKind::Reissue {
                tx.set_order_status(order_id, OrderStatus::ReissuePending, self.now)?;
            }
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                if kind == CertificateKind::Duplicate { "order.duplicate" } else { "order.reissue" },
                format!("order:{order_id}"),
                format!("certificate {cert_id}{}", if immediate { " issued" } else { " pending approval" }),
            ))?;
            Ok((request_id, cert_id, der))
        })
    }

    fn try_revoke(
        &self,
        scope: &Scope,
        actor: &Actor,
        target: &RevokeTarget,
        reason: &str,
        comment: Option<&str>,
        skip_approval: bool,
    ) -> Result<Option<Id>, LifecycleError> {
        let immediate = skip_approval && actor.may_skip_approval;
        self.store.transact(|tx| {
            let (order_id, certificate) = match target {
                RevokeTarget::Order(id) => (*id, None),
                RevokeTarget::Certificate(r) => {
                    let c = tx.certificate(scope, r)?.ok_or(LifecycleError::NotFound(Object::Certificate))?;
                    if c.status != CertificateStatus::Issued {
                        return Err(Refusal::CertificateNotIssued { id: c.id, status: c.status }.into());
                    }
                    (c.order_id, Some(c.id))
                }
            };
            let order = tx.order(scope, order_id)?.ok_or(LifecycleError::NotFound(Object::Order))?;
            // Certificates recorded from elsewhere (products outside the catalog) are not this
            // CA's to revoke: its CRL and OCSP speak only for what it signed.
            if Product::find(&order.product_name_id).is_none() {
                return Err(Refusal::NotIssuedHere.into());
            }
            match order.status {
                OrderStatus::ReissuePending => {
                    return Err(Refusal::ReissuePending.into());
                }
                OrderStatus::Issued => {}
                other if certificate.is_none() => {
                    return Err(Refusal::OrderNotIssued(other).into());
                }
                _ => {}
            }
            let request = NewRequest {
                date: self.now,
                request_type: RequestType::Revoke,
                status: if immediate { RequestStatus::Approved } else { RequestStatus::Pending },
                comments: comment.map(str::to_owned),
                user_id: actor.user_id,
            };
            let request_id =
                tx.insert_request(order_id, scope.account_id, &request, certificate, Some(reason))?;
            if immediate {
                self.revoke_now(tx, &order, certificate, reason)?;
            }
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "certificate.revoke",
                match certificate {
                    Some(id) => format!("certificate:{id}"),
                    None => format!("order:{order_id}"),
                },
                format!("{reason}{}", if immediate { " (revoked)" } else { " (pending approval)" }),
            ))?;
            Ok((!immediate).then_some(request_id))
        })
    }

    fn try_add_domain(
        &self,
        scope: &Scope,
        actor: &Actor,
        name: &str,
        container_id: Id,
        organization_id: Option<Id>,
        dcv_method: DcvMethod,
    ) -> Result<Domain, LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("register domains").into());
        }
        if dcv_method == DcvMethod::Operator {
            return Err(Refusal::OperatorOnlyDcv.into());
        }
        let name = domain_name(name, self.issuance.test_names)?;
        if !scope.allows_container(container_id) {
            return Err(LifecycleError::NotFound(Object::Container));
        }
        self.store.transact(|tx| {
            if let Some(org) = organization_id {
                tx.organization(scope, org)?.ok_or(LifecycleError::NotFound(Object::Organization))?;
            }
            let domain = NewDomain {
                account_id: scope.account_id,
                container_id,
                organization_id,
                name: name.clone(),
                dcv_method,
                dcv_token: dcv_method.uses_token().then(|| DcvToken::generate(self.now)),
                at: self.now,
                validated_at: None,
            };
            let id = tx
                .insert_domain(&domain)?
                .ok_or_else(|| LifecycleError::from(Refusal::DuplicateDomain(name.clone())))?;
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "domain.create",
                format!("domain:{id}"),
                format!("{name} (pending validation)"),
            ))?;
            tx.domain(scope.account_id, id)?.ok_or(LifecycleError::NotFound(Object::Domain))
        })
    }

    /// A domain of the scope inside a transaction, or not found.
    fn visible_domain(
        tx: &mut dyn Transaction,
        scope: &Scope,
        domain_id: Id,
    ) -> Result<Domain, LifecycleError> {
        tx.domain(scope.account_id, domain_id)?
            .filter(|d| scope.allows_container(d.container_id))
            .ok_or(LifecycleError::NotFound(Object::Domain))
    }

    fn try_change_dcv(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        method: Option<DcvMethod>,
    ) -> Result<(Domain, bool), LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("change a domain's validation").into());
        }
        if method == Some(DcvMethod::Operator) {
            return Err(Refusal::OperatorOnlyDcv.into());
        }
        self.store.transact(|tx| {
            let d = Self::visible_domain(tx, scope, domain_id)?;
            // `None`: a new random value for the method the domain has.
            let (method, changed) = match method {
                Some(m) => (m, m != d.dcv_method),
                None if d.dcv_method.uses_token() => (d.dcv_method, true),
                None => {
                    return Err(Refusal::DcvMethodHasNoToken.into());
                }
            };
            if changed {
                let token = method.uses_token().then(|| DcvToken::generate(self.now));
                tx.set_domain_dcv(d.id, method, token.as_ref())?;
                tx.insert_audit(&audit(
                    scope,
                    actor,
                    self.now,
                    "domain.dcv",
                    format!("domain:{}", d.id),
                    format!("{} (new random value)", d.name),
                ))?;
            }
            Ok((tx.domain(scope.account_id, d.id)?.ok_or(LifecycleError::NotFound(Object::Domain))?, changed))
        })
    }

    fn try_record_dcv_check(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        checked: Option<&DcvToken>,
        outcome: Result<(), DcvFailure>,
    ) -> Result<Domain, LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("validate domains").into());
        }
        self.store.transact(|tx| {
            let d = Self::visible_domain(tx, scope, domain_id)?;
            if d.dcv_token.as_ref() != checked {
                return Err(Refusal::DcvTokenChanged.into());
            }
            if let Err(failure) = &outcome {
                return Err(Refusal::Dcv { name: d.name, failure: failure.clone() }.into());
            }
            tx.set_domain_validated(d.id, d.dcv_method, self.now)?;
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "domain.validate",
                format!("domain:{}", d.id),
                format!("{} (control shown)", d.name),
            ))?;
            tx.domain(scope.account_id, d.id)?.ok_or(LifecycleError::NotFound(Object::Domain))
        })
    }

    /// Deletes a domain of the account (administrators only, as registering). Names it covered
    /// need validating again before new certificates use them; issued certificates stay.
    pub fn remove_domain(&self, scope: &Scope, actor: &Actor, domain_id: Id) -> Result<(), LifecycleError> {
        if !actor.may_skip_approval {
            return Err(Refusal::AdministratorsOnly("delete domains").into());
        }
        self.store.transaction(&mut |tx| {
            if !tx.delete_domain(scope.account_id, domain_id)? {
                return Err(LifecycleError::NotFound(Object::Domain));
            }
            tx.insert_audit(&audit(
                scope,
                actor,
                self.now,
                "domain.delete",
                format!("domain:{domain_id}"),
                String::new(),
            ))
            .map_err(Into::into)
        })
    }
}

/// A domain name as registered: normalised, no wildcard, no public suffix (`co.uk`) and no
/// address, which nobody (tenant or operator) vouches for.
fn domain_name(name: &str, test_names: policy::TestNames) -> Result<String, LifecycleError> {
    let name = names::normalize(name).ok().filter(|n| !names::is_wildcard(n)).ok_or_else(|| {
        LifecycleError::from(Refusal::InvalidDomainName { name: name.to_owned(), refusal: None })
    })?;
    if let Err(refusal @ (NameRefusal::PublicSuffix(_) | NameRefusal::IpAddress(_))) =
        policy::check_public_name(&name, test_names)
    {
        return Err(Refusal::InvalidDomainName { name, refusal: Some(refusal) }.into());
    }
    Ok(name)
}

/// The operator vouches for `name` in account `account_id` (a private deployment's domain,
/// `certkeep domain vouch`): the domain is created in the account's root container (or its
/// pending or expired validation renewed) as validated now by [`DcvMethod::Operator`], and
/// the audit log says so (no user or key: the operator, from `source`).
pub fn vouch_domain(
    store: &dyn Store,
    now: OffsetDateTime,
    test_names: policy::TestNames,
    account_id: Id,
    name: &str,
    source: &str,
) -> Result<Domain, LifecycleError> {
    let scope = Scope { account_id, containers: None };
    let container_id = store
        .list_containers(&scope)?
        .into_iter()
        .find(|c| c.parent_id.is_none())
        .map(|c| c.container.id)
        .ok_or(LifecycleError::NotFound(Object::Account))?;
    let result = domain_name(name, test_names).and_then(|name| {
        store.transact(|tx| {
            let id = match tx.domain_named(account_id, &name)? {
                Some(d) => {
                    tx.set_domain_dcv(d.id, DcvMethod::Operator, None)?;
                    tx.set_domain_validated(d.id, DcvMethod::Operator, now)?;
                    d.id
                }
                None => {
                    let domain = NewDomain {
                        account_id,
                        container_id,
                        organization_id: None,
                        name: name.clone(),
                        dcv_method: DcvMethod::Operator,
                        dcv_token: None,
                        at: now,
                        validated_at: Some(now),
                    };
                    tx.insert_domain(&domain)?
                        .ok_or_else(|| LifecycleError::from(Refusal::DuplicateDomain(name.clone())))?
                }
            };
            tx.insert_audit(&AuditEvent {
                account_id: Some(account_id),
                user_id: None,
                api_key_id: None,
                action: "domain.vouch".into(),
                object: format!("domain:{id}"),
                detail: format!("{name} (vouched for by the operator)"),
                source: source.into(),
                at: now,
                refused: false,
            })?;
            tx.domain(account_id, id)?.ok_or(LifecycleError::NotFound(Object::Domain))
        })
    });
    if let Some(e) = result.as_ref().err().filter(|e| e.is_refusal()) {
        let _ = store.record_audit(&AuditEvent {
            account_id: Some(account_id),
            user_id: None,
            api_key_id: None,
            action: "domain.vouch".into(),
            object: format!("domain:{name}"),
            detail: e.to_string(),
            source: source.into(),
            at: now,
            refused: true,
        });
    }
    result
}

/// The operations. Each one that is refused leaves a `refused` audit event of its own (the
/// refused transaction rolled back with everything it wrote).
impl Lifecycle<'_> {
    /// Places an order; issues it at once when approval may be skipped.
    pub fn place_order(
        &self,
        scope: &Scope,
        actor: &Actor,
        req: &OrderRequest,
    ) -> Result<Placed, LifecycleError> {
        let object = format!("order:new {} {}", req.product.name_id, req.common_name);
        self.recorded(scope, actor, "order.create", object, self.try_place_order(scope, actor, req))
    }

    /// Approves or rejects a pending request; approving issues (or revokes) at once.
    pub fn decide_request(
        &self,
        scope: &Scope,
        actor: &Actor,
        request_id: Id,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<(), LifecycleError> {
        let result = self.try_decide_request(scope, actor, request_id, approve, comment);
        let action = if approve { "request.approve" } else { "request.reject" };
        self.recorded(scope, actor, action, format!("request:{request_id}"), result)
    }

    /// Cancels an order that is not issued yet; a pending reissue is withdrawn instead.
    pub fn cancel(
        &self,
        scope: &Scope,
        actor: &Actor,
        order_id: Id,
        note: Option<&str>,
    ) -> Result<(), LifecycleError> {
        let result = self.try_cancel(scope, actor, order_id, note);
        self.recorded(scope, actor, "order.cancel", format!("order:{order_id}"), result)
    }

    /// Requests a duplicate (kind `Duplicate`) or a reissue (kind `Reissue`) of an issued order.
    /// Returns (request id, certificate id, DER when issued at once).
    pub fn add_certificate(
        &self,
        scope: &Scope,
        actor: &Actor,
        order_id: Id,
        kind: CertificateKind,
        req: &CertificateRequest,
    ) -> Result<(Id, Id, Option<Vec<u8>>), LifecycleError> {
        let result = self.try_add_certificate(scope, actor, order_id, kind, req);
        let action = if kind == CertificateKind::Duplicate { "order.duplicate" } else { "order.reissue" };
        self.recorded(scope, actor, action, format!("order:{order_id}"), result)
    }

    /// Revokes a certificate or a whole order, at once when approval may be skipped, else as a
    /// pending request (returned).
    pub fn revoke(
        &self,
        scope: &Scope,
        actor: &Actor,
        target: &RevokeTarget,
        reason: &str,
        comment: Option<&str>,
        skip_approval: bool,
    ) -> Result<Option<Id>, LifecycleError> {
        let result = self.try_revoke(scope, actor, target, reason, comment, skip_approval);
        let object = match target {
            RevokeTarget::Order(id) => format!("order:{id}"),
            RevokeTarget::Certificate(CertificateRef::Id(id)) => format!("certificate:{id}"),
            RevokeTarget::Certificate(CertificateRef::Serial(serial)) => format!("certificate:{serial}"),
        };
        self.recorded(scope, actor, "certificate.revoke", object, result)
    }

    /// Registers a domain for the account, pending until its control is shown with
    /// `dcv_method` (administrators only; nobody but the operator vouches for a domain).
    pub fn add_domain(
        &self,
        scope: &Scope,
        actor: &Actor,
        name: &str,
        container_id: Id,
        organization_id: Option<Id>,
        dcv_method: DcvMethod,
    ) -> Result<Domain, LifecycleError> {
        let result = self.try_add_domain(scope, actor, name, container_id, organization_id, dcv_method);
        self.recorded(scope, actor, "domain.create", format!("domain:{name}"), result)
    }

    /// Sets a domain's DCV method (`Some`) or draws a new random value for the one it has
    /// (`None`). A new method gets a new random value; the same method changes nothing
    /// (false). A validation already recorded keeps counting.
    pub fn change_dcv(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        method: Option<DcvMethod>,
    ) -> Result<(Domain, bool), LifecycleError> {
        let result = self.try_change_dcv(scope, actor, domain_id, method);
        self.recorded(scope, actor, "domain.dcv", format!("domain:{domain_id}"), result)
    }

    /// Records the outcome of checking `checked` (the random value the front door looked
    /// for, `None` when the domain has none) on a domain: validated now, or refused with the
    /// failure (audited either way).
    pub fn record_dcv_check(
        &self,
        scope: &Scope,
        actor: &Actor,
        domain_id: Id,
        checked: Option<&DcvToken>,
        outcome: Result<(), DcvFailure>,
    ) -> Result<Domain, LifecycleError> {
        let result = self.try_record_dcv_check(scope, actor, domain_id, checked, outcome);
        self.recorded(scope, actor, "domain.validate", format!("domain:{domain_id}"), result)
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
