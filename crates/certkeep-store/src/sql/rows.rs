//! Column lists and the mapping from rows (of either engine) to inventory records.

use certkeep_core::{
    CertificateKind, CertificateRecord, CertificateStatus, CertificateSummary, Contact, Container, Door, Id,
    OrderStatus, OrderSummary, Organization, Registration, RequestRecord, RequestStatus, RequestType, User,
    Validity,
};
use time::{Date, OffsetDateTime};

use super::db::{DbError, DbResult, Row};

/// The door an order of `orders o` came in through ([`Door`]), as SQL: imported orders are
/// `migrated`; NCP's are those placed with an NCP access key and those under a contract of
/// NCP's ACME accounts; other orders under a contract are ACME's; the rest CertCentral's.
macro_rules! door {
    () => {
        "CASE WHEN o.origin = 'migrated' THEN 'imported' \
         WHEN o.api_key_type = 'ncp_access_key' \
           OR o.acme_contract_id IN (SELECT contract_id FROM ncp_acme_accounts) THEN 'ncp' \
         WHEN o.acme_contract_id IS NOT NULL THEN 'acme' ELSE 'certcentral' END"
    };
}

/// Columns of [`summary`], over `orders o`, `containers c` and `organizations org`.
pub const SUMMARY_COLUMNS: &str = concat!(
    "o.id, o.certificate_id, o.common_name, o.dns_names, \
    o.signature_hash, o.serial_number, o.thumbprint, o.valid_from, o.valid_till, o.status, \
    o.is_renewed, o.date_created, o.organization_id, org.name, o.validity_kind, o.validity_value, \
    o.disable_renewal_notifications, o.container_id, c.name, c.is_active, o.product_name_id, \
    EXISTS (SELECT 1 FROM certificates d WHERE d.order_id = o.id AND d.kind = 'duplicate'), \
    o.email, o.user_id, o.auto_renew, ",
    door!()
);

/// Number of columns in [`SUMMARY_COLUMNS`].
pub const SUMMARY_WIDTH: usize = 26;

/// The same door expression, for filters.
pub const DOOR: &str = door!();

/// The joins [`SUMMARY_COLUMNS`] needs besides `orders o`.
pub const SUMMARY_JOINS: &str =
    "JOIN containers c ON c.id = o.container_id LEFT JOIN organizations org ON org.id = o.organization_id";

/// Columns of [`certificate`], over [`CERTIFICATE_FROM`].
pub const CERTIFICATE_COLUMNS: &str = "x.id, x.order_id, x.kind, x.status, x.common_name, \
    x.dns_names, x.csr, x.server_platform_id, x.signature_hash, x.key_size, x.date_created, \
    x.serial_number, x.thumbprint, x.valid_from, x.valid_till, x.date_issued, x.archived, \
    u.id, u.first_name, u.last_name, u.email, x.client_auth";

/// The join [`CERTIFICATE_COLUMNS`] needs.
pub const CERTIFICATE_FROM: &str = "certificates x JOIN users u ON u.id = x.user_id";

/// Columns of [`organization`].
pub const ORGANIZATION_SELECT: &str = "SELECT id, name, assumed_name, city, state, country, \
    contact_first_name, contact_last_name, contact_email, contact_job_title, contact_telephone, \
    contact_telephone_extension, registration_number, business_category, jurisdiction_country \
    FROM organizations";

/// Columns of [`request`].
pub const REQUEST_SELECT: &str = "SELECT id, date, type, status, comments FROM requests";

fn conversion(index: usize, message: String) -> DbError {
    DbError::Data(format!("column {index}: {message}"))
}

/// Reads a unix-seconds column.
pub fn time_at(row: &Row, index: usize) -> DbResult<OffsetDateTime> {
    let secs: i64 = row.get(index)?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| conversion(index, e.to_string()))
}

/// Reads a nullable unix-seconds column.
pub fn opt_time_at(row: &Row, index: usize) -> DbResult<Option<OffsetDateTime>> {
    match row.get::<Option<i64>>(index)? {
        None => Ok(None),
        Some(_) => time_at(row, index).map(Some),
    }
}

/// Reads a text column through a wire-name parser.
pub fn parsed<T>(row: &Row, index: usize, parse: fn(&str) -> Option<T>) -> DbResult<T> {
    let s: String = row.get(index)?;
    parse(&s).ok_or_else(|| conversion(index, format!("unknown value {s:?}")))
}

/// Splits a newline-joined name list.
pub fn names(joined: &str) -> Vec<String> {
    joined.split('\n').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Encodes a validity choice as (kind, value).
pub fn validity_columns(v: Validity) -> (&'static str, i64) {
    match v {
        Validity::Years(y) => ("years", y.into()),
        Validity::Days(d) => ("days", d.into()),
        Validity::CustomExpiration(date) => ("custom", date.to_julian_day().into()),
    }
}

fn validity(row: &Row, index: usize) -> DbResult<Validity> {
    let kind: String = row.get(index)?;
    let value: i64 = row.get(index + 1)?;
    let small = || u32::try_from(value).map_err(|e| conversion(index + 1, e.to_string()));
    Ok(match kind.as_str() {
        "years" => Validity::Years(small()?),
        "days" => Validity::Days(small()?),
        "custom" => Validity::CustomExpiration(
            i32::try_from(value)
                .ok()
                .and_then(|d| Date::from_julian_day(d).ok())
                .ok_or_else(|| conversion(index + 1, "bad date".into()))?,
        ),
        other => return Err(conversion(index, format!("unknown validity {other:?}"))),
    })
}

/// Maps [`SUMMARY_COLUMNS`].
pub fn summary(row: &Row) -> DbResult<OrderSummary> {
    summary_at(row, 0)
}

/// Maps [`SUMMARY_COLUMNS`] starting at column `at`.
pub fn summary_at(row: &Row, at: usize) -> DbResult<OrderSummary> {
    let organization = match row.get::<Option<Id>>(at + 12)? {
        Some(id) => Some((id, row.get(at + 13)?)),
        None => None,
    };
    Ok(OrderSummary {
        id: row.get(at)?,
        certificate: CertificateSummary {
            id: row.get::<Option<Id>>(at + 1)?.unwrap_or_default(),
            common_name: row.get(at + 2)?,
            dns_names: names(&row.get::<String>(at + 3)?),
            signature_hash: row.get(at + 4)?,
            serial_number: row.get(at + 5)?,
            thumbprint: row.get(at + 6)?,
            valid_from: opt_time_at(row, at + 7)?,
            valid_till: opt_time_at(row, at + 8)?,
        },
        status: parsed(row, at + 9, OrderStatus::parse)?,
        is_renewed: row.get(at + 10)?,
        date_created: time_at(row, at + 11)?,
        organization,
        validity: validity(row, at + 14)?,
        disable_renewal_notifications: row.get(at + 16)?,
        container: Container { id: row.get(at + 17)?, name: row.get(at + 18)?, is_active: row.get(at + 19)? },
        product_name_id: row.get(at + 20)?,
        has_duplicates: row.get(at + 21)?,
        email: row.get(at + 22)?,
        user_id: row.get(at + 23)?,
        auto_renew: row.get(at + 24)?,
        door: parsed(row, at + 25, Door::parse)?,
    })
}

/// Maps [`CERTIFICATE_COLUMNS`].
pub fn certificate(row: &Row) -> DbResult<CertificateRecord> {
    certificate_at(row, 0)
}

/// Maps [`CERTIFICATE_COLUMNS`] starting at column `at`.
pub fn certificate_at(row: &Row, at: usize) -> DbResult<CertificateRecord> {
    Ok(CertificateRecord {
        id: row.get(at)?,
        order_id: row.get(at + 1)?,
        kind: parsed(row, at + 2, CertificateKind::parse)?,
        status: parsed(row, at + 3, CertificateStatus::parse)?,
        common_name: row.get(at + 4)?,
        dns_names: names(&row.get::<String>(at + 5)?),
        csr: row.get(at + 6)?,
        server_platform_id: row.get(at + 7)?,
        signature_hash: row.get(at + 8)?,
        key_size: row.get(at + 9)?,
        date_created: time_at(row, at + 10)?,
        serial_number: row.get(at + 11)?,
        thumbprint: row.get(at + 12)?,
        valid_from: opt_time_at(row, at + 13)?,
        valid_till: opt_time_at(row, at + 14)?,
        date_issued: opt_time_at(row, at + 15)?,
        archived: row.get(at + 16)?,
        user: User {
            id: row.get(at + 17)?,
            first_name: row.get(at + 18)?,
            last_name: row.get(at + 19)?,
            email: row.get(at + 20)?,
        },
        client_auth: row.get(at + 21)?,
    })
}

/// Maps [`ORGANIZATION_SELECT`].
pub fn organization(row: &Row) -> DbResult<Organization> {
    Ok(Organization {
        id: row.get(0)?,
        name: row.get(1)?,
        assumed_name: row.get(2)?,
        city: row.get(3)?,
        state: row.get(4)?,
        country: row.get(5)?,
        contact: Contact {
            first_name: row.get(6)?,
            last_name: row.get(7)?,
            email: row.get(8)?,
            job_title: row.get(9)?,
            telephone: row.get(10)?,
            telephone_extension: row.get(11)?,
        },
        registration: Registration {
            number: row.get(12)?,
            business_category: row.get(13)?,
            jurisdiction_country: row.get(14)?,
        },
    })
}

/// Maps [`REQUEST_SELECT`].
pub fn request(row: &Row) -> DbResult<RequestRecord> {
    Ok(RequestRecord {
        id: row.get(0)?,
        date: time_at(row, 1)?,
        request_type: parsed(row, 2, RequestType::parse)?,
        status: parsed(row, 3, RequestStatus::parse)?,
        comments: row.get(4)?,
    })
}

/// Columns of [`domain`], over `domains`.
pub const DOMAIN_COLUMNS: &str = "id, name, container_id, organization_id, dcv_method, date_created, validated_at, dcv_token, dcv_token_expires";

/// The stored name of a DCV method.
pub fn dcv_method_name(m: certkeep_core::dcv::DcvMethod) -> &'static str {
    use certkeep_core::dcv::DcvMethod as M;
    match m {
        M::DnsTxtToken => "dns-txt-token",
        M::DnsCnameToken => "dns-cname-token",
        M::HttpToken => "http-token",
        M::Email => "email",
        M::Operator => "pre-validated",
    }
}

/// A stored DCV method; names stored by older versions (whatever a client sent) read as
/// `email`: a method certkeep cannot check.
fn dcv_method(name: &str) -> certkeep_core::dcv::DcvMethod {
    use certkeep_core::dcv::DcvMethod as M;
    match name {
        "dns-txt-token" => M::DnsTxtToken,
        "dns-cname-token" => M::DnsCnameToken,
        "http-token" => M::HttpToken,
        "pre-validated" => M::Operator,
        _ => M::Email,
    }
}

/// A domain from [`DOMAIN_COLUMNS`].
pub fn domain(r: &Row) -> DbResult<certkeep_core::Domain> {
    let token: Option<String> = r.get(7)?;
    let expires = opt_time_at(r, 8)?;
    Ok(certkeep_core::Domain {
        id: r.get(0)?,
        name: r.get(1)?,
        container_id: r.get(2)?,
        organization_id: r.get(3)?,
        dcv_method: dcv_method(&r.get::<String>(4)?),
        dcv_token: token.zip(expires).map(|(value, expires)| certkeep_core::dcv::DcvToken { value, expires }),
        date_created: time_at(r, 5)?,
        validated_at: opt_time_at(r, 6)?,
    })
}
