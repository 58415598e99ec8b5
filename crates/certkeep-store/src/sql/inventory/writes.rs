//! Inserting orders with their names, certificates, requests and custom fields.

use crate::sql::db::{Db, DbResult, params};
use crate::sql::rows::validity_columns;
use certkeep_core::{CertificateKind, CertificateStatus, Id, NewCertificate, NewOrder, NewRequest};

/// Writes one order and everything it carries; returns the order id.
pub fn insert_order(db: &mut dyn Db, order: &NewOrder) -> DbResult<Id> {
    insert_order_issued_by(db, order, None)
}

/// [`insert_order`] for an order whose certificates were signed elsewhere, by the issuer that
/// `imported_issuer` names (see [`insert_certificate`]).
pub fn insert_order_issued_by(
    db: &mut dyn Db,
    order: &NewOrder,
    imported_issuer: Option<&str>,
) -> DbResult<Id> {
    let (validity_kind, validity_value) = validity_columns(order.validity);
    let (api_key_name, api_key_type) = order.api_key.clone().unzip();
    let order_id = db.insert_one(
        "INSERT INTO orders (account_id, container_id, organization_id, user_id, product_name_id, \
         status, common_name, dns_names, email, signature_hash, validity_kind, validity_value, \
         date_created, renewed_order_id, disable_renewal_notifications, auto_renew, auto_reissue, \
         disable_issuance_email, disable_ct, payment_method, origin, api_key_name, api_key_type, \
         alternative_order_id, organization_units, purchased_dns_names, public_id, status_updated_at, \
         acme_contract_id) \
         VALUES (?,?,?,?,?,?,?,?, coalesce(nullif(?9, ''), (SELECT lower(email) FROM users WHERE id = ?4)), \
         ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        params![
            order.account_id,
            order.container_id,
            order.organization_id,
            order.user_id,
            order.product_name_id,
            order.status.as_str(),
            order.common_name.to_lowercase(),
            joined(&order.dns_names),
            order.email.to_lowercase(),
            order.signature_hash,
            validity_kind,
            validity_value,
            order.date_created.unix_timestamp(),
            order.renewed_order_id,
            order.disable_renewal_notifications,
            order.auto_renew,
            order.auto_reissue,
            order.disable_issuance_email,
            order.disable_ct,
            order.payment_method,
            order.origin.as_str(),
            api_key_name,
            api_key_type,
            order.alternative_order_id,
            order.organization_units.join("\n"),
            order.purchased_dns_names,
            order.public_id,
            order.date_created.unix_timestamp(),
            order.acme_contract_id,
        ],
    )?;
    for (metadata_id, value) in &order.custom_fields {
        db.execute(
            "INSERT INTO order_custom_fields (order_id, metadata_id, value) VALUES (?, ?, ?)",
            params![order_id, metadata_id, value],
        )?;
    }

    let mut current: Option<(Id, &NewCertificate)> = None;
    for cert in &order.certificates {
        let id = insert_certificate(db, order_id, order.account_id, cert, imported_issuer)?;
        if is_current_candidate(cert, current.map(|(_, c)| c)) {
            current = Some((id, cert));
        }
    }
    // The current certificate also indexes the order's names (filters[domain_name]).
    if let Some((id, _)) = current {
        set_current_certificate(db, order_id, id)?;
    }

    for r in &order.requests {
        insert_request(db, order_id, order.account_id, r, None, None)?;
    }
    if let Some(renewed) = order.renewed_order_id {
        db.execute(
            "UPDATE orders SET is_renewed = TRUE WHERE id = ? AND account_id = ?",
            params![renewed, order.account_id],
        )?;
    }
    Ok(order_id)
}

/// The order's current certificate is its latest issued primary or reissue; before any is
/// issued, the primary.
fn is_current_candidate(cert: &NewCertificate, current: Option<&NewCertificate>) -> bool {
    if cert.kind == CertificateKind::Duplicate {
        return false;
    }
    let issued =
        |c: &NewCertificate| c.status == CertificateStatus::Issued || c.status == CertificateStatus::Revoked;
    match current {
        None => true,
        Some(cur) => issued(cert) || !issued(cur) && cert.kind == CertificateKind::Primary,
    }
}

/// Copies a certificate's names and issuance facts onto its order, making it the current one.
pub fn set_current_certificate(db: &mut dyn Db, order_id: Id, certificate_id: Id) -> DbResult<()> {
    db.execute(
        "UPDATE orders SET (certificate_id, serial_number, thumbprint, valid_from, valid_till, common_name, \
         dns_names) = (SELECT id, serial_number, thumbprint, valid_from, valid_till, common_name, dns_names \
         FROM certificates WHERE id = ?1) WHERE id = ?2",
        params![certificate_id, order_id],
    )?;
    db.execute("DELETE FROM order_names WHERE order_id = ?", params![order_id])?;
    let (cn, names): (String, String) = db.row(
        "SELECT common_name, dns_names FROM certificates WHERE id = ?",
        params![certificate_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for name in std::iter::once(cn.as_str()).chain(names.split('\n').filter(|n| !n.is_empty())) {
        db.execute(
            "INSERT INTO order_names (name, order_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            params![name, order_id],
        )?;
    }
    Ok(())
}

/// Adds a certificate to an order. `imported_issuer` names the issuer of a certificate signed
/// elsewhere (its serial is then unique only per account and issuer); `None` for certkeep's own
/// (unique over all).
pub fn insert_certificate(
    db: &mut dyn Db,
    order_id: Id,
    account_id: Id,
    cert: &NewCertificate,
    imported_issuer: Option<&str>,
) -> DbResult<Id> {
    let issued = cert.issued.as_ref();
    db.insert_one(
        "INSERT INTO certificates (order_id, account_id, kind, status, common_name, dns_names, csr, \
         server_platform_id, signature_hash, key_size, date_created, serial_number, thumbprint, \
         valid_from, valid_till, date_issued, der, archived, user_id, imported_issuer, client_auth) \
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        params![
            order_id,
            account_id,
            cert.kind.as_str(),
            cert.status.as_str(),
            cert.common_name.to_lowercase(),
            joined(&cert.dns_names),
            cert.csr,
            cert.server_platform_id,
            cert.signature_hash,
            cert.key_size,
            cert.date_created.unix_timestamp(),
            issued.map(|i| &i.serial_number),
            issued.map(|i| &i.thumbprint),
            issued.map(|i| i.valid_from.unix_timestamp()),
            issued.map(|i| i.valid_till.unix_timestamp()),
            issued.map(|i| i.date_issued.unix_timestamp()),
            issued.map(|i| &i.der),
            cert.archived,
            cert.user_id,
            imported_issuer,
            cert.client_auth,
        ],
    )
}

/// Adds a request to an order.
pub fn insert_request(
    db: &mut dyn Db,
    order_id: Id,
    account_id: Id,
    r: &NewRequest,
    certificate_id: Option<Id>,
    revocation_reason: Option<&str>,
) -> DbResult<Id> {
    db.insert_one(
        "INSERT INTO requests (order_id, account_id, date, type, status, comments, user_id, certificate_id, \
         revocation_reason) VALUES (?,?,?,?,?,?,?,?,?)",
        params![
            order_id,
            account_id,
            r.date.unix_timestamp(),
            r.request_type.as_str(),
            r.status.as_str(),
            r.comments,
            r.user_id,
            certificate_id,
            revocation_reason,
        ],
    )
}

fn joined(names: &[String]) -> String {
    names.iter().map(|n| n.to_lowercase()).collect::<Vec<_>>().join("\n")
}
