//! ACME (RFC 8555) as certkeep runs it: accounts bound to a contract by an External Account
//! Binding credential, orders, authorizations, challenges and used nonces.
//!
//! They live behind their own [`AcmeStore`] trait, reached through [`crate::Store::acme`]:
//! the protocol's bookkeeping is a separate concern from the inventory. Certificates issued
//! over ACME are ordinary inventory orders; an ACME order only records which one it produced.
//!
//! The protocol itself lives here too: [`rules`] states what moves an object from one status
//! to another (plain functions), [`steps`] applies them to what one request reads and writes
//! in its single [`AcmeTx`]. The front door keeps the wire (JWS, problem documents, URLs, JSON)
//! and the validation of challenges.

mod objects;
pub mod rules;
pub mod steps;
mod store;

pub use objects::{AcmeAccount, AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus};
pub use store::{AcmeStore, AcmeTx, transaction};
