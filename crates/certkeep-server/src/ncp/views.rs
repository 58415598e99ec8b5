//! The inventory in Certificate Manager's words: which products are "paid" certificates, and
//! how statuses, types and issue types map (the README's NCP section explains each choice).

use certkeep_core::{
    CertificateGroup, CertificateKind, CertificateRecord, CertificateStatus, Id, OrderStatus, Organization,
    PRODUCTS, Product, ProductType, ValidationType,
};
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

use crate::wire::ymd_hms_zoned;

/// NCP's certificate type of a product: publicly trusted DV and OV products are Advanced
/// (paid) DV and OV; EV and private-CA products have no NCP counterpart.
pub fn paid_type(product: &Product) -> Option<&'static str> {
    match (product.product_type, product.validation) {
        (ProductType::PrivateSslCertificate, _) | (_, ValidationType::Ev) => None,
        (_, ValidationType::Dv) => Some("NCP_PAID_DV_01"),
        (_, ValidationType::Ov) => Some("NCP_PAID_OV_01"),
    }
}

/// The products whose orders getPaidCertificates lists.
pub fn paid_products() -> Vec<String> {
    PRODUCTS.iter().filter(|p| paid_type(p).is_some()).map(|p| p.name_id.to_owned()).collect()
}

/// `(statusCode, statusName)` of a certificate at `now`. The name is NCP's constant in title
/// case, as the documented example pairs `"0"` with `"Ongoing"`.
pub fn status(
    certificate: &CertificateRecord,
    order: OrderStatus,
    now: OffsetDateTime,
) -> (&'static str, &'static str) {
    const ONGOING: (&str, &str) = ("0", "Ongoing");
    const NORMAL: (&str, &str) = ("1", "Normal");
    const FAILED: (&str, &str) = ("-1", "Failed");
    const EXPIRE: (&str, &str) = ("-2", "Expire");
    const REVOKE: (&str, &str) = ("-5", "Revoke");
    const DELETED: (&str, &str) = ("-6", "Deleted");
    match certificate.status {
        CertificateStatus::Revoked => REVOKE,
        CertificateStatus::Issued if order == OrderStatus::Revoked => REVOKE,
        CertificateStatus::Issued if certificate.valid_till.is_some_and(|t| t <= now) => EXPIRE,
        CertificateStatus::Issued => NORMAL,
        CertificateStatus::Rejected => FAILED,
        CertificateStatus::Pending | CertificateStatus::Approved => match order {
            OrderStatus::Rejected => FAILED,
            OrderStatus::Canceled => DELETED,
            _ => ONGOING,
        },
    }
}

/// `issueType`: how the certificate came to be on its order.
pub fn issue_type(kind: CertificateKind) -> &'static str {
    match kind {
        CertificateKind::Primary => "ORIGINAL",
        CertificateKind::Reissue => "REISSUE",
        CertificateKind::Duplicate => "DUPLICATE",
    }
}

/// An RFC 4514 attribute value with its special characters escaped.
fn dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && matches!(c, ' ' | '#')) || (i == last && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `cn=example.com,o=Example Corporation,l=Sample-city,s=Sample-state,c=KR` (NCP's layout:
/// lower-case keys, `s` for the state, empty parts left out).
pub fn subject_dn(common_name: &str, organization: Option<&Organization>) -> String {
    let mut parts = vec![format!("cn={}", dn_value(common_name))];
    if let Some(o) = organization {
        let country = o.country.to_uppercase();
        for (key, value) in [("o", &o.name), ("l", &o.city), ("s", &o.state), ("c", &country)] {
            if !value.is_empty() {
                parts.push(format!("{key}={}", dn_value(value)));
            }
        }
    }
    parts.join(",")
}

/// One certificate of `getPaidCertificates`: the documented fields in the documented order,
/// `certificateType` and its older name `certificateTypeCode`, then `notBefore`,
/// `issueDate` and `serialNumber`, which NCP added to its certificate lists in 2026-09.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaidCertificate<'a> {
    certificate_no: Id,
    certificate_name: &'a str,
    member_no: String,
    common_name: &'a str,
    dns_name: String,
    status_code: &'static str,
    status_name: &'static str,
    certificate_type: &'static str,
    certificate_type_code: &'static str,
    domain_code: &'static str,
    update_date: String,
    order_id: String,
    issue_type: &'static str,
    #[serde(rename = "subjectDN")]
    subject_dn: String,
    regist_date: String,
    not_after: Option<String>,
    not_before: Option<String>,
    issue_date: Option<String>,
    serial_number: Option<&'a str>,
}

/// One order of `getPaidCertificates`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaidOrder<'a> {
    order_id: String,
    certificates: Vec<PaidCertificate<'a>>,
}

impl<'a> PaidOrder<'a> {
    /// Renders an order of a paid product at `now`, dates in `zone`; `None` for other products.
    pub fn new(
        g: &'a CertificateGroup,
        account_id: Id,
        now: OffsetDateTime,
        zone: UtcOffset,
    ) -> Option<Self> {
        let certificate_type = Product::find(&g.product_name_id).and_then(paid_type)?;
        let date = |t: OffsetDateTime| ymd_hms_zoned(t, zone);
        let certificates = g
            .certificates
            .iter()
            .map(|c| {
                let (status_code, status_name) = status(c, g.status, now);
                let mut names = vec![c.common_name.as_str()];
                names.extend(c.dns_names.iter().map(String::as_str).filter(|n| *n != c.common_name));
                PaidCertificate {
                    certificate_no: c.id,
                    certificate_name: &c.common_name,
                    member_no: account_id.to_string(),
                    common_name: &c.common_name,
                    dns_name: names.join(","),
                    status_code,
                    status_name,
                    certificate_type,
                    certificate_type_code: certificate_type,
                    domain_code: "PUB",
                    update_date: date(c.date_issued.unwrap_or(c.date_created).max(c.date_created)),
                    order_id: g.order_id.to_string(),
                    issue_type: issue_type(c.kind),
                    subject_dn: subject_dn(&c.common_name, g.organization.as_ref()),
                    regist_date: date(c.date_created),
                    not_after: c.valid_till.map(date),
                    not_before: c.valid_from.map(date),
                    issue_date: c.date_issued.map(date),
                    serial_number: c.serial_number.as_deref(),
                }
            })
            .collect();
        Some(Self { order_id: g.order_id.to_string(), certificates })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_dv_and_ov_products_are_paid_certificates() {
        let paid = paid_products();
        for id in ["ssl_plus", "ssl_basic", "ssl_wildcard", "ssl_multi_domain", "ssl_dv_geotrust"] {
            assert!(paid.iter().any(|p| p == id), "{id}");
        }
        for id in ["ssl_ev_plus", "ssl_ev_basic", "private_ssl_plus", "private_ssl_wildcard"] {
            assert!(!paid.iter().any(|p| p == id), "{id}");
        }
        assert_eq!(paid_type(Product::find("ssl_dv_rapidssl").unwrap()), Some("NCP_PAID_DV_01"));
        assert_eq!(paid_type(Product::find("ssl_plus").unwrap()), Some("NCP_PAID_OV_01"));
    }

    #[test]
    fn subject_dn_follows_ncp_layout_and_escapes() {
        let org = Organization {
            id: 1,
            name: "Example, Inc.".into(),
            assumed_name: String::new(),
            city: "Sample-city".into(),
            state: String::new(),
            country: "kr".into(),
            contact: Default::default(),
        };
        assert_eq!(
            subject_dn("example.com", Some(&org)),
            r"cn=example.com,o=Example\, Inc.,l=Sample-city,c=KR"
        );
        assert_eq!(subject_dn("a.com", None), "cn=a.com");
        assert_eq!(dn_value(" #a=b "), r"\ #a\=b\ ");
    }
}
