//! Certificates and private keys that come from elsewhere: a customer's own certificate to
//! keep in the inventory, and the private key registered for a certificate.

use rcgen::{KeyPair, PublicKeyData};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use crate::encoding::{self, CERTIFICATE_LABEL};

/// Largest PEM text accepted.
const MAX_INPUT: usize = 64 * 1024;

/// Why a certificate or key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// Not a PEM certificate (or key) that parses.
    Unparseable,
    /// The private key is not the key of the certificate.
    KeyMismatch,
}

/// The facts of an X.509 certificate that the inventory records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCertificate {
    /// DER.
    pub der: Vec<u8>,
    /// First subject common name.
    pub common_name: Option<String>,
    /// DNS names of the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// First subject organization.
    pub organization: Option<String>,
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// SHA-1 of the DER, upper-case hex.
    pub thumbprint: String,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Public key size in bits (0 when not RSA/EC/Ed25519 as certkeep knows them).
    pub key_size: u32,
}

/// Every `CERTIFICATE` block of a PEM text, as DER, in order.
pub fn certificate_blocks(text: &str) -> Result<Vec<Vec<u8>>, ImportError> {
    if text.len() > MAX_INPUT {
        return Err(ImportError::Unparseable);
    }
    let blocks = pem::parse_many(text).map_err(|_| ImportError::Unparseable)?;
    blocks
        .into_iter()
        .map(|b| (b.tag() == CERTIFICATE_LABEL).then(|| b.into_contents()).ok_or(ImportError::Unparseable))
        .collect()
}

/// Parses one PEM certificate.
pub fn parse_certificate_pem(text: &str) -> Result<ParsedCertificate, ImportError> {
    let mut blocks = certificate_blocks(text)?;
    if blocks.len() != 1 {
        return Err(ImportError::Unparseable);
    }
    let der = blocks.remove(0);
    let cert = match X509Certificate::from_der(&der) {
        Ok(([], cert)) => cert,
        _ => return Err(ImportError::Unparseable),
    };
    let text_of = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| a.as_str().ok().map(str::to_owned);
    let common_name = cert.subject().iter_common_name().find_map(text_of);
    let organization = cert.subject().iter_organization().find_map(text_of);
    let dns_names = cert
        .extensions()
        .iter()
        .filter_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => Some(&san.general_names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
            _ => None,
        })
        .collect();
    let key_size = crate::keys::PublicKeyInfo::from_spki(cert.public_key()).map_or(0, |k| k.key_size());
    let to_time = |t: x509_parser::time::ASN1Time| t.to_datetime();
    Ok(ParsedCertificate {
        common_name,
        dns_names,
        organization,
        serial_number: encoding::hex_upper(cert.raw_serial()),
        thumbprint: encoding::sha1_thumbprint(&der),
        not_before: to_time(cert.validity().not_before),
        not_after: to_time(cert.validity().not_after),
        key_size,
        der: der.clone(),
    })
}

/// Checks that `private_key_pem` (PKCS#8 PEM) is the private key of the certificate `der`.
pub fn check_private_key(private_key_pem: &str, der: &[u8]) -> Result<(), ImportError> {
    if private_key_pem.len() > MAX_INPUT {
        return Err(ImportError::Unparseable);
    }
    let key = KeyPair::from_pem(private_key_pem).map_err(|_| ImportError::Unparseable)?;
    let cert = match X509Certificate::from_der(der) {
        Ok(([], cert)) => cert,
        _ => return Err(ImportError::Unparseable),
    };
    let cert_key: &[u8] = &cert.public_key().subject_public_key.data;
    if key.der_bytes() != cert_key {
        return Err(ImportError::KeyMismatch);
    }
    Ok(())
}
