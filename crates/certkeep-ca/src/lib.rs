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
mod imported;
mod key_file;
mod keys;
mod ocsp;
mod profile;
mod revocation;
mod signer;

pub use authority::{CertificateAuthority, IssuedCertificate};
pub use csr::{Csr, CsrKey, generate_csr, parse_csr, parse_csr_der};
pub use error::{CaError, CsrError};
pub use imported::{
    ImportError, ParsedCertificate, certificate_blocks, check_private_key, parse_certificate_pem,
};
pub use keys::{KeyAlgorithm, KeyType, PublicKeyInfo, UnknownKeyAlgorithm};
pub use profile::{EvRegistration, LeafRequest, RootUrls, SubjectOrganization, Validation};
pub use revocation::{OcspStatus, RevocationReason, RevokedEntry, UnknownRevocationReason};
pub use signer::Signer;

/// A DER certificate as PEM, ending right after its `-----END CERTIFICATE-----` line.
pub fn certificate_pem(der: &[u8]) -> String {
    encoding::encode_pem(encoding::CERTIFICATE_LABEL, der)
}

/// A certs-only PKCS#7 bundle of `certificates` as PEM (`-----BEGIN PKCS7-----`).
pub fn pkcs7_pem(certificates: &[&[u8]]) -> String {
    encoding::encode_pem("PKCS7", &encoding::pkcs7_certificates(certificates))
}

/// Decodes standard base64, ignoring whitespace and tolerating missing padding.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    encoding::decode_base64(text)
}
