//! Key algorithms, key generation and verified subject public keys.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::RSAPublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::error::{CaError, CsrError};

/// Smallest accepted RSA modulus.
const MIN_RSA_BITS: u32 = 2048;
/// Largest accepted RSA modulus.
const MAX_RSA_BITS: u32 = 8192;

/// Key algorithm for CA keys and generated test/demo keys.
///
/// Parsed from and displayed as `ecdsa-p256` (the default), `ecdsa-p384`, `rsa-2048`,
/// `rsa-3072` or `rsa-4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256, signing with SHA-256.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384, signing with SHA-384.
    EcdsaP384,
    /// 2048-bit RSA, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
    /// 3072-bit RSA, PKCS#1 v1.5 with SHA-256.
    Rsa3072,
    /// 4096-bit RSA, PKCS#1 v1.5 with SHA-256.
    Rsa4096,
}

impl KeyAlgorithm {
    /// All algorithms, in display order.
    pub const ALL: [KeyAlgorithm; 5] =
        [Self::EcdsaP256, Self::EcdsaP384, Self::Rsa2048, Self::Rsa3072, Self::Rsa4096];

    /// The canonical name, e.g. `ecdsa-p256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
        }
    }

    /// The signature algorithm used by keys of this algorithm.
    pub(crate) fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// Generates a fresh key pair.
    pub(crate) fn generate(self) -> Result<KeyPair, CaError> {
        let rsa_size = match self {
            Self::EcdsaP256 | Self::EcdsaP384 => {
                return KeyPair::generate_for(self.signature_algorithm()).map_err(CaError::crypto);
            }
            Self::Rsa2048 => RsaKeySize::_2048,
            Self::Rsa3072 => RsaKeySize::_3072,
            Self::Rsa4096 => RsaKeySize::_4096,
        };
        KeyPair::generate_rsa_for(self.signature_algorithm(), rsa_size).map_err(CaError::crypto)
    }

    /// The algorithm matching a public key, if it is one a CA can use.
    pub(crate) fn from_public_key(key: &PublicKeyInfo) -> Option<Self> {
        match (key.key_type, key.key_size) {
            (KeyType::Ec, 256) => Some(Self::EcdsaP256),
            (KeyType::Ec, 384) => Some(Self::EcdsaP384),
            (KeyType::Rsa, 2048) => Some(Self::Rsa2048),
            (KeyType::Rsa, 3072) => Some(Self::Rsa3072),
            (KeyType::Rsa, 4096) => Some(Self::Rsa4096),
            _ => None,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing an unknown [`KeyAlgorithm`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKeyAlgorithm(pub String);

impl fmt::Display for UnknownKeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown key algorithm {:?} (expected one of: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096)",
            self.0
        )
    }
}

impl std::error::Error for UnknownKeyAlgorithm {}

impl FromStr for KeyAlgorithm {
    type Err = UnknownKeyAlgorithm;

    /// Parses a canonical name, ignoring ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownKeyAlgorithm(s.to_owned()))
    }
}

/// Type of a subject public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA (displayed as `rsa`).
    Rsa,
    /// ECDSA on a NIST curve (displayed as `ecdsa`).
    Ec,
    /// Ed25519 (displayed as `ed25519`).
    Ed25519,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rsa => "rsa",
            Self::Ec => "ecdsa",
            Self::Ed25519 => "ed25519",
        })
    }
}

/// A verified subject public key taken from a CSR (or a CA certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    key_type: KeyType,
    key_size: u32,
    spki_der: Vec<u8>,
    subject_public_key: Vec<u8>,
    algorithm: &'static SignatureAlgorithm,
}

impl PublicKeyInfo {
    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Key size in bits: RSA modulus bits, EC curve bits (256/384/521), 256 for Ed25519.
    pub fn key_size(&self) -> u32 {
        self.key_size
    }

    /// Refuses keys the Baseline Requirements (6.1.5) do not allow in publicly trusted TLS
    /// certificates beyond what every certificate refuses: Ed25519.
    pub fn check_public_tls(&self) -> Result<(), CsrError> {
        match self.key_type {
            KeyType::Ed25519 => Err(CsrError::UnsupportedKey(
                "Ed25519, which publicly trusted TLS certificates cannot hold (BR 6.1.5)".into(),
            )),
            KeyType::Rsa | KeyType::Ec => Ok(()),
        }
    }

    /// DER `SubjectPublicKeyInfo`, exactly as it appears in issued certificates.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key of a DER `SubjectPublicKeyInfo` taken from a CSR this process has verified
    /// ([`crate::parse_csr`], see [`Self::spki_der`]), checked again against the accepted key
    /// types and sizes: how a verified CSR's key reaches the CA without the CSR being parsed
    /// and its signature verified a second time.
    pub fn from_verified_spki_der(der: &[u8]) -> Result<Self, CsrError> {
        match SubjectPublicKeyInfo::from_der(der) {
            Ok(([], spki)) => Self::from_spki(&spki),
            _ => Err(CsrError::Unparseable),
        }
    }

    /// Checks a parsed SPKI against the accepted key types and sizes.
    ///
    /// This does not validate that EC points lie on the curve; verifying a signature made
    /// with the key (as `parse_csr` does) covers that.
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self, CsrError> {
        let oid = &spki.algorithm.algorithm;
        let raw: &[u8] = &spki.subject_public_key.data;
        let (key_type, key_size, algorithm) = if *oid == OID_PKCS1_RSAENCRYPTION {
            let (bits, exponent_ok) = rsa_modulus_bits(raw)?;
            if !exponent_ok {
                return Err(CsrError::WeakKey("RSA public exponent below 65537 or even (BR 6.1.6)".into()));
            }
            if bits % 8 != 0 {
                return Err(CsrError::WeakKey(format!("RSA modulus of {bits} bits, not a multiple of 8")));
            }
            if bits < MIN_RSA_BITS {
                return Err(CsrError::WeakKey(format!("RSA key of {bits} bits (minimum {MIN_RSA_BITS})")));
            }
            if bits > MAX_RSA_BITS {
                return Err(CsrError::UnsupportedKey(format!(
                    "RSA key of {bits} bits (maximum {MAX_RSA_BITS})"
                )));
            }
            (KeyType::Rsa, bits, &rcgen::PKCS_RSA_SHA256)
        } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or(CsrError::Unparseable)?;
            if curve == OID_EC_P256 {
                (KeyType::Ec, 256, &rcgen::PKCS_ECDSA_P256_SHA256)
            } else if curve == OID_NIST_EC_P384 {
                (KeyType::Ec, 384, &rcgen::PKCS_ECDSA_P384_SHA384)
            } else if curve == OID_NIST_EC_P521 {
                (KeyType::Ec, 521, &rcgen::PKCS_ECDSA_P521_SHA512)
            } else {
                return Err(CsrError::UnsupportedKey(format!(
                    "elliptic curve {curve} (only P-256, P-384 and P-521 are accepted)"
                )));
            }
        } else if *oid == OID_SIG_ED25519 {
            if raw.len() != 32 {
                return Err(CsrError::Unparseable);
            }
            (KeyType::Ed25519, 256, &rcgen::PKCS_ED25519)
        } else {
            return Err(CsrError::UnsupportedKey(format!("key algorithm {oid}")));
        };
        let mut info = PublicKeyInfo {
            key_type,
            key_size,
            spki_der: Vec::new(),
            subject_public_key: raw.to_vec(),
            algorithm,
        };
        info.spki_der = SubjectKey(&info).subject_public_key_info();
        Ok(info)
    }
}

/// Bit length of the modulus of a DER `RSAPublicKey`, and whether its public exponent is odd
/// and at least 65537 (BR 6.1.6).
fn rsa_modulus_bits(raw: &[u8]) -> Result<(u32, bool), CsrError> {
    let (_, key) = RSAPublicKey::from_der(raw).map_err(|_| CsrError::Unparseable)?;
    let modulus = key.modulus;
    if modulus.first().is_some_and(|b| b & 0x80 != 0) {
        // Negative modulus.
        return Err(CsrError::Unparseable);
    }
    let significant = match modulus.iter().position(|&b| b != 0) {
        Some(start) => &modulus[start..],
        None => return Err(CsrError::Unparseable),
    };
    let bits = significant.len() as u64 * 8 - u64::from(significant[0].leading_zeros());
    let exponent = key.exponent;
    let exponent = &exponent[exponent.iter().position(|&b| b != 0).unwrap_or(exponent.len())..];
    let exponent_ok = exponent.last().is_some_and(|b| b & 1 == 1)
        && (exponent.len() > 3 || exponent.len() == 3 && exponent >= &[0x01, 0x00, 0x01][..]);
    let bits = u32::try_from(bits).map_err(|_| CsrError::UnsupportedKey("RSA key too large".into()))?;
    Ok((bits, exponent_ok))
}

/// Adapter giving rcgen access to a [`PublicKeyInfo`] as a certificate subject key.
pub(crate) struct SubjectKey<'a>(pub(crate) &'a PublicKeyInfo);

impl PublicKeyData for SubjectKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.0.subject_public_key
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.0.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_algorithm_names_round_trip() {
        for alg in KeyAlgorithm::ALL {
            assert_eq!(alg.to_string().parse::<KeyAlgorithm>(), Ok(alg));
        }
        assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::EcdsaP256);
        assert_eq!(" RSA-2048 ".parse(), Ok(KeyAlgorithm::Rsa2048));
        assert!("rsa-1024".parse::<KeyAlgorithm>().is_err());
        assert!("".parse::<KeyAlgorithm>().is_err());
    }

    #[test]
    fn key_type_display() {
        assert_eq!(KeyType::Rsa.to_string(), "rsa");
        assert_eq!(KeyType::Ec.to_string(), "ecdsa");
        assert_eq!(KeyType::Ed25519.to_string(), "ed25519");
    }

    #[test]
    fn rsa_modulus_bit_length() {
        // SEQUENCE { INTEGER 0x00FF.. (9 bits after the sign byte => 8 bits), INTEGER 3 }
        let der = [0x30, 0x07, 0x02, 0x02, 0x00, 0xff, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&der), Ok((8, false)));
        let der = [0x30, 0x07, 0x02, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&der), Ok((9, false)));
        // Exponents 65537 and 65539 pass; 65536 (even) and 3 do not.
        for (exponent, ok) in
            [(&[0x01, 0x00, 0x01][..], true), (&[0x01, 0x00, 0x03], true), (&[0x01, 0x00, 0x00], false)]
        {
            let mut der = vec![0x30, 0x09, 0x02, 0x02, 0x00, 0xff, 0x02, 0x03];
            der.extend_from_slice(exponent);
            assert_eq!(rsa_modulus_bits(&der), Ok((8, ok)), "{exponent:?}");
        }
        let negative = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&negative), Err(CsrError::Unparseable));
        assert_eq!(rsa_modulus_bits(&[0x30]), Err(CsrError::Unparseable));
    }
}
