//! The certkeep inventory: the domain every front door shares.
//!
//! Accounts own a tree of containers; organizations, users, API keys and orders live in
//! containers. An order holds certificates (its primary, reissues and duplicates) and the
//! requests made on it. Nothing here knows about HTTP or SQL: front doors translate their
//! wire formats to these types, and a [`Store`] persists them.

pub mod acme;
pub mod audit;
pub mod certificate_list;
pub mod clock;
pub mod credentials;
pub mod dcv;
pub mod lifecycle;
pub mod names;
pub mod ncp;
pub mod notice;
pub mod order;
pub mod partner;
pub mod policy;
pub mod product;
pub mod query;
pub mod refusal;
pub mod seal;
pub mod store;
pub mod tenancy;
pub mod webhook;

pub use certificate_list::{CertificateGroup, CertificateGroupPage, CertificateGroupQuery};
pub use clock::{Clock, FixedClock, SystemClock};
pub use order::*;
pub use product::{PRODUCTS, Product, ProductType, ValidationType};
pub use query::*;
pub use store::{
    ConsoleLogin, ConsoleSession, ConsoleStore, ExpiryCount, ExpiryOf, InventoryStore, NcpStore,
    NewConsoleSession, NoticeStore, OperationsStore, OrderCertificates, OrderPage, OrderRef, PartnerStore,
    RequestQuery, Store, StoreError, StoreResult, WebhookStore,
};
pub use tenancy::*;

/// Database identifier of every inventory object (integers, as CertCentral has them).
pub type Id = i64;
