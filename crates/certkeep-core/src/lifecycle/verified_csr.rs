//! The CSR a front door hands the lifecycle, after checking it in its own dialect.

/// A CSR its front door parsed and whose signature it verified: the PEM kept with the
/// certificate, its key's size, and its key's DER SubjectPublicKeyInfo when the door has it,
/// so that the CA certifies that key without parsing the CSR again inside the issuing
/// transaction (`None`: the CA parses the PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCsr {
    /// The CSR, PEM.
    pub pem: String,
    /// Its key's size in bits.
    pub key_size: u32,
    /// Its key's DER SubjectPublicKeyInfo.
    pub spki_der: Option<Vec<u8>>,
}
