//! Certificate authority for certkeep: a root and an issuing intermediate CA on disk,
//! CSR parsing and verification, and issuance of CA/Browser Forum shaped leaf certificates.
//!
//! This crate knows nothing about orders or inventory; it only deals in keys,
//! requests and certificates.

#![warn(missing_docs)]

mod authority;
mod csr;
mod encoding;
mod error;
mod keys;
mod profile;

pub use authority::{CertificateAuthority, IssuedCertificate};
pub use csr::{Csr, CsrKey, generate_csr, parse_csr};
pub use error::{CaError, CsrError};
pub use keys::{KeyAlgorithm, KeyType, PublicKeyInfo, UnknownKeyAlgorithm};
pub use profile::{LeafRequest, SubjectOrganization, Validation};
