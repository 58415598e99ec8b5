//! NCP keys, and the certificates of an account grouped by order (NCP's getPaidCertificates).

use std::collections::HashMap;

use certkeep_core::{
    CertificateGroup, CertificateGroupPage, CertificateGroupQuery, Id, OrderStatus, Organization, Scope,
    ncp::{NcpAcmeAccount, NcpCertificateMeta, NcpKey, NewNcpKey},
};
use time::OffsetDateTime;

use super::{
    db::{Db, DbResult, limit, offset, params, values},
    query::Condition,
    rows::{self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT},
};

/// Inserts a key if its account exists.
pub fn create_key(db: &mut dyn Db, key: &NewNcpKey, now: OffsetDateTime) -> DbResult<Option<Id>> {
    db.insert(
        "INSERT INTO ncp_keys (account_id, access_key, sealed_secret, created_at) \
         SELECT id, ?, ?, ? FROM accounts WHERE id = ?",
        params![key.access_key, key.sealed_secret, now.unix_timestamp(), key.account_id],
    )
}

/// The active key with this access key.
pub fn find_key(db: &mut dyn Db, access_key: &str) -> DbResult<Option<NcpKey>> {
    db.row_opt(
        "SELECT id, account_id, access_key, sealed_secret FROM ncp_keys \
         WHERE access_key = ? AND revoked_at IS NULL",
        params![access_key],
        |r| {
            Ok(NcpKey {
                id: r.get(0)?,
                account_id: r.get(1)?,
                access_key: r.get(2)?,
                sealed_secret: r.get(3)?,
            })
        },
    )
}

/// Revokes the active key with this access key; false when there is none.
pub fn revoke_key(db: &mut dyn Db, access_key: &str, now: OffsetDateTime) -> DbResult<bool> {
    let changed = db.execute(
        "UPDATE ncp_keys SET revoked_at = ? WHERE access_key = ? AND revoked_at IS NULL",
        params![now.unix_timestamp(), access_key],
    )?;
    Ok(changed > 0)
}

/// One page of orders with their certificates. Call inside a read transaction so that the
/// total and the page agree.
pub fn certificate_groups(
    db: &mut dyn Db,
    scope: &Scope,
    query: &CertificateGroupQuery,
) -> DbResult<CertificateGroupPage> {
    if query.product_name_ids.is_empty() {
        return Ok(CertificateGroupPage { total: 0, groups: Vec::new() });
    }
    let name = query.common_name.as_ref().map(|n| n.to_lowercase());
    let mut cond = Condition::scope(scope);
    cond.push_in("o.product_name_id", &query.product_name_ids);
    if let Some(name) = &name {
        cond.push(
            "EXISTS (SELECT 1 FROM certificates x WHERE x.order_id = o.id AND x.archived = FALSE \
             AND x.common_name = ?)",
            [name.clone().into()],
        );
    }
    let total: i64 =
        db.row(&format!("SELECT count(*) FROM orders o WHERE {}", cond.sql), &values(&cond.params), |r| {
            r.get(0)
        })?;

    let sql = format!(
        "SELECT o.id, o.status, o.product_name_id, o.organization_id FROM orders o WHERE {} \
         ORDER BY o.id LIMIT ? OFFSET ?",
        cond.sql
    );
    cond.params.extend([limit(query.limit).into(), offset(query.offset).into()]);
    let orders: Vec<(Id, OrderStatus, String, Option<Id>)> = db.rows(&sql, &values(&cond.params), |r| {
        Ok((r.get(0)?, rows::parsed(r, 1, OrderStatus::parse)?, r.get(2)?, r.get(3)?))
    })?;

    let certificates_sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.order_id = ?1 AND x.archived = FALSE \
         AND (CAST(?2 AS TEXT) IS NULL OR x.common_name = ?2) ORDER BY x.id"
    );
    let organization_sql = format!("{ORGANIZATION_SELECT} WHERE id = ?");
    let mut organizations: HashMap<Id, Organization> = HashMap::new();
    let mut groups = Vec::with_capacity(orders.len());
    for (order_id, status, product_name_id, organization_id) in orders {
        let organization = match organization_id {
            Some(id) => match organizations.get(&id) {
                Some(o) => Some(o.clone()),
                None => {
                    let o = db.row(&organization_sql, params![id], rows::organization)?;
                    organizations.insert(id, o.clone());
                    Some(o)
                }
            },
            None => None,
        };
        let certificates = db.rows(&certificates_sql, params![order_id, name], rows::certificate)?;
        groups.push(CertificateGroup { order_id, status, product_name_id, organization, certificates });
    }
    Ok(CertificateGroupPage { total: total.max(0) as u64, groups })
}

const META_COLUMNS: &str =
    "certificate_id, account_id, name, renewal, sealed_private_key, external, chain_pem, deleted";

/// NCP's records of an account's certificates.
pub fn certificate_meta(db: &mut dyn Db, account_id: Id) -> DbResult<Vec<NcpCertificateMeta>> {
    db.rows(
        &format!("SELECT {META_COLUMNS} FROM ncp_certificates WHERE account_id = ? ORDER BY certificate_id"),
        params![account_id],
        |r| {
            Ok(NcpCertificateMeta {
                certificate_id: r.get(0)?,
                account_id: r.get(1)?,
                name: r.get(2)?,
                renewal: r.get(3)?,
                sealed_private_key: r.get(4)?,
                external: r.get(5)?,
                chain_pem: r.get(6)?,
                deleted: r.get(7)?,
            })
        },
    )
}

/// Inserts or replaces NCP's record of a certificate, if the certificate is the account's.
pub fn save_certificate_meta(db: &mut dyn Db, m: &NcpCertificateMeta) -> DbResult<bool> {
    let saved = db.execute(
        &format!(
            "INSERT INTO ncp_certificates ({META_COLUMNS}) \
             SELECT id, account_id, ?, ?, ?, ?, ?, ? FROM certificates WHERE id = ? AND account_id = ? \
             ON CONFLICT (certificate_id) DO UPDATE SET name = excluded.name, renewal = excluded.renewal, \
             sealed_private_key = excluded.sealed_private_key, external = excluded.external, \
             chain_pem = excluded.chain_pem, deleted = excluded.deleted"
        ),
        params![
            m.name,
            m.renewal,
            m.sealed_private_key,
            m.external,
            m.chain_pem,
            m.deleted,
            m.certificate_id,
            m.account_id
        ],
    )?;
    Ok(saved == 1)
}

/// Records an NCP ACME account whose contract belongs to the account.
pub fn create_acme_account(db: &mut dyn Db, a: &NcpAcmeAccount) -> DbResult<()> {
    db.execute(
        "INSERT INTO ncp_acme_accounts (contract_id, account_id, alias, validation_mode, validity_days) \
         SELECT id, account_id, ?, ?, ? FROM acme_contracts WHERE id = ? AND account_id = ?",
        params![a.alias, a.validation_mode, a.validity_days, a.contract_id, a.account_id],
    )
    .map(drop)
}

/// The NCP ACME accounts of an account, oldest first.
pub fn acme_accounts(db: &mut dyn Db, account_id: Id) -> DbResult<Vec<NcpAcmeAccount>> {
    db.rows(
        "SELECT contract_id, account_id, alias, validation_mode, validity_days FROM ncp_acme_accounts \
         WHERE account_id = ? ORDER BY contract_id",
        params![account_id],
        |r| {
            Ok(NcpAcmeAccount {
                contract_id: r.get(0)?,
                account_id: r.get(1)?,
                alias: r.get(2)?,
                validation_mode: r.get(3)?,
                validity_days: r.get(4)?,
            })
        },
    )
}

/// Deletes a domain of an account.
pub fn delete_domain(db: &mut dyn Db, account_id: Id, domain_id: Id) -> DbResult<bool> {
    let deleted =
        db.execute("DELETE FROM domains WHERE id = ? AND account_id = ?", params![domain_id, account_id])?;
    Ok(deleted == 1)
}
