//! The inventory in Certificate Manager's words: which products are "paid" certificates, and
//! how statuses, types and issue types map (the README's NCP section explains each choice).

use std::collections::HashMap;

use certkeep_core::{
    CertificateGroup, CertificateKind, CertificateRecord, CertificateStatus, Id, OrderStatus, Organization,
    PRODUCTS, Product, ProductType, ValidationType, ncp::NcpCertificateMeta,
};
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

use crate::wire::{ymd_hms, ymd_hms_zoned};

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

/// The product of certificates imported through `withExternal`: not in the catalog, so no
/// lifecycle operation (reissue, revoke, duplicate) applies to them.
pub use certkeep_core::ncp::EXTERNAL_PRODUCT;

/// NCP's records of an account's certificates, by certificate id.
pub type Metas = HashMap<Id, NcpCertificateMeta>;

/// One certificate as Certificate Manager lists it: the documented fields in the documented
/// order, `certificateType` and its older name `certificateTypeCode` (`null` for imported
/// certificates), then `notBefore`, `issueDate` and `serialNumber`, which NCP added to its
/// certificate lists in 2026-09.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView<'a> {
    pub(super) certificate_no: Id,
    pub(super) certificate_name: &'a str,
    pub(super) member_no: String,
    pub(super) common_name: &'a str,
    pub(super) dns_name: String,
    pub(super) status_code: &'static str,
    pub(super) status_name: &'static str,
    pub(super) certificate_type: Option<&'static str>,
    pub(super) certificate_type_code: Option<&'static str>,
    pub(super) domain_code: &'static str,
    pub(super) update_date: String,
    pub(super) order_id: String,
    pub(super) issue_type: &'static str,
    #[serde(rename = "subjectDN")]
    pub(super) subject_dn: String,
    pub(super) regist_date: String,
    pub(super) not_after: Option<String>,
    pub(super) not_before: Option<String>,
    pub(super) issue_date: Option<String>,
    pub(super) serial_number: Option<&'a str>,
}

/// One order of `getPaidCertificates`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaidOrder<'a> {
    order_id: String,
    certificates: Vec<CertificateView<'a>>,
}

/// An order as `orders` and `orders/{orderId}` show it: the subscription, then its certificates.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView<'a> {
    order_id: String,
    certificate_type: &'static str,
    subscription_start_dt: Option<String>,
    subscription_end_dt: Option<String>,
    subscription_years: Option<u32>,
    remaining_days: Option<i64>,
    extendable_years: u32,
    certificates: Vec<CertificateView<'a>>,
}

/// The answer of a write that returns nothing else: `returnCode` `0`, `Success`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    return_code: &'static str,
    return_message: &'static str,
}

impl Default for Done {
    fn default() -> Self {
        Self { return_code: "0", return_message: "Success" }
    }
}

/// How to render: whose inventory, at what time, in which zone, with which NCP records.
pub struct Render {
    /// The account (`memberNo`).
    pub account_id: Id,
    /// The clock's "now" (statuses, remaining days).
    pub now: OffsetDateTime,
    /// The zone dates are shown in.
    pub zone: UtcOffset,
    /// NCP's records of the account's certificates.
    pub metas: Metas,
}

impl Render {
    /// The NCP record of a certificate, if it has one.
    pub fn meta(&self, certificate_id: Id) -> Option<&NcpCertificateMeta> {
        self.metas.get(&certificate_id)
    }

    /// `certificateName`: the name given through NCP, else the common name.
    pub fn name<'a>(&'a self, c: &'a CertificateRecord) -> &'a str {
        self.meta(c.id).and_then(|m| m.name.as_deref()).unwrap_or(&c.common_name)
    }

    /// One certificate of the order `g`.
    pub fn certificate<'a>(
        &'a self,
        g: &'a CertificateGroup,
        c: &'a CertificateRecord,
    ) -> CertificateView<'a> {
        let certificate_type = Product::find(&g.product_name_id).and_then(paid_type);
        let date = |t: OffsetDateTime| ymd_hms_zoned(t, self.zone);
        let (status_code, status_name) = status(c, g.status, self.now);
        let mut names = vec![c.common_name.as_str()];
        names.extend(c.dns_names.iter().map(String::as_str).filter(|n| *n != c.common_name));
        CertificateView {
            certificate_no: c.id,
            certificate_name: self.name(c),
            member_no: self.account_id.to_string(),
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
    }

    /// An order of a paid product with its certificates; `None` for other products.
    pub fn paid_order<'a>(&'a self, g: &'a CertificateGroup) -> Option<PaidOrder<'a>> {
        Product::find(&g.product_name_id).and_then(paid_type)?;
        let certificates = g.certificates.iter().map(|c| self.certificate(g, c)).collect();
        Some(PaidOrder { order_id: g.order_id.to_string(), certificates })
    }

    /// An order of a paid product as a subscription: it starts with the first issuance and
    /// ends when its latest certificate does; `None` for other products.
    pub fn order<'a>(&'a self, g: &'a CertificateGroup) -> Option<OrderView<'a>> {
        let certificate_type = Product::find(&g.product_name_id).and_then(paid_type)?;
        let start = g.certificates.iter().filter_map(|c| c.date_issued).min();
        let end = g.certificates.iter().filter_map(|c| c.valid_till).max();
        let plain = |t: OffsetDateTime| ymd_hms(t.to_offset(self.zone).replace_offset(UtcOffset::UTC));
        let years = start.zip(end).map(|(s, e)| ((e - s).whole_days().max(1) as u32).div_ceil(366));
        Some(OrderView {
            order_id: g.order_id.to_string(),
            certificate_type,
            subscription_start_dt: start.map(plain),
            subscription_end_dt: end.map(plain),
            subscription_years: years,
            remaining_days: end.map(|e| (e - self.now).whole_days()),
            extendable_years: 0,
            certificates: g.certificates.iter().map(|c| self.certificate(g, c)).collect(),
        })
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
            registration: Default::default(),
        };
        assert_eq!(
            subject_dn("example.com", Some(&org)),
            r"cn=example.com,o=Example\, Inc.,l=Sample-city,c=KR"
        );
        assert_eq!(subject_dn("a.com", None), "cn=a.com");
        assert_eq!(dn_value(" #a=b "), r"\ #a\=b\ ");
    }
}
