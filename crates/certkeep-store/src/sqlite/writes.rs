//! Inserting orders with their names, certificates, requests and custom fields.

use certkeep_core::{CertificateKind, CertificateStatus, Id, NewCertificate, NewOrder};
use rusqlite::{Transaction, params};

use super::rows::validity_columns;

/// Writes one order and everything it carries; returns the order id.
pub fn insert_order(tx: &Transaction, order: &NewOrder) -> rusqlite::Result<Id> {
    let (validity_kind, validity_value) = validity_columns(order.validity);
    let (api_key_name, api_key_type) = order.api_key.clone().unzip();
    tx.prepare_cached(
        "INSERT INTO orders (account_id, container_id, organization_id, user_id, product_name_id, \
         status, common_name, dns_names, email, signature_hash, validity_kind, validity_value, \
         date_created, renewed_order_id, disable_renewal_notifications, auto_renew, auto_reissue, \
         disable_issuance_email, disable_ct, payment_method, origin, api_key_name, api_key_type, \
         alternative_order_id, organization_units, purchased_dns_names, public_id) \
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )?
    .execute(params![
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
    ])?;
    let order_id = tx.last_insert_rowid();

    let mut insert_name =
        tx.prepare_cached("INSERT OR IGNORE INTO order_names (name, order_id) VALUES (?, ?)")?;
    for name in std::iter::once(&order.common_name).chain(&order.dns_names) {
        insert_name.execute(params![name.to_lowercase(), order_id])?;
    }
    let mut insert_field =
        tx.prepare_cached("INSERT INTO order_custom_fields (order_id, metadata_id, value) VALUES (?, ?, ?)")?;
    for (metadata_id, value) in &order.custom_fields {
        insert_field.execute(params![order_id, metadata_id, value])?;
    }

    let mut current: Option<(Id, &NewCertificate)> = None;
    for cert in &order.certificates {
        let id = insert_certificate(tx, order, order_id, cert)?;
        if is_current_candidate(cert, current.map(|(_, c)| c)) {
            current = Some((id, cert));
        }
    }
    if let Some((id, cert)) = current {
        let issued = cert.issued.as_ref();
        tx.prepare_cached(
            "UPDATE orders SET certificate_id = ?, serial_number = ?, thumbprint = ?, valid_from = ?, \
             valid_till = ? WHERE id = ?",
        )?
        .execute(params![
            id,
            issued.map(|i| &i.serial_number),
            issued.map(|i| &i.thumbprint),
            issued.map(|i| i.valid_from.unix_timestamp()),
            issued.map(|i| i.valid_till.unix_timestamp()),
            order_id,
        ])?;
    }

    let mut insert_request = tx.prepare_cached(
        "INSERT INTO requests (order_id, account_id, date, type, status, comments, user_id) VALUES (?,?,?,?,?,?,?)",
    )?;
    for r in &order.requests {
        insert_request.execute(params![
            order_id,
            order.account_id,
            r.date.unix_timestamp(),
            r.request_type.as_str(),
            r.status.as_str(),
            r.comments,
            r.user_id,
        ])?;
    }
    if let Some(renewed) = order.renewed_order_id {
        tx.prepare_cached("UPDATE orders SET is_renewed = 1 WHERE id = ? AND account_id = ?")?
            .execute(params![renewed, order.account_id])?;
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

fn insert_certificate(
    tx: &Transaction,
    order: &NewOrder,
    order_id: Id,
    cert: &NewCertificate,
) -> rusqlite::Result<Id> {
    let issued = cert.issued.as_ref();
    tx.prepare_cached(
        "INSERT INTO certificates (order_id, account_id, kind, status, common_name, dns_names, csr, \
         server_platform_id, signature_hash, key_size, date_created, serial_number, thumbprint, \
         valid_from, valid_till, date_issued, der, archived, user_id) \
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )?
    .execute(params![
        order_id,
        order.account_id,
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
    ])?;
    Ok(tx.last_insert_rowid())
}

fn joined(names: &[String]) -> String {
    names.iter().map(|n| n.to_lowercase()).collect::<Vec<_>>().join("\n")
}
