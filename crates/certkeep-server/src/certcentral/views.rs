//! The JSON shapes of CertCentral's order endpoints (seeds 001, 002, 003), built from
//! inventory records. Field order follows DigiCert's examples.

use certkeep_core::{
    CertificateRecord, Contact, Id, OrderDetail, OrderSummary, Product, RequestRecord, Validity,
    days_remaining,
};
use serde::Serialize;
use time::OffsetDateTime;

use super::platforms::ServerPlatform;
use crate::{
    Authority,
    wire::{iso8601, ymd},
};

/// `{"id":..,"name":..}`, or `[]` when the order has no organization (as DigiCert's PHP
/// backend renders an empty object).
#[derive(Serialize)]
#[serde(untagged)]
pub enum MaybeOrganization<T> {
    /// The organization.
    Some(T),
    /// No organization: `[]`.
    None([(); 0]),
}

impl<T> From<Option<T>> for MaybeOrganization<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Self::None([]), Self::Some)
    }
}

#[derive(Serialize)]
pub struct IdName<'a> {
    pub id: Id,
    pub name: &'a str,
}

#[derive(Serialize)]
pub struct ProductBrief {
    pub name_id: &'static str,
    pub name: &'static str,
    #[serde(rename = "type")]
    pub product_type: &'static str,
}

fn product(name_id: &str) -> Option<&'static Product> {
    Product::find(name_id)
}

/// The product object of list views.
pub fn product_brief(name_id: &str) -> Option<ProductBrief> {
    product(name_id).map(|p| ProductBrief {
        name_id: p.name_id,
        name: p.name,
        product_type: p.product_type.as_str(),
    })
}

/// Whole years of an order's validity, as `validity_years` reports it.
pub fn validity_years(v: Validity, date_created: OffsetDateTime) -> u32 {
    match v {
        Validity::Years(y) => y,
        Validity::Days(d) => d.div_ceil(366).max(1),
        Validity::CustomExpiration(date) => {
            let days = (date - date_created.date()).whole_days().max(1) as u32;
            days.div_ceil(366).max(1)
        }
    }
}

/// One order of the list (seed 001).
#[derive(Serialize)]
pub struct OrderListItem<'a> {
    pub id: Id,
    pub certificate: ListCertificate<'a>,
    pub status: &'static str,
    pub is_renewed: bool,
    pub date_created: String,
    pub organization: MaybeOrganization<IdName<'a>>,
    pub validity_years: u32,
    pub disable_renewal_notifications: bool,
    pub container: IdName<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductBrief>,
    pub has_duplicates: bool,
    pub product_name_id: &'a str,
}

#[derive(Serialize)]
pub struct ListCertificate<'a> {
    pub id: Id,
    pub common_name: &'a str,
    pub dns_names: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_remaining: Option<i64>,
    pub signature_hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<&'a str>,
}

impl<'a> OrderListItem<'a> {
    /// Renders a list row at `now`.
    pub fn new(o: &'a OrderSummary, now: OffsetDateTime) -> Self {
        let c = &o.certificate;
        Self {
            id: o.id,
            certificate: ListCertificate {
                id: c.id,
                common_name: &c.common_name,
                dns_names: &c.dns_names,
                valid_till: c.valid_till.map(ymd),
                days_remaining: c.valid_till.map(|t| days_remaining(t, now)),
                signature_hash: &c.signature_hash,
                serial_number: c.serial_number.as_deref(),
                thumbprint: c.thumbprint.as_deref(),
            },
            status: o.status.effective(c.valid_till, now).as_str(),
            is_renewed: o.is_renewed,
            date_created: iso8601(o.date_created),
            organization: o.organization.as_ref().map(|(id, name)| IdName { id: *id, name }).into(),
            validity_years: validity_years(o.validity, o.date_created),
            disable_renewal_notifications: o.disable_renewal_notifications,
            container: IdName { id: o.container.id, name: &o.container.name },
            product: product_brief(&o.product_name_id),
            has_duplicates: o.has_duplicates,
            product_name_id: &o.product_name_id,
        }
    }
}

/// Order info (seed 002).
#[derive(Serialize)]
pub struct OrderInfo<'a> {
    pub id: Id,
    pub certificate: InfoCertificate<'a>,
    pub status: &'static str,
    pub is_renewal: bool,
    pub is_renewed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewed_order_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was_renewed_by_order_id: Option<Id>,
    pub date_created: String,
    pub organization: MaybeOrganization<InfoOrganization<'a>>,
    pub validity_years: u32,
    pub order_valid_till: String,
    pub order_validity: ValidityView,
    pub disable_renewal_notifications: bool,
    pub auto_renew: u8,
    pub auto_reissue: u8,
    pub container: InfoContainer<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<InfoProduct>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_contact: Option<ContactView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technical_contact: Option<ContactView<'a>>,
    pub user: InfoUser<'a>,
    pub purchased_dns_names: u32,
    pub requests: Vec<InfoRequest<'a>>,
    pub public_id: &'a str,
    pub allow_duplicates: bool,
    pub is_out_of_contract: bool,
    pub payment_method: &'a str,
    pub product_name_id: &'a str,
    pub custom_fields: Vec<InfoCustomField<'a>>,
    pub disable_issuance_email: bool,
    pub disable_ct: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative_order_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<InfoApiKey<'a>>,
    pub is_guest_access_enabled: bool,
}

#[derive(Serialize)]
pub struct InfoCertificate<'a> {
    pub id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<&'a str>,
    pub common_name: &'a str,
    pub dns_names: &'a [String],
    pub date_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_issued: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_remaining: Option<i64>,
    pub csr: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<IdOnly>,
    pub organization_units: &'a [String],
    pub server_platform: ServerPlatform,
    pub signature_hash: &'a str,
    pub key_size: u32,
    pub ca_cert: CaCert<'a>,
    pub cert_validity: ValidityView,
    pub user_id: Id,
}

#[derive(Serialize)]
pub struct CaCert<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

#[derive(Serialize)]
pub struct IdOnly {
    pub id: Id,
}

/// `{"years":1}`, `{"days":90}` or `{"custom_expiration_date":"2026-01-01"}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityView {
    Years(u32),
    Days(u32),
    CustomExpirationDate(String),
}

impl From<Validity> for ValidityView {
    fn from(v: Validity) -> Self {
        match v {
            Validity::Years(y) => Self::Years(y),
            Validity::Days(d) => Self::Days(d),
            Validity::CustomExpiration(d) => Self::CustomExpirationDate(ymd(d.midnight().assume_utc())),
        }
    }
}

#[derive(Serialize)]
pub struct InfoOrganization<'a> {
    pub id: Id,
    pub name: &'a str,
    pub assumed_name: &'a str,
    pub display_name: String,
    pub city: &'a str,
    pub state: &'a str,
    pub country: &'a str,
}

#[derive(Serialize)]
pub struct InfoContainer<'a> {
    pub id: Id,
    pub name: &'a str,
    pub is_active: bool,
}

#[derive(Serialize)]
pub struct InfoProduct {
    pub name_id: &'static str,
    pub name: &'static str,
    #[serde(rename = "type")]
    pub product_type: &'static str,
    pub validation_type: &'static str,
    pub validation_name: &'static str,
    pub validation_description: &'static str,
    pub csr_required: bool,
}

/// Structures - contact details object.
#[derive(Serialize)]
pub struct ContactView<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub job_title: &'a str,
    pub telephone: &'a str,
    pub telephone_extension: &'a str,
}

impl<'a> From<&'a Contact> for ContactView<'a> {
    fn from(c: &'a Contact) -> Self {
        Self {
            first_name: &c.first_name,
            last_name: &c.last_name,
            email: &c.email,
            job_title: &c.job_title,
            telephone: &c.telephone,
            telephone_extension: &c.telephone_extension,
        }
    }
}

#[derive(Serialize)]
pub struct InfoUser<'a> {
    pub id: Id,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

#[derive(Serialize)]
pub struct InfoRequest<'a> {
    pub id: Id,
    pub date: String,
    #[serde(rename = "type")]
    pub request_type: &'static str,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<&'a str>,
}

impl<'a> From<&'a RequestRecord> for InfoRequest<'a> {
    fn from(r: &'a RequestRecord) -> Self {
        Self {
            id: r.id,
            date: iso8601(r.date),
            request_type: r.request_type.as_str(),
            status: r.status.as_str(),
            comments: r.comments.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub struct InfoCustomField<'a> {
    pub metadata_id: Id,
    pub label: &'a str,
    pub value: &'a str,
}

#[derive(Serialize)]
pub struct InfoApiKey<'a> {
    pub name: &'a str,
    pub key_type: &'a str,
}

/// The end of an order's validity.
fn order_valid_till(v: Validity, created: OffsetDateTime) -> OffsetDateTime {
    match v {
        Validity::Years(y) => created.replace_year(created.year() + y as i32).unwrap_or(created),
        Validity::Days(d) => created + time::Duration::days(d.into()),
        Validity::CustomExpiration(date) => date.midnight().assume_utc(),
    }
}

impl<'a> OrderInfo<'a> {
    /// Renders order info at `now`.
    pub fn new(d: &'a OrderDetail, ca: &'a Authority, now: OffsetDateTime) -> Self {
        let s = &d.summary;
        let c = &d.certificate;
        let product = product(&s.product_name_id);
        let issued = |v: Option<OffsetDateTime>| v.map(ymd);
        Self {
            id: s.id,
            certificate: InfoCertificate {
                id: c.id,
                thumbprint: c.thumbprint.as_deref(),
                serial_number: c.serial_number.as_deref(),
                common_name: &c.common_name,
                dns_names: &c.dns_names,
                date_created: iso8601(c.date_created),
                date_issued: c.date_issued.map(iso8601),
                valid_from: issued(c.valid_from),
                valid_till: issued(c.valid_till),
                days_remaining: c.valid_till.map(|t| days_remaining(t, now)),
                csr: &c.csr,
                organization: s.organization.as_ref().map(|(id, _)| IdOnly { id: *id }),
                organization_units: &d.organization_units,
                server_platform: ServerPlatform::find(c.server_platform_id),
                signature_hash: &c.signature_hash,
                key_size: c.key_size,
                ca_cert: CaCert { id: ca.id(), name: ca.name() },
                cert_validity: s.validity.into(),
                user_id: c.user.id,
            },
            status: s.status.effective(s.certificate.valid_till, now).as_str(),
            is_renewal: d.renewed_order_id.is_some(),
            is_renewed: s.is_renewed,
            renewed_order_id: d.renewed_order_id,
            was_renewed_by_order_id: d.was_renewed_by_order_id,
            date_created: iso8601(s.date_created),
            organization: d
                .organization
                .as_ref()
                .map(|o| InfoOrganization {
                    id: o.id,
                    name: &o.name,
                    assumed_name: &o.assumed_name,
                    display_name: o.display_name(),
                    city: &o.city,
                    state: &o.state,
                    country: &o.country,
                })
                .into(),
            validity_years: validity_years(s.validity, s.date_created),
            order_valid_till: ymd(order_valid_till(s.validity, s.date_created)),
            order_validity: s.validity.into(),
            disable_renewal_notifications: s.disable_renewal_notifications,
            auto_renew: s.auto_renew.into(),
            auto_reissue: d.auto_reissue.into(),
            container: InfoContainer {
                id: s.container.id,
                name: &s.container.name,
                is_active: s.container.is_active,
            },
            product: product.map(|p| InfoProduct {
                name_id: p.name_id,
                name: p.name,
                product_type: p.product_type.as_str(),
                validation_type: p.validation.code(),
                validation_name: p.validation.name(),
                validation_description: p.validation.description(),
                csr_required: true,
            }),
            organization_contact: d.organization.as_ref().map(|o| (&o.contact).into()),
            technical_contact: d.technical_contact.as_ref().map(Into::into),
            user: InfoUser {
                id: d.user.id,
                first_name: &d.user.first_name,
                last_name: &d.user.last_name,
                email: &d.user.email,
            },
            purchased_dns_names: d.purchased_dns_names,
            requests: d.requests.iter().map(Into::into).collect(),
            public_id: &d.public_id,
            allow_duplicates: true,
            is_out_of_contract: false,
            payment_method: &d.payment_method,
            product_name_id: &s.product_name_id,
            custom_fields: d
                .custom_fields
                .iter()
                .map(|f| InfoCustomField { metadata_id: f.metadata_id, label: &f.label, value: &f.value })
                .collect(),
            disable_issuance_email: d.disable_issuance_email,
            disable_ct: d.disable_ct,
            alternative_order_id: d.alternative_order_id.as_deref(),
            api_key: d.api_key.as_ref().map(|(name, key_type)| InfoApiKey { name, key_type }),
            is_guest_access_enabled: false,
        }
    }
}

/// One certificate of the duplicates list (seed 003). `archived` and `sub_id` are strings there.
#[derive(Serialize)]
pub struct DuplicateItem<'a> {
    pub id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<&'a str>,
    pub common_name: &'a str,
    pub dns_names: &'a [String],
    pub status: &'static str,
    pub date_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_remaining: Option<i64>,
    pub csr: &'a str,
    pub server_platform: ServerPlatform,
    pub signature_hash: &'a str,
    pub key_size: u32,
    pub ca_cert_id: &'a str,
    pub sub_id: String,
    pub public_id: &'a str,
    pub archived: &'static str,
    pub user_id: Id,
    pub firstname: &'a str,
    pub lastname: &'a str,
}

impl<'a> DuplicateItem<'a> {
    /// Renders the `n`th (1-based) duplicate of an order.
    pub fn new(
        c: &'a CertificateRecord,
        n: usize,
        public_id: &'a str,
        ca: &'a Authority,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: c.id,
            thumbprint: c.thumbprint.as_deref(),
            serial_number: c.serial_number.as_deref(),
            common_name: &c.common_name,
            dns_names: &c.dns_names,
            status: c.status.as_str(),
            date_created: iso8601(c.date_created),
            valid_from: c.valid_from.map(ymd),
            valid_till: c.valid_till.map(ymd),
            days_remaining: c.valid_till.map(|t| days_remaining(t, now)),
            csr: &c.csr,
            server_platform: ServerPlatform::find(c.server_platform_id),
            signature_hash: &c.signature_hash,
            key_size: c.key_size,
            ca_cert_id: ca.id(),
            sub_id: n.to_string(),
            public_id,
            archived: if c.archived { "1" } else { "0" },
            user_id: c.user.id,
            firstname: &c.user.first_name,
            lastname: &c.user.last_name,
        }
    }
}

/// The fields every single-certificate view starts with.
#[derive(Serialize)]
pub struct CertificateCore<'a> {
    pub id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<&'a str>,
    pub common_name: &'a str,
    pub dns_names: &'a [String],
    pub status: &'static str,
    pub date_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_issued: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_remaining: Option<i64>,
    pub csr: &'a str,
    pub key_size: u32,
}

impl<'a> CertificateCore<'a> {
    /// The shared fields of a certificate at `now`.
    pub fn new(c: &'a CertificateRecord, now: OffsetDateTime) -> Self {
        Self {
            id: c.id,
            thumbprint: c.thumbprint.as_deref(),
            serial_number: c.serial_number.as_deref(),
            common_name: &c.common_name,
            dns_names: &c.dns_names,
            status: c.status.as_str(),
            date_created: iso8601(c.date_created),
            date_issued: c.date_issued.map(iso8601),
            valid_from: c.valid_from.map(ymd),
            valid_till: c.valid_till.map(ymd),
            days_remaining: c.valid_till.map(|t| days_remaining(t, now)),
            csr: &c.csr,
            key_size: c.key_size,
        }
    }
}

/// One certificate of the reissues list. `archived` is an integer there.
#[derive(Serialize)]
pub struct ReissueItem<'a> {
    #[serde(flatten)]
    pub certificate: CertificateCore<'a>,
    pub archived: u8,
    pub user_id: Id,
    pub email: &'a str,
    pub firstname: &'a str,
    pub lastname: &'a str,
}

impl<'a> ReissueItem<'a> {
    /// Renders one reissue.
    pub fn new(c: &'a CertificateRecord, now: OffsetDateTime) -> Self {
        Self {
            certificate: CertificateCore::new(c, now),
            archived: c.archived.into(),
            user_id: c.user.id,
            email: &c.user.email,
            firstname: &c.user.first_name,
            lastname: &c.user.last_name,
        }
    }
}

/// `page` of list responses: exact total, the limit as requested (0 when none), the offset.
#[derive(Serialize)]
pub struct Page {
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// An object named in a path: a numeric id, or upper-case hex (a thumbprint or serial).
pub enum PathRef {
    /// Up to 18 digits.
    Id(Id),
    /// Hex digits, at most 64.
    Hex(String),
}

impl PathRef {
    /// Parses a path segment; anything else (empty, too long, other characters) is `None`.
    pub fn parse(segment: &str) -> Option<Self> {
        let s = segment.trim();
        if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().ok().map(Self::Id);
        }
        (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self::Hex(s.to_ascii_uppercase()))
    }
}
