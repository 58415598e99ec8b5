//! NCP keys, and the certificates of an account grouped by order (NCP's getPaidCertificates).

use std::collections::HashMap;

use certkeep_core::{
    CertificateGroup, CertificateGroupPage, CertificateGroupQuery, Id, OrderStatus, Organization, Scope,
    ncp::{NcpAcmeAccount, NcpCertificateMeta, NcpKey, NewNcpKey},
};
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use time::OffsetDateTime;

use super::{
    query::Condition,
    rows::{self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT},
};

/// Inserts a key if its account exists.
pub fn create_key(tx: &Transaction, key: &NewNcpKey, now: OffsetDateTime) -> rusqlite::Result<Option<Id>> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO ncp_keys (account_id, access_key, sealed_secret, created_at) \
         SELECT id, ?, ?, ? FROM accounts WHERE id = ?",
        )?
        .execute(params![key.access_key, key.sealed_secret, now.unix_timestamp(), key.account_id])?;
    Ok((inserted == 1).then(|| tx.last_insert_rowid()))
}

/// The active key with this access key.
pub fn find_key(conn: &Connection, access_key: &str) -> rusqlite::Result<Option<NcpKey>> {
    conn.prepare_cached(
        "SELECT id, account_id, access_key, sealed_secret FROM ncp_keys \
         WHERE access_key = ? AND revoked_at IS NULL",
    )?
    .query_row([access_key], |r| {
        Ok(NcpKey { id: r.get(0)?, account_id: r.get(1)?, access_key: r.get(2)?, sealed_secret: r.get(3)? })
    })
    .optional()
}

/// Revokes the active key with this access key; false when there is none.
pub fn revoke_key(tx: &Transaction, access_key: &str, now: OffsetDateTime) -> rusqlite::Result<bool> {
    let changed = tx
        .prepare_cached("UPDATE ncp_keys SET revoked_at = ? WHERE access_key = ? AND revoked_at IS NULL")?
        .execute(params![now.unix_timestamp(), access_key])?;
    Ok(changed > 0)
}

/// One page of orders with their certificates. Call inside a read transaction so that the
/// total and the page agree.
pub fn certificate_groups(
    conn: &Connection,
    scope: &Scope,
    query: &CertificateGroupQuery,
) -> rusqlite::Result<CertificateGroupPage> {
    if query.product_name_ids.is_empty() {
        return Ok(CertificateGroupPage { total: 0, groups: Vec::new() });
    }
    let name = query.common_name.as_ref().map(|n| n.to_lowercase());
    let mut cond = Condition::scope(scope);
    cond.push_in("o.product_name_id", &query.product_name_ids);
    if let Some(name) = &name {
        cond.push(
            "EXISTS (SELECT 1 FROM certificates x WHERE x.order_id = o.id AND x.archived = 0 \
             AND x.common_name = ?)",
            [name.clone().into()],
        );
    }
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM orders o WHERE {}", cond.sql))?
        .query_row(params_from_iter(&cond.params), |r| r.get(0))?;

    let limit = query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT o.id, o.status, o.product_name_id, o.organization_id FROM orders o WHERE {} \
         ORDER BY o.id LIMIT ? OFFSET ?",
        cond.sql
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let params = cond.params.iter().cloned().chain([limit.into(), offset.into()]);
    let orders: Vec<(Id, OrderStatus, String, Option<Id>)> = stmt
        .query_map(params_from_iter(params), |r| {
            Ok((r.get(0)?, rows::parsed(r, 1, OrderStatus::parse)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;

    let mut certificates = conn.prepare_cached(&format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.order_id = ?1 AND x.archived = 0 \
         AND (?2 IS NULL OR x.common_name = ?2) ORDER BY x.id"
    ))?;
    let mut organization = conn.prepare_cached(&format!("{ORGANIZATION_SELECT} WHERE id = ?"))?;
    let mut organizations: HashMap<Id, Organization> = HashMap::new();
    let mut groups = Vec::with_capacity(orders.len());
    for (order_id, status, product_name_id, organization_id) in orders {
        let organization = match organization_id {
            Some(id) => match organizations.get(&id) {
                Some(o) => Some(o.clone()),
                None => {
                    let o = organization.query_row([id], rows::organization)?;
                    organizations.insert(id, o.clone());
                    Some(o)
                }
            },
            None => None,
        };
        let certificates = certificates
            .query_map(params![order_id, name], rows::certificate)?
            .collect::<rusqlite::Result<_>>()?;
        groups.push(CertificateGroup { order_id, status, product_name_id, organization, certificates });
    }
    Ok(CertificateGroupPage { total: total.max(0) as u64, groups })
}

const META_COLUMNS: &str =
    "certificate_id, account_id, name, renewal, sealed_private_key, external, chain_pem, deleted";

/// NCP's records of an account's certificates.
pub fn certificate_meta(conn: &Connection, account_id: Id) -> rusqlite::Result<Vec<NcpCertificateMeta>> {
    conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS} FROM ncp_certificates WHERE account_id = ? ORDER BY certificate_id"
    ))?
    .query_map([account_id], |r| {
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
    })?
    .collect()
}

/// Inserts or replaces NCP's record of a certificate, if the certificate is the account's.
pub fn save_certificate_meta(tx: &Transaction, m: &NcpCertificateMeta) -> rusqlite::Result<bool> {
    let saved = tx
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO ncp_certificates ({META_COLUMNS}) \
             SELECT id, account_id, ?, ?, ?, ?, ?, ? FROM certificates WHERE id = ? AND account_id = ?"
        ))?
        .execute(params![
            m.name,
            m.renewal,
            m.sealed_private_key,
            m.external,
            m.chain_pem,
            m.deleted,
            m.certificate_id,
            m.account_id
        ])?;
    Ok(saved == 1)
}

/// Records an NCP ACME account whose contract belongs to the account.
pub fn create_acme_account(tx: &Transaction, a: &NcpAcmeAccount) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ncp_acme_accounts (contract_id, account_id, alias, validation_mode, validity_days) \
         SELECT id, account_id, ?, ?, ? FROM acme_contracts WHERE id = ? AND account_id = ?",
    )?
    .execute(params![a.alias, a.validation_mode, a.validity_days, a.contract_id, a.account_id])?;
    Ok(())
}

/// The NCP ACME accounts of an account, oldest first.
pub fn acme_accounts(conn: &Connection, account_id: Id) -> rusqlite::Result<Vec<NcpAcmeAccount>> {
    conn.prepare_cached(
        "SELECT contract_id, account_id, alias, validation_mode, validity_days FROM ncp_acme_accounts \
         WHERE account_id = ? ORDER BY contract_id",
    )?
    .query_map([account_id], |r| {
        Ok(NcpAcmeAccount {
            contract_id: r.get(0)?,
            account_id: r.get(1)?,
            alias: r.get(2)?,
            validation_mode: r.get(3)?,
            validity_days: r.get(4)?,
        })
    })?
    .collect()
}

/// Deletes a domain of an account.
pub fn delete_domain(tx: &Connection, account_id: Id, domain_id: Id) -> rusqlite::Result<bool> {
    let deleted = tx
        .prepare_cached("DELETE FROM domains WHERE id = ? AND account_id = ?")?
        .execute(params![domain_id, account_id])?;
    Ok(deleted == 1)
}
