//! The lifecycle's storage primitives over one write transaction (of either engine).

use certkeep_core::{
    CertificateRecord, CertificateStatus, Domain, Id, IssuedFacts, NewCertificate, NewOrder, NewRequest,
    OrderStatus, OrderSummary, Organization, RequestStatus, RequestType, Scope, StoreError,
    dcv::{DcvMethod, DcvToken},
    lifecycle::{AuditEvent, CertificateRef, NewDomain, RequestState, Transaction},
};
use time::OffsetDateTime;

use super::writes;
use crate::sql::{
    db::{Db, DbResult, Value, params},
    rows::{
        self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, SUMMARY_COLUMNS, SUMMARY_JOINS,
    },
};

/// A write transaction seen through [`Transaction`].
pub struct SqlTransaction<'a>(pub &'a mut dyn Db);

type R<T> = Result<T, StoreError>;

impl SqlTransaction<'_> {
    fn order_container(&mut self, order_id: Id, account_id: Id) -> DbResult<Option<Id>> {
        self.0.row_opt(
            "SELECT container_id FROM orders WHERE id = ? AND account_id = ?",
            params![order_id, account_id],
            |r| r.get(0),
        )
    }

    fn execute(&mut self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> R<()> {
        self.0.execute(sql, params)?;
        Ok(())
    }
}

impl Transaction for SqlTransaction<'_> {
    fn insert_order(&mut self, order: &NewOrder) -> R<Id> {
        Ok(writes::insert_order(self.0, order)?)
    }

    fn order(&mut self, scope: &Scope, id: Id) -> R<Option<OrderSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE o.id = ? AND o.account_id = ?"
        );
        let found = self.0.row_opt(&sql, params![id, scope.account_id], rows::summary)?;
        Ok(found.filter(|o| scope.allows_container(o.container.id)))
    }

    fn certificate(&mut self, scope: &Scope, r: &CertificateRef) -> R<Option<CertificateRecord>> {
        let (lookup, key): (&str, Value) = match r {
            CertificateRef::Id(id) => ("x.id = ?", (*id).into()),
            CertificateRef::Serial(s) => ("x.serial_number = ?", s.to_uppercase().into()),
        };
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE {lookup} AND x.account_id = ?"
        );
        let found = self.0.row_opt(&sql, params![key, scope.account_id], rows::certificate)?;
        let Some(cert) = found else { return Ok(None) };
        let container = self.order_container(cert.order_id, scope.account_id)?;
        Ok(container.filter(|c| scope.allows_container(*c)).map(|_| cert))
    }

    fn order_certificates(&mut self, order_id: Id) -> R<Vec<CertificateRecord>> {
        Ok(self.0.rows(
            &format!(
                "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.order_id = ? ORDER BY x.id"
            ),
            params![order_id],
            rows::certificate,
        )?)
    }

    fn request(&mut self, scope: &Scope, id: Id) -> R<Option<RequestState>> {
        let found = self.0.row_opt(
            "SELECT id, order_id, type, status, certificate_id, revocation_reason FROM requests \
             WHERE id = ? AND account_id = ?",
            params![id, scope.account_id],
            |r| {
                Ok(RequestState {
                    id: r.get(0)?,
                    order_id: r.get(1)?,
                    request_type: rows::parsed(r, 2, RequestType::parse)?,
                    status: rows::parsed(r, 3, RequestStatus::parse)?,
                    certificate_id: r.get(4)?,
                    revocation_reason: r.get(5)?,
                })
            },
        )?;
        let Some(req) = found else { return Ok(None) };
        let container = self.order_container(req.order_id, scope.account_id)?;
        Ok(container.filter(|c| scope.allows_container(*c)).map(|_| req))
    }

    fn organization(&mut self, scope: &Scope, id: Id) -> R<Option<Organization>> {
        Ok(self.0.row_opt(
            &format!("{ORGANIZATION_SELECT} WHERE id = ? AND account_id = ?"),
            params![id, scope.account_id],
            rows::organization,
        )?)
    }

    fn custom_field_exists(&mut self, account_id: Id, id: Id) -> R<bool> {
        Ok(self
            .0
            .exists("SELECT 1 FROM custom_fields WHERE id = ? AND account_id = ?", params![id, account_id])?)
    }

    fn domain_validated(
        &mut self,
        account_id: Id,
        domain: &str,
        since: OffsetDateTime,
        subdomains: bool,
    ) -> R<bool> {
        // A file-based validation (http-token) shows control of its exact name only.
        let sql = if subdomains {
            "SELECT 1 FROM domains WHERE account_id = ? AND name = ? AND validated_at >= ? AND dcv_method <> 'http-token'"
        } else {
            "SELECT 1 FROM domains WHERE account_id = ? AND name = ? AND validated_at >= ?"
        };
        Ok(self.0.exists(sql, params![account_id, domain, since.unix_timestamp()])?)
    }

    fn insert_certificate(&mut self, order: &OrderSummary, account_id: Id, cert: &NewCertificate) -> R<Id> {
        Ok(writes::insert_certificate(self.0, order.id, account_id, cert, None)?)
    }

    fn set_certificate_issued(&mut self, certificate_id: Id, f: &IssuedFacts) -> R<()> {
        self.execute(
            "UPDATE certificates SET status = 'issued', serial_number = ?, thumbprint = ?, valid_from = ?, \
                 valid_till = ?, date_issued = ?, der = ? WHERE id = ?",
            params![
                f.serial_number,
                f.thumbprint,
                f.valid_from.unix_timestamp(),
                f.valid_till.unix_timestamp(),
                f.date_issued.unix_timestamp(),
                f.der,
                certificate_id
            ],
        )
    }

    fn set_certificate_status(&mut self, certificate_id: Id, status: CertificateStatus) -> R<()> {
        self.execute(
            "UPDATE certificates SET status = ? WHERE id = ?",
            params![status.as_str(), certificate_id],
        )
    }

    fn revoke_certificate(&mut self, certificate_id: Id, at: OffsetDateTime, reason: &str) -> R<()> {
        self.execute(
            "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? WHERE id = ?",
            params![at.unix_timestamp(), reason, certificate_id],
        )
    }

    fn set_order_status(&mut self, order_id: Id, status: OrderStatus, at: OffsetDateTime) -> R<()> {
        self.execute(
            "UPDATE orders SET status = ?, status_updated_at = ? WHERE id = ?",
            params![status.as_str(), at.unix_timestamp(), order_id],
        )
    }

    fn set_current_certificate(&mut self, order_id: Id, certificate_id: Id) -> R<()> {
        Ok(writes::set_current_certificate(self.0, order_id, certificate_id)?)
    }

    fn insert_request(
        &mut self,
        order_id: Id,
        account_id: Id,
        request: &NewRequest,
        certificate_id: Option<Id>,
        revocation_reason: Option<&str>,
    ) -> R<Id> {
        Ok(writes::insert_request(self.0, order_id, account_id, request, certificate_id, revocation_reason)?)
    }

    fn set_request_status(
        &mut self,
        request_id: Id,
        status: RequestStatus,
        processor_id: Id,
        comment: Option<&str>,
    ) -> R<()> {
        self.execute(
            "UPDATE requests SET status = ?, processor_id = ?, processor_comment = ? WHERE id = ?",
            params![status.as_str(), processor_id, comment, request_id],
        )
    }

    /// Appends the event and queues what it reports for the account's webhook (the outbox).
    fn insert_audit(&mut self, e: &AuditEvent) -> R<()> {
        crate::sql::audit::insert(self.0, e)?;
        Ok(crate::sql::webhook::enqueue(self.0, e)?)
    }

    fn insert_domain(&mut self, d: &NewDomain) -> R<Option<Id>> {
        let (token, expires) = match &d.dcv_token {
            Some(t) => (Some(t.value.as_str()), Some(t.expires.unix_timestamp())),
            None => (None, None),
        };
        Ok(self.0.insert(
            "INSERT INTO domains (account_id, container_id, organization_id, name, dcv_method, date_created, \
             validated_at, dcv_token, dcv_token_expires) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            params![
                d.account_id,
                d.container_id,
                d.organization_id,
                d.name,
                rows::dcv_method_name(d.dcv_method),
                d.at.unix_timestamp(),
                d.validated_at.map(|t| t.unix_timestamp()),
                token,
                expires
            ],
        )?)
    }

    fn domain(&mut self, account_id: Id, domain_id: Id) -> R<Option<Domain>> {
        let sql = format!("SELECT {} FROM domains WHERE id = ? AND account_id = ?", rows::DOMAIN_COLUMNS);
        Ok(self.0.row_opt(&sql, params![domain_id, account_id], rows::domain)?)
    }

    fn domain_named(&mut self, account_id: Id, name: &str) -> R<Option<Domain>> {
        let sql = format!("SELECT {} FROM domains WHERE account_id = ? AND name = ?", rows::DOMAIN_COLUMNS);
        Ok(self.0.row_opt(&sql, params![account_id, name], rows::domain)?)
    }

    fn set_domain_dcv(&mut self, domain_id: Id, method: DcvMethod, token: Option<&DcvToken>) -> R<()> {
        self.0.execute(
            "UPDATE domains SET dcv_method = ?, dcv_token = ?, dcv_token_expires = ? WHERE id = ?",
            params![
                rows::dcv_method_name(method),
                token.map(|t| t.value.as_str()),
                token.map(|t| t.expires.unix_timestamp()),
                domain_id
            ],
        )?;
        Ok(())
    }

    fn set_domain_validated(&mut self, domain_id: Id, method: DcvMethod, at: OffsetDateTime) -> R<()> {
        self.0.execute(
            "UPDATE domains SET dcv_method = ?, validated_at = ? WHERE id = ?",
            params![rows::dcv_method_name(method), at.unix_timestamp(), domain_id],
        )?;
        Ok(())
    }

    fn delete_domain(&mut self, account_id: Id, domain_id: Id) -> R<bool> {
        Ok(crate::sql::ncp::delete_domain(self.0, account_id, domain_id)?)
    }

    fn finalize_acme_order(
        &mut self,
        acme_order_id: Id,
        order_id: Id,
        certificate_id: Id,
        serial: &str,
    ) -> R<bool> {
        Ok(crate::sql::acme::finalize_order(self.0, acme_order_id, order_id, certificate_id, serial)?)
    }
}
