//! NAVER Cloud (NCP) API credentials: access key / secret key pairs of an account. The access
//! key is looked up in clear; the secret is kept sealed (see [`crate::seal`]) because the
//! server needs it back to check HMAC signatures.

use aws_lc_rs::rand;

use crate::Id;

/// A new access key / secret key pair; the secret arrives already sealed.
#[derive(Debug, Clone)]
pub struct NewNcpKey {
    /// The account whose inventory the key sees.
    pub account_id: Id,
    /// The access key (`x-ncp-iam-access-key`).
    pub access_key: String,
    /// The secret key, sealed with the access key as context.
    pub sealed_secret: Vec<u8>,
}

/// An active NCP key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NcpKey {
    /// Id.
    pub id: Id,
    /// The account whose inventory the key sees.
    pub account_id: Id,
    /// The access key.
    pub access_key: String,
    /// The secret key, sealed with the access key as context.
    pub sealed_secret: Vec<u8>,
}

/// The product of certificates imported through NCP's `withExternal`: signed elsewhere, kept in
/// the inventory outside the catalog (nothing reissues or revokes them, and OCSP does not vouch
/// for them).
pub const EXTERNAL_PRODUCT: &str = "ncp_external";

/// The sealing context of a certificate's registered private key: a key sealed for one
/// certificate does not open as another's.
pub fn private_key_context(certificate_id: Id) -> Vec<u8> {
    format!("ncp-private-key:{certificate_id}").into_bytes()
}

/// What Certificate Manager keeps about a certificate that the inventory does not: its
/// name, renewal setting, registered private key, and whether it was imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NcpCertificateMeta {
    /// The inventory certificate.
    pub certificate_id: Id,
    /// Its account.
    pub account_id: Id,
    /// `certificateName`, when one was given through NCP.
    pub name: Option<String>,
    /// `renewalYn`.
    pub renewal: bool,
    /// The registered private key (PEM), sealed with the certificate id as context.
    pub sealed_private_key: Option<Vec<u8>>,
    /// Imported through API 1.0 `withExternal` (not issued by certkeep).
    pub external: bool,
    /// The chain that came with an imported certificate (PEM).
    pub chain_pem: Option<String>,
    /// Deleted through `deleteCertificate` (kept in the inventory, hidden from NCP).
    pub deleted: bool,
}

/// What became of a certificate imported through NCP's `withExternal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalImport {
    /// Imported (or brought back, when deleted before) as this certificate.
    Imported(Id),
    /// Another certificate NCP shows for the account has this name.
    NameInUse,
    /// A certificate already holds the serial.
    AlreadyRegistered,
}

/// An NCP "ACME account": one ACME contract with one EAB credential, made through
/// `CreateEabCredential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NcpAcmeAccount {
    /// The contract (NCP's `accountId`).
    pub contract_id: Id,
    /// Its account.
    pub account_id: Id,
    /// `alias`.
    pub alias: String,
    /// `validationMode`: `PRE` or `DNS01`.
    pub validation_mode: String,
    /// `validityDays` as asked.
    pub validity_days: u32,
}

const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random characters from `alphabet`, without modulo bias.
fn random_string(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rand::fill(&mut buf).expect("system RNG failed");
        for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == len {
                break;
            }
            out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
        }
    }
    out
}

/// A new pair shaped like NCP's: a 20-character upper-case alphanumeric access key and a
/// 40-character alphanumeric secret key (about 238 bits).
pub fn generate_ncp_key_pair() -> (String, String) {
    (random_string(&ALPHANUMERIC[..36], 20), random_string(ALPHANUMERIC, 40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_unique_and_shaped_like_ncp_keys() {
        let (a, s) = generate_ncp_key_pair();
        let (b, _) = generate_ncp_key_pair();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
