//! The lifecycle's storage primitives over one SQLite write transaction.

use certkeep_core::{
    CertificateRecord, CertificateStatus, Id, IssuedFacts, NewCertificate, NewOrder, NewRequest, OrderStatus,
    OrderSummary, Organization, RequestStatus, RequestType, Scope, StoreError,
    lifecycle::{AuditEvent, CertificateRef, NewDomain, RequestState, Transaction},
};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::{
    err,
    rows::{
        self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, SUMMARY_COLUMNS, SUMMARY_JOINS,
    },
    writes,
};

/// A write transaction seen through [`Transaction`].
pub struct SqliteTransaction<'a>(pub &'a rusqlite::Transaction<'a>);

type R<T> = Result<T, StoreError>;

impl SqliteTransaction<'_> {
    fn order_container(&self, order_id: Id, account_id: Id) -> rusqlite::Result<Option<Id>> {
        self.0
            .prepare_cached("SELECT container_id FROM orders WHERE id = ? AND account_id = ?")?
            .query_row(params![order_id, account_id], |r| r.get(0))
            .optional()
    }
}

impl Transaction for SqliteTransaction<'_> {
    fn insert_order(&mut self, order: &NewOrder) -> R<Id> {
        writes::insert_order(self.0, order).map_err(err)
    }

    fn order(&mut self, scope: &Scope, id: Id) -> R<Option<OrderSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE o.id = ? AND o.account_id = ?"
        );
        let found = self
            .0
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![id, scope.account_id], rows::summary).optional())
            .map_err(err)?;
        Ok(found.filter(|o| scope.allows_container(o.container.id)))
    }

    fn certificate(&mut self, scope: &Scope, r: &CertificateRef) -> R<Option<CertificateRecord>> {
        let (lookup, key): (&str, rusqlite::types::Value) = match r {
            CertificateRef::Id(id) => ("x.id = ?", (*id).into()),
            CertificateRef::Serial(s) => ("x.serial_number = ?", s.to_uppercase().into()),
        };
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE {lookup} AND x.account_id = ?"
        );
        let found = self
            .0
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![key, scope.account_id], rows::certificate).optional())
            .map_err(err)?;
        let Some(cert) = found else { return Ok(None) };
        let container = self.order_container(cert.order_id, scope.account_id).map_err(err)?;
        Ok(container.filter(|c| scope.allows_container(*c)).map(|_| cert))
    }

    fn order_certificates(&mut self, order_id: Id) -> R<Vec<CertificateRecord>> {
        self.0
            .prepare_cached(&format!(
                "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.order_id = ? ORDER BY x.id"
            ))
            .and_then(|mut s| s.query_map([order_id], rows::certificate)?.collect())
            .map_err(err)
    }

    fn request(&mut self, scope: &Scope, id: Id) -> R<Option<RequestState>> {
        let found = self
            .0
            .prepare_cached(
                "SELECT id, order_id, type, status, certificate_id, revocation_reason FROM requests \
                 WHERE id = ? AND account_id = ?",
            )
            .and_then(|mut s| {
                s.query_row(params![id, scope.account_id], |r| {
                    Ok(RequestState {
                        id: r.get(0)?,
                        order_id: r.get(1)?,
                        request_type: rows::parsed(r, 2, RequestType::parse)?,
                        status: rows::parsed(r, 3, RequestStatus::parse)?,
                        certificate_id: r.get(4)?,
                        revocation_reason: r.get(5)?,
                    })
                })
                .optional()
            })
            .map_err(err)?;
        let Some(req) = found else { return Ok(None) };
        let container = self.order_container(req.order_id, scope.account_id).map_err(err)?;
        Ok(container.filter(|c| scope.allows_container(*c)).map(|_| req))
    }

    fn organization(&mut self, scope: &Scope, id: Id) -> R<Option<Organization>> {
        self.0
            .prepare_cached(&format!("{ORGANIZATION_SELECT} WHERE id = ? AND account_id = ?"))
            .and_then(|mut s| s.query_row(params![id, scope.account_id], rows::organization).optional())
            .map_err(err)
    }

    fn custom_field_exists(&mut self, account_id: Id, id: Id) -> R<bool> {
        self.0
            .prepare_cached("SELECT 1 FROM custom_fields WHERE id = ? AND account_id = ?")
            .and_then(|mut s| s.exists(params![id, account_id]))
            .map_err(err)
    }

    fn domain_validated(&mut self, account_id: Id, domain: &str) -> R<bool> {
        self.0
            .prepare_cached(
                "SELECT 1 FROM domains WHERE account_id = ? AND name = ? AND validated_at IS NOT NULL",
            )
            .and_then(|mut s| s.exists(params![account_id, domain]))
            .map_err(err)
    }

    fn insert_certificate(&mut self, order: &OrderSummary, account_id: Id, cert: &NewCertificate) -> R<Id> {
        writes::insert_certificate(self.0, order.id, account_id, cert).map_err(err)
    }

    fn set_certificate_issued(&mut self, certificate_id: Id, f: &IssuedFacts) -> R<()> {
        self.0
            .prepare_cached(
                "UPDATE certificates SET status = 'issued', serial_number = ?, thumbprint = ?, valid_from = ?, \
                 valid_till = ?, date_issued = ?, der = ? WHERE id = ?",
            )
            .and_then(|mut s| {
                s.execute(params![
                    f.serial_number,
                    f.thumbprint,
                    f.valid_from.unix_timestamp(),
                    f.valid_till.unix_timestamp(),
                    f.date_issued.unix_timestamp(),
                    f.der,
                    certificate_id
                ])
            })
            .map(drop)
            .map_err(err)
    }

    fn set_certificate_status(&mut self, certificate_id: Id, status: CertificateStatus) -> R<()> {
        self.0
            .prepare_cached("UPDATE certificates SET status = ? WHERE id = ?")
            .and_then(|mut s| s.execute(params![status.as_str(), certificate_id]))
            .map(drop)
            .map_err(err)
    }

    fn revoke_certificate(&mut self, certificate_id: Id, at: OffsetDateTime, reason: &str) -> R<()> {
        self.0
            .prepare_cached(
                "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? WHERE id = ?",
            )
            .and_then(|mut s| s.execute(params![at.unix_timestamp(), reason, certificate_id]))
            .map(drop)
            .map_err(err)
    }

    fn set_order_status(&mut self, order_id: Id, status: OrderStatus, at: OffsetDateTime) -> R<()> {
        self.0
            .prepare_cached("UPDATE orders SET status = ?, status_updated_at = ? WHERE id = ?")
            .and_then(|mut s| s.execute(params![status.as_str(), at.unix_timestamp(), order_id]))
            .map(drop)
            .map_err(err)
    }

    fn set_current_certificate(&mut self, order_id: Id, certificate_id: Id) -> R<()> {
        writes::set_current_certificate(self.0, order_id, certificate_id).map_err(err)
    }

    fn insert_request(
        &mut self,
        order_id: Id,
        account_id: Id,
        request: &NewRequest,
        certificate_id: Option<Id>,
        revocation_reason: Option<&str>,
    ) -> R<Id> {
        writes::insert_request(self.0, order_id, account_id, request, certificate_id, revocation_reason)
            .map_err(err)
    }

    fn set_request_status(
        &mut self,
        request_id: Id,
        status: RequestStatus,
        processor_id: Id,
        comment: Option<&str>,
    ) -> R<()> {
        self.0
            .prepare_cached(
                "UPDATE requests SET status = ?, processor_id = ?, processor_comment = ? WHERE id = ?",
            )
            .and_then(|mut s| s.execute(params![status.as_str(), processor_id, comment, request_id]))
            .map(drop)
            .map_err(err)
    }

    fn insert_audit(&mut self, e: &AuditEvent) -> R<()> {
        super::audit::insert(self.0, e).map_err(err)
    }

    fn insert_domain(&mut self, d: &NewDomain) -> R<Option<Id>> {
        let inserted = self
            .0
            .prepare_cached(
                "INSERT OR IGNORE INTO domains (account_id, container_id, organization_id, name, dcv_method, \
                 date_created, validated_at) VALUES (?,?,?,?,?,?,?)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    d.account_id,
                    d.container_id,
                    d.organization_id,
                    d.name,
                    d.dcv_method,
                    d.at.unix_timestamp(),
                    d.at.unix_timestamp()
                ])
            })
            .map_err(err)?;
        Ok((inserted == 1).then(|| self.0.last_insert_rowid()))
    }
}
