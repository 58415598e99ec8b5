//! Revocation data shared by CRLs and OCSP: reasons, revoked entries, certificate status.

use std::fmt;
use std::str::FromStr;

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use time::OffsetDateTime;

use crate::error::CaError;
use crate::profile;

/// Longest serial number allowed by RFC 5280, in bytes.
const MAX_SERIAL_LEN: usize = 20;

/// Why a certificate was revoked (the RFC 5280 CRLReason values a subscriber or CA may use).
///
/// Parsed from snake_case (`key_compromise`) or camelCase (`keyCompromise`) names; displayed
/// as snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// No reason given (`unspecified`).
    Unspecified,
    /// The subject's private key is compromised (`key_compromise`).
    KeyCompromise,
    /// The subject's name or other information changed (`affiliation_changed`, also
    /// accepted as `affiliation_change`).
    AffiliationChanged,
    /// The certificate was replaced (`superseded`).
    Superseded,
    /// The certificate is no longer needed (`cessation_of_operation`).
    CessationOfOperation,
    /// The certificate is temporarily on hold (`certificate_hold`).
    CertificateHold,
    /// A privilege in the certificate was withdrawn (`privilege_withdrawn`).
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// All reasons, in CRLReason code order.
    pub const ALL: [RevocationReason; 7] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::PrivilegeWithdrawn,
    ];

    /// The snake_case name, e.g. `key_compromise`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key_compromise",
            Self::AffiliationChanged => "affiliation_changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::CertificateHold => "certificate_hold",
            Self::PrivilegeWithdrawn => "privilege_withdrawn",
        }
    }

    /// The CRLReason code of RFC 5280 section 5.3.1.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::PrivilegeWithdrawn => 9,
        }
    }

    /// The same reason in rcgen's terms.
    fn to_rcgen(self) -> rcgen::RevocationReason {
        match self {
            Self::Unspecified => rcgen::RevocationReason::Unspecified,
            Self::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            Self::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
            Self::Superseded => rcgen::RevocationReason::Superseded,
            Self::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
            Self::CertificateHold => rcgen::RevocationReason::CertificateHold,
            Self::PrivilegeWithdrawn => rcgen::RevocationReason::PrivilegeWithdrawn,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing an unknown [`RevocationReason`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRevocationReason(pub String);

impl fmt::Display for UnknownRevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown revocation reason {:?}", self.0)
    }
}

impl std::error::Error for UnknownRevocationReason {}

impl FromStr for RevocationReason {
    type Err = UnknownRevocationReason;

    /// Parses snake_case or camelCase names (`key_compromise`, `keyCompromise`), ignoring
    /// ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded: String = s.trim().chars().filter(|&c| c != '_').map(|c| c.to_ascii_lowercase()).collect();
        if folded == "affiliationchange" {
            return Ok(Self::AffiliationChanged);
        }
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str().replace('_', "") == folded)
            .ok_or_else(|| UnknownRevocationReason(s.to_owned()))
    }
}

/// One revoked certificate as listed in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial number as hex without separators, as in
    /// [`IssuedCertificate::serial_number`](crate::IssuedCertificate::serial_number).
    pub serial_number: String,
    /// When the CA revoked the certificate.
    pub revoked_at: OffsetDateTime,
    /// Why it was revoked.
    pub reason: RevocationReason,
}

/// Status of one certificate as reported by the OCSP responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    /// Issued by this CA and not revoked.
    Good,
    /// Revoked by this CA.
    Revoked {
        /// When the CA revoked the certificate.
        at: OffsetDateTime,
        /// Why it was revoked.
        reason: RevocationReason,
    },
    /// Not known to this CA.
    Unknown,
}

/// Decodes a serial number given as hex (either case, even length, at most 20 bytes).
pub(crate) fn parse_serial_hex(hex: &str) -> Result<Vec<u8>, CaError> {
    let invalid = || CaError::invalid(format!("serial number {hex:?} is not hex of 1 to 20 bytes"));
    let pairs = hex.as_bytes().chunks_exact(2);
    if hex.is_empty() || hex.len() > 2 * MAX_SERIAL_LEN || !pairs.remainder().is_empty() {
        return Err(invalid());
    }
    pairs
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect::<Option<_>>()
        .ok_or_else(invalid)
}

/// Value of one ASCII hex digit.
fn hex_digit(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
}

/// Parameters of a CRL listing `revoked`, identifying the issuer key with `key_id`.
pub(crate) fn crl_params(
    revoked: &[RevokedEntry],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
    key_id: KeyIdMethod,
) -> Result<CertificateRevocationListParams, CaError> {
    let this_update = profile::certificate_time(this_update)?;
    let next_update = profile::certificate_time(next_update)?;
    if next_update <= this_update {
        return Err(CaError::invalid("next_update must be later than this_update"));
    }
    let revoked_certs = revoked
        .iter()
        .map(|entry| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&parse_serial_hex(&entry.serial_number)?),
                revocation_time: profile::certificate_time(entry.revoked_at)?,
                reason_code: Some(entry.reason.to_rcgen()),
                invalidity_date: None,
            })
        })
        .collect::<Result<_, CaError>>()?;
    Ok(CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(crl_number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_parse_from_snake_and_camel_case() {
        let cases = [
            ("unspecified", RevocationReason::Unspecified),
            ("key_compromise", RevocationReason::KeyCompromise),
            ("keyCompromise", RevocationReason::KeyCompromise),
            ("affiliation_change", RevocationReason::AffiliationChanged),
            ("affiliation_changed", RevocationReason::AffiliationChanged),
            ("affiliationChanged", RevocationReason::AffiliationChanged),
            ("affiliationChange", RevocationReason::AffiliationChanged),
            ("superseded", RevocationReason::Superseded),
            ("cessation_of_operation", RevocationReason::CessationOfOperation),
            ("cessationOfOperation", RevocationReason::CessationOfOperation),
            ("certificate_hold", RevocationReason::CertificateHold),
            ("certificateHold", RevocationReason::CertificateHold),
            ("privilege_withdrawn", RevocationReason::PrivilegeWithdrawn),
            ("privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn),
            (" Key_Compromise ", RevocationReason::KeyCompromise),
        ];
        for (name, reason) in cases {
            assert_eq!(name.parse::<RevocationReason>(), Ok(reason), "{name}");
        }
        for bad in ["", "key compromise", "keycompromised", "ca_compromise", "remove_from_crl", "1"] {
            assert_eq!(bad.parse::<RevocationReason>(), Err(UnknownRevocationReason(bad.to_owned())));
        }
    }

    #[test]
    fn reason_names_round_trip_and_codes_match_rfc_5280() {
        let codes: Vec<u8> = RevocationReason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes, vec![0, 1, 3, 4, 5, 6, 9]);
        for reason in RevocationReason::ALL {
            assert_eq!(reason.as_str().parse(), Ok(reason));
            assert_eq!(reason.to_string(), reason.as_str());
            assert_eq!(reason.to_rcgen() as u8, reason.code());
        }
        assert_eq!(RevocationReason::AffiliationChanged.as_str(), "affiliation_changed");
    }

    #[test]
    fn serial_hex_parsing() {
        assert_eq!(parse_serial_hex("0aFF").expect("hex"), vec![0x0a, 0xff]);
        assert_eq!(parse_serial_hex(&"7F".repeat(20)).expect("hex").len(), 20);
        for bad in ["", "A", "ABC", "GG", "+1", "0x12", "éé", &"11".repeat(21)] {
            assert!(matches!(parse_serial_hex(bad), Err(CaError::InvalidRequest(_))), "{bad:?}");
        }
    }
}
