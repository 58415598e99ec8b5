//! Certificates of an issued order: duplicates, reissues and revocation.

use super::{
    Actor, CertificateRef, Lifecycle, LifecycleError, Transaction, VerifiedCsr, audit, validity_end,
};
use crate::{
    CertificateKind, CertificateRecord, CertificateStatus, Id, NewCertificate, NewRequest, OrderStatus,
    OrderSummary, Product, RequestStatus, RequestType, Scope,
    refusal::{Object, Refusal},
};

/// A duplicate or reissue request.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    /// Common name (default: the order's).
    pub common_name: Option<String>,
    /// Additional names (default: the order's).
    pub dns_names: Option<Vec<String>>,
    /// The verified CSR.
    pub csr: VerifiedCsr,
    /// Server platform id.
    pub server_platform_id: Option<i64>,
    /// Asked to skip approval.
    pub skip_approval: bool,
    /// Comment.
    pub comments: Option<String>,
    /// Also assert id-kp-clientAuth (public products only until
    /// [`policy::CLIENT_AUTH_LAST_DAY`](crate::policy::CLIENT_AUTH_LAST_DAY)).
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

impl Lifecycle<'_> {
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
                csr: req.csr.pem.clone(),
                server_platform_id: req.server_platform_id.unwrap_or(-1),
                signature_hash: "sha256".into(),
                key_size: req.csr.key_size,
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
                let key = req.csr.spki_der.as_deref();
                der = Some(self.issue_pending(tx, scope, &order, cert_id, end, key)?.der);
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

    pub(super) fn revoke_now(
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
}
