//! Certificates grouped by order: the listing of front doors that show an account's
//! certificates order by order (NCP's `getPaidCertificates`), independent of any dialect.

use crate::{CertificateRecord, Id, OrderStatus, Organization};

/// Which certificates to list, paged by order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateGroupQuery {
    /// Only orders of these products.
    pub product_name_ids: Vec<String>,
    /// Only certificates with this common name (case-insensitive), and only orders holding one.
    pub common_name: Option<String>,
    /// Orders to skip.
    pub offset: u64,
    /// Orders to return at most; `None` for all.
    pub limit: Option<u64>,
}

/// One order with its certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateGroup {
    /// Order id.
    pub order_id: Id,
    /// Stored order status (see [`OrderStatus::effective`]).
    pub status: OrderStatus,
    /// Product identifier.
    pub product_name_id: String,
    /// The order's organization (none for DV).
    pub organization: Option<Organization>,
    /// The order's certificates that are not archived (primary, reissues, duplicates), oldest
    /// first.
    pub certificates: Vec<CertificateRecord>,
}

/// One page of [`CertificateGroup`]s, in order-id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateGroupPage {
    /// Orders matching the query, before offset and limit.
    pub total: u64,
    /// The page.
    pub groups: Vec<CertificateGroup>,
}
