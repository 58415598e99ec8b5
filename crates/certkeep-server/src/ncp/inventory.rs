//! Reading the inventory the way Certificate Manager sees it: which certificates an NCP key
//! may address, an order with its certificates, and NCP's records of them.

use certkeep_core::{
    CertificateGroup, CertificateKind, CertificateRecord, CertificateStatus, Id, OrderRef, Product, Scope,
    Store, StoreResult, lifecycle::CertificateRef, ncp::NcpCertificateMeta,
};

use super::{
    error::NcpError,
    views::{EXTERNAL_PRODUCT, Metas, Render, paid_type},
};
use crate::AppState;

/// The NCP access key a request was signed with (added by the authentication layer).
#[derive(Debug, Clone)]
pub struct NcpCaller {
    /// The access key.
    pub access_key: String,
}

/// The account's NCP records, ready to render with.
pub async fn render(state: &AppState, account_id: Id) -> Result<Render, NcpError> {
    let metas = state.store(move |s| s.ncp_certificate_meta(account_id)).await?;
    Ok(Render {
        account_id,
        now: state.clock.now(),
        zone: state.ncp_time_zone,
        metas: metas.into_iter().map(|m| (m.certificate_id, m)).collect::<Metas>(),
    })
}

/// One order of the scope with its certificates that are not archived, oldest first.
pub fn group(s: &dyn Store, scope: &Scope, order_id: Id) -> StoreResult<Option<CertificateGroup>> {
    let Some(order) = s.find_order(scope, &OrderRef::Id(order_id))? else { return Ok(None) };
    let mut certificates = Vec::new();
    for kind in [CertificateKind::Primary, CertificateKind::Reissue, CertificateKind::Duplicate] {
        if let Some(found) = s.order_certificates(scope, order_id, kind, false)? {
            certificates.extend(found.certificates);
        }
    }
    certificates.sort_by_key(|c| c.id);
    Ok(Some(CertificateGroup {
        order_id,
        status: order.summary.status,
        product_name_id: order.summary.product_name_id,
        organization: order.organization,
        certificates,
    }))
}

/// A certificate an NCP key may address: one of a paid order, or one imported and not deleted.
pub struct Addressed {
    /// The certificate.
    pub record: CertificateRecord,
    /// Its DER, once issued.
    pub der: Option<Vec<u8>>,
    /// NCP's record of it, if any.
    pub meta: Option<NcpCertificateMeta>,
}

impl Addressed {
    /// The DER of an issued or revoked certificate.
    pub fn issued_der(&self) -> Option<&[u8]> {
        matches!(self.record.status, CertificateStatus::Issued | CertificateStatus::Revoked)
            .then_some(self.der.as_deref())
            .flatten()
    }
}

/// Parses NCP's `certificateNo`: a positive integer.
pub fn certificate_no(text: &str) -> Result<Id, NcpError> {
    text.trim().parse().ok().filter(|n: &Id| *n > 0).ok_or_else(NcpError::no_certificate)
}

/// The certificate `id` of the scope as NCP sees it; `2200` for anything else.
pub async fn addressed(state: &AppState, scope: &Scope, id: Id) -> Result<Addressed, NcpError> {
    let scope = scope.clone();
    let found = state
        .store(move |s| {
            let Some((record, der)) = s.find_certificate(&scope, &CertificateRef::Id(id))? else {
                return Ok(None);
            };
            let order = s.find_order(&scope, &OrderRef::Id(record.order_id))?;
            let meta = s.ncp_certificate_meta(scope.account_id)?.into_iter().find(|m| m.certificate_id == id);
            Ok(order.map(|o| (record, der, o.summary.product_name_id, meta)))
        })
        .await?;
    let (record, der, product, meta) = found.ok_or_else(NcpError::no_certificate)?;
    let paid = Product::find(&product).and_then(paid_type).is_some();
    let external = product == EXTERNAL_PRODUCT && meta.as_ref().is_some_and(|m| m.external && !m.deleted);
    if !paid && !external {
        return Err(NcpError::no_certificate());
    }
    Ok(Addressed { record, der, meta })
}
