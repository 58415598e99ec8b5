//! Placing an order (issued at once or pending approval) and cancelling one not issued yet.

use time::Duration;

use super::{Actor, CsrRef, Lifecycle, LifecycleError, VerifiedCsr, audit, validity_end};
use crate::{
    CertificateKind, CertificateStatus, Id, NewCertificate, NewOrder, NewRequest, OrderStatus, Origin,
    Product, RequestStatus, RequestType, Scope, ValidationType, Validity,
    refusal::{Object, Refusal},
};

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
    /// The verified CSR.
    pub csr: VerifiedCsr,
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
    /// Also assert id-kp-clientAuth (public products only until
    /// [`policy::CLIENT_AUTH_LAST_DAY`](crate::policy::CLIENT_AUTH_LAST_DAY)).
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
        csr: VerifiedCsr,
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
                    (CsrRef(&req.csr.pem, req.csr.spki_der.as_deref()), &cn, &dns),
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
                    csr: req.csr.pem.clone(),
                    server_platform_id: req.server_platform_id,
                    signature_hash: "sha256".into(),
                    key_size: req.csr.key_size,
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
}
