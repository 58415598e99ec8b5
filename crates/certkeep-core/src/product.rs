//! The product catalog: CertCentral product identifiers with their type and validation level.

/// CertCentral product type (the `product.type` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductType {
    /// OV and EV TLS products.
    SslCertificate,
    /// Domain-validated TLS products.
    DvSslCertificate,
    /// Certificates from a private (non-publicly-trusted) CA.
    PrivateSslCertificate,
}

impl ProductType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SslCertificate => "ssl_certificate",
            Self::DvSslCertificate => "dv_ssl_certificate",
            Self::PrivateSslCertificate => "private_ssl_certificate",
        }
    }
}

/// Validation level of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationType {
    /// Domain validation.
    Dv,
    /// Organization validation.
    Ov,
    /// Extended validation.
    Ev,
}

impl ValidationType {
    /// Lower-case code as order info shows it (`"ov"`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Dv => "dv",
            Self::Ov => "ov",
            Self::Ev => "ev",
        }
    }

    /// Display name (`"OV"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Dv => "DV",
            Self::Ov => "OV",
            Self::Ev => "EV",
        }
    }

    /// Description as CertCentral words it.
    pub fn description(self) -> &'static str {
        match self {
            Self::Dv => "Domain Validation",
            Self::Ov => "Normal Organization Validation",
            Self::Ev => "Extended Organization Validation",
        }
    }

    /// Whether orders of this level carry an organization.
    pub fn needs_organization(self) -> bool {
        !matches!(self, Self::Dv)
    }
}

/// One orderable product and the rules orders for it must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// Identifier used in URLs and filters (`ssl_plus`).
    pub name_id: &'static str,
    /// Display name (`Standard SSL`).
    pub name: &'static str,
    /// Product type.
    pub product_type: ProductType,
    /// Validation level.
    pub validation: ValidationType,
    /// Whether wildcard names may be ordered.
    pub allows_wildcard: bool,
    /// Maximum number of names besides the common name.
    pub max_dns_names: u32,
    /// Longest order (Multi-year Plan) in days: three years. Each certificate of an order is
    /// as long as the rules allow at its issuance ([`crate::policy::max_certificate_days`] for
    /// public products, the deployment's private lifetime otherwise) and no longer than the plan.
    pub max_plan_days: u32,
}

impl Product {
    /// Whether certificates of this product follow the Baseline Requirements for publicly
    /// trusted TLS (every product but the private ones).
    pub fn is_public(&self) -> bool {
        self.product_type != ProductType::PrivateSslCertificate
    }

    /// Looks a product up by its identifier.
    pub fn find(name_id: &str) -> Option<&'static Product> {
        PRODUCTS.iter().find(|p| p.name_id == name_id)
    }
}

const fn product(
    name_id: &'static str,
    name: &'static str,
    product_type: ProductType,
    validation: ValidationType,
    allows_wildcard: bool,
    max_dns_names: u32,
) -> Product {
    let max_plan_days = 3 * 365 + 1;
    Product { name_id, name, product_type, validation, allows_wildcard, max_dns_names, max_plan_days }
}

use ProductType::*;
use ValidationType::*;

/// Every product certkeep sells.
pub static PRODUCTS: &[Product] = &[
    product("ssl_plus", "Standard SSL", SslCertificate, Ov, false, 250),
    product("ssl_basic", "Basic OV", SslCertificate, Ov, true, 250),
    product("ssl_wildcard", "Wildcard SSL", SslCertificate, Ov, true, 250),
    product("ssl_multi_domain", "Multi-Domain SSL", SslCertificate, Ov, false, 250),
    product("ssl_ev_plus", "EV SSL Plus", SslCertificate, Ev, false, 250),
    product("ssl_ev_multi_domain", "EV Multi-Domain SSL", SslCertificate, Ev, false, 250),
    product("ssl_ev_basic", "Basic EV", SslCertificate, Ev, false, 250),
    product("ssl_dv_geotrust", "GeoTrust Standard DV", DvSslCertificate, Dv, false, 1),
    product("ssl_dv_rapidssl", "RapidSSL Standard DV", DvSslCertificate, Dv, false, 1),
    product("wildcard_dv_geotrust", "GeoTrust Wildcard DV", DvSslCertificate, Dv, true, 1),
    product("wildcard_dv_rapidssl", "RapidSSL Wildcard DV", DvSslCertificate, Dv, true, 1),
    product("private_ssl_plus", "Private SSL", PrivateSslCertificate, Ov, false, 250),
    product("private_ssl_wildcard", "Private Wildcard SSL", PrivateSslCertificate, Ov, true, 250),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_required_products() {
        for id in [
            "ssl_plus",
            "ssl_basic",
            "ssl_wildcard",
            "ssl_multi_domain",
            "ssl_ev_plus",
            "ssl_dv_geotrust",
            "ssl_dv_rapidssl",
            "wildcard_dv_geotrust",
            "private_ssl_plus",
        ] {
            assert!(Product::find(id).is_some(), "{id} missing");
        }
        assert_eq!(Product::find("ssl_dv_geotrust").unwrap().product_type.as_str(), "dv_ssl_certificate");
        assert!(Product::find("nope").is_none());
    }
}
