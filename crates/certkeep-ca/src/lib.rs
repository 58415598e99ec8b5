//! Certificate authority for certkeep: a root and an issuing intermediate CA on disk,
//! CSR parsing and verification, issuance of CA/Browser Forum shaped leaf certificates, and
//! revocation: CRLs and OCSP responses (RFC 6960) signed by the issuing CA.
//!
//! This crate knows nothing about orders or inventory; it only deals in keys,
//! requests and certificates.

#![warn(missing_docs)]

mod authority;
mod csr;
mod encoding;
mod error;
mod keys;
mod ocsp;
mod profile;
mod revocation;

pub use authority::{CertificateAuthority, IssuedCertificate};
pub use csr::{Csr, generate_csr, parse_csr};
pub use error::{CaError, CsrError};
pub use keys::{KeyAlgorithm, KeyType, PublicKeyInfo, UnknownKeyAlgorithm};
pub use profile::{LeafRequest, SubjectOrganization, Validation};
pub use revocation::{OcspStatus, RevocationReason, RevokedEntry, UnknownRevocationReason};
