//! NCP keys, the certificates of an account grouped by order (NCP's getPaidCertificates), and
//! NCP's writes that span tables (an ACME account with its EAB credential, an imported
//! certificate with its record), each made whole in one transaction.

use std::collections::HashMap;

use certkeep_core::{
    CertificateGroup, CertificateGroupPage, CertificateGroupQuery, Id, NewOrder, OrderStatus, Organization,
    Scope,
    ncp::{ExternalImport, NcpAcmeAccount, NcpCertificateMeta, NcpKey, NewNcpKey},
    partner::AcmeContract,
    seal::SealedSecret,
};
use time::OffsetDateTime;

use super::{
    db::{Db, DbError, DbResult, limit, offset, params, values},
    inventory::writes,
    partner,
    query::Condition,
    rows::{self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT},
};

use super::{Engine, Mode, SqlStore};
use certkeep_core::{NcpStore, StoreResult};

impl<E: Engine> NcpStore for SqlStore<E> {
    fn create_ncp_key(&self, key: &NewNcpKey, now: OffsetDateTime) -> StoreResult<Option<Id>> {
        self.run(Mode::Write, |db| create_key(db, key, now))
    }

    fn find_ncp_key(&self, access_key: &str) -> StoreResult<Option<NcpKey>> {
        self.run(Mode::Read, |db| find_key(db, access_key))
    }

    fn revoke_ncp_key(&self, access_key: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.run(Mode::Write, |db| revoke_key(db, access_key, now))
    }

    fn certificate_groups(
        &self,
        scope: &Scope,
        query: &CertificateGroupQuery,
    ) -> StoreResult<CertificateGroupPage> {
        // One snapshot: the total and the page agree.
        self.run(Mode::Snapshot, |db| certificate_groups(db, scope, query))
    }

    fn ncp_certificate_meta(&self, account_id: Id) -> StoreResult<Vec<NcpCertificateMeta>> {
        self.run(Mode::Read, |db| certificate_meta(db, account_id))
    }

    fn save_ncp_certificate_meta(&self, meta: &NcpCertificateMeta) -> StoreResult<bool> {
        self.run(Mode::Write, |db| save_certificate_meta(db, meta))
    }

    fn create_ncp_acme_account(
        &self,
        contract: &AcmeContract,
        kid: &str,
        sealed_hmac_key: &[u8],
        account: &NcpAcmeAccount,
        now: OffsetDateTime,
    ) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            create_acme_account_with_eab(db, contract, kid, sealed_hmac_key, account, now)
        })
    }

    fn import_ncp_external_certificate(
        &self,
        scope: &Scope,
        order: &NewOrder,
        issuer: &str,
        name: &str,
        chain_pem: Option<&str>,
        seal_private_key: &dyn Fn(Id) -> Vec<u8>,
    ) -> StoreResult<certkeep_core::ncp::ExternalImport> {
        self.run(Mode::Write, |db| {
            import_external(db, scope, order, issuer, name, chain_pem, seal_private_key)
        })
    }

    fn ncp_acme_accounts(&self, account_id: Id) -> StoreResult<Vec<NcpAcmeAccount>> {
        self.run(Mode::Read, |db| acme_accounts(db, account_id))
    }
}

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

/// Creates an NCP ACME account whole: its contract (`contract.id` is ignored), its EAB
/// credential (key id `kid`, HMAC key sealed by the caller) and NCP's record of it (`account`'s
/// contract and account are taken from the contract). Call in one write transaction. Returns
/// the contract id.
pub fn create_acme_account_with_eab(
    db: &mut dyn Db,
    contract: &AcmeContract,
    kid: &str,
    sealed_hmac_key: &[u8],
    account: &NcpAcmeAccount,
    now: OffsetDateTime,
) -> DbResult<Id> {
    let (contract_id, _) = partner::create_contract_with_eab(db, contract, kid, sealed_hmac_key, now)?;
    create_acme_account(
        db,
        &NcpAcmeAccount { contract_id, account_id: contract.account_id, ..account.clone() },
    )?;
    Ok(contract_id)
}

/// Imports a certificate signed elsewhere (`order`, of one issued certificate) by the issuer
/// `issuer` names, under `name`, with its private key sealed by `seal_private_key(certificate
/// id)` and its chain. Refused when another certificate of the account NCP shows has the name,
/// or when the account already holds the serial from that issuer (or signed by certkeep), except
/// one deleted through NCP, which comes back under its old number. Other accounts' certificates
/// play no part. Call in one write transaction.
pub fn import_external(
    db: &mut dyn Db,
    scope: &Scope,
    order: &NewOrder,
    issuer: &str,
    name: &str,
    chain_pem: Option<&str>,
    seal_private_key: &dyn Fn(Id) -> Vec<u8>,
) -> DbResult<ExternalImport> {
    let Some(serial) = order.certificates.first().and_then(|c| c.issued.as_ref()).map(|i| &i.serial_number)
    else {
        return Err(DbError::Data("an imported certificate comes issued".into()));
    };
    let metas = certificate_meta(db, scope.account_id)?;
    if metas.iter().any(|m| !m.deleted && m.name.as_deref() == Some(name)) {
        return Ok(ExternalImport::NameInUse);
    }
    // certkeep's own certificates, and those imported before issuers were recorded, have no
    // issuer: they count as the same.
    let held: Option<Id> = db.row_opt(
        "SELECT id FROM certificates WHERE account_id = ? AND serial_number = ? \
         AND (imported_issuer = ? OR imported_issuer IS NULL) ORDER BY id LIMIT 1",
        params![scope.account_id, serial.to_uppercase(), issuer],
        |r| r.get(0),
    )?;
    let id = match held {
        Some(id) if metas.iter().any(|m| m.certificate_id == id && m.external && m.deleted) => id,
        Some(_) => return Ok(ExternalImport::AlreadyRegistered),
        None => {
            let order_id = writes::insert_order_issued_by(db, order, Some(issuer))?;
            db.row(
                "SELECT id FROM certificates WHERE order_id = ? ORDER BY id LIMIT 1",
                params![order_id],
                |r| r.get(0),
            )?
        }
    };
    save_certificate_meta(
        db,
        &NcpCertificateMeta {
            certificate_id: id,
            account_id: scope.account_id,
            name: Some(name.to_owned()),
            renewal: false,
            sealed_private_key: Some(seal_private_key(id)),
            external: true,
            chain_pem: chain_pem.map(str::to_owned),
            deleted: false,
        },
    )?;
    Ok(ExternalImport::Imported(id))
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

/// Re-seals every sealed value with `reseal` (see `Store::reseal_secrets`). Call in one write
/// transaction: a value `reseal` cannot open fails it, naming the value.
pub fn reseal_secrets(
    db: &mut dyn Db,
    reseal: &dyn Fn(SealedSecret<'_>) -> Option<Vec<u8>>,
) -> DbResult<u64> {
    let resealed = |secret: SealedSecret<'_>| {
        reseal(secret).ok_or_else(|| {
            DbError::Data(format!("{} does not open under the sealing key", secret.describe()))
        })
    };
    let mut count = 0;
    let keys: Vec<(Id, String, Vec<u8>)> =
        db.rows("SELECT id, access_key, sealed_secret FROM ncp_keys ORDER BY id", params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    for (id, access_key, sealed) in keys {
        let new = resealed(SealedSecret::NcpSecretKey { access_key: &access_key, sealed: &sealed })?;
        db.execute("UPDATE ncp_keys SET sealed_secret = ? WHERE id = ?", params![new, id])?;
        count += 1;
    }
    let credentials: Vec<(Id, String, Vec<u8>)> = db.rows(
        "SELECT id, kid, hmac_key FROM eab_credentials WHERE sealed = TRUE ORDER BY id",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    for (id, kid, sealed) in credentials {
        let new = resealed(SealedSecret::EabHmacKey { kid: &kid, sealed: &sealed })?;
        db.execute("UPDATE eab_credentials SET hmac_key = ? WHERE id = ?", params![new, id])?;
        count += 1;
    }
    let private_keys: Vec<(Id, Vec<u8>)> = db.rows(
        "SELECT certificate_id, sealed_private_key FROM ncp_certificates WHERE sealed_private_key IS NOT NULL \
         ORDER BY certificate_id",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (certificate_id, sealed) in private_keys {
        let new = resealed(SealedSecret::NcpPrivateKey { certificate_id, sealed: &sealed })?;
        db.execute(
            "UPDATE ncp_certificates SET sealed_private_key = ? WHERE certificate_id = ?",
            params![new, certificate_id],
        )?;
        count += 1;
    }
    Ok(count)
}
