//! The order-list query: filters, sort keys and a page window, independent of any dialect.

use std::ops::Bound;

use time::OffsetDateTime;

use crate::{Door, Id, OrderStatus, Origin};

/// A time interval; each end open, inclusive or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Lower end.
    pub start: Bound<OffsetDateTime>,
    /// Upper end.
    pub end: Bound<OffsetDateTime>,
}

/// Contains-search or exact match on the order's e-mail or common name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// The value occurs anywhere (case-insensitive).
    Contains(String),
    /// The value equals the e-mail or the common name (case-insensitive).
    Exact(String),
}

/// One filter; several filters combine with AND, the values inside one with OR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderFilter {
    /// Order id.
    Id(Vec<Id>),
    /// Status. `Issued` includes expired orders; `Expired` only those.
    Status(Vec<OrderStatus>),
    /// Organization id.
    OrganizationId(Vec<Id>),
    /// Product identifier.
    ProductNameId(Vec<String>),
    /// Expiry of the current certificate.
    ValidTill(TimeRange),
    /// Submitting user.
    UserId(Vec<Id>),
    /// Common name equals.
    CommonName(Vec<String>),
    /// Common name or any additional name equals.
    DomainName(Vec<String>),
    /// Creation time.
    DateCreated(TimeRange),
    /// Container id (that container only).
    ContainerId(Vec<Id>),
    /// Has a value for this custom field.
    MetadataId(Vec<Id>),
    /// Renewed or not.
    IsRenewed(bool),
    /// Renewal notifications disabled or not.
    DisableRenewalNotifications(bool),
    /// Contact e-mail equals.
    Email(Vec<String>),
    /// Any certificate of the order has this id.
    CertificateId(Vec<Id>),
    /// Origin.
    Origin(Vec<Origin>),
    /// The door the order came in through.
    Door(Vec<Door>),
    /// The current certificate has this serial number.
    SerialNumber(Vec<String>),
    /// E-mail or common name search.
    Search(Search),
}

/// A property orders can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// Order id (also the creation order).
    Id,
    /// Creation time.
    DateCreated,
    /// Stored status.
    Status,
    /// Common name.
    CommonName,
    /// Expiry of the current certificate.
    ValidTill,
    /// Product identifier.
    ProductNameId,
    /// Organization id.
    OrganizationId,
    /// Container id.
    ContainerId,
    /// Submitting user.
    UserId,
    /// Contact e-mail.
    Email,
    /// Renewed flag.
    IsRenewed,
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// Property.
    pub field: SortField,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// A query over the orders of a scope. Results are always ordered by the sort keys and then
/// by id, so that pages are stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Filters (AND).
    pub filters: Vec<OrderFilter>,
    /// Sort keys, most significant first.
    pub sort: Vec<SortKey>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most; `None` for all.
    pub limit: Option<u64>,
}
