//! Approving or rejecting a pending request: approving issues (or revokes) at once.

use super::{Actor, Lifecycle, LifecycleError, audit, validity_end};
use crate::{
    CertificateStatus, Id, OrderStatus, RequestStatus, RequestType, Scope,
    refusal::{Object, Refusal},
};

impl Lifecycle<'_> {
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
                    self.issue_pending(
                        tx,
                        scope,
                        &order,
                        cert_id,
                        validity_end(order.validity, self.now),
                        None,
                    )?;
                    tx.set_order_status(order.id, OrderStatus::Issued, self.now)?;
                    tx.set_current_certificate(order.id, cert_id)?;
                }
                (RequestType::Duplicate, true) => {
                    let end = order.certificate.valid_till.unwrap_or(self.now);
                    self.issue_pending(tx, scope, &order, cert_id, end, None)?;
                }
                (RequestType::Reissue, true) => {
                    let end = validity_end(order.validity, order.date_created);
                    self.issue_pending(tx, scope, &order, cert_id, end, None)?;
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
}
