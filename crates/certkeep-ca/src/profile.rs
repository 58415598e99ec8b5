//! Certificate profiles: what goes into CA and leaf certificates.

use std::collections::HashSet;
use std::net::IpAddr;

use rcgen::string::{Ia5String, PrintableString};
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType,
    DnValue, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Month, OffsetDateTime, UtcOffset};
use yasna::Tag;
use yasna::models::ObjectIdentifier;

use crate::error::CaError;
use crate::keys::{KeyType, PublicKeyInfo};

/// businessCategory (X.520).
const BUSINESS_CATEGORY_OID: &[u64] = &[2, 5, 4, 15];
/// serialNumber (X.520): the registration number in EV subjects.
const SERIAL_NUMBER_OID: &[u64] = &[2, 5, 4, 5];
/// jurisdictionCountryName (EV Guidelines 7.1.4.2.4).
const JURISDICTION_COUNTRY_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3];
/// id-ce-basicConstraints.
const BASIC_CONSTRAINTS_OID: &[u64] = &[2, 5, 29, 19];
/// id-ce-certificatePolicies.
const CERTIFICATE_POLICIES_OID: &[u64] = &[2, 5, 29, 32];
/// id-pe-authorityInfoAccess.
const AUTHORITY_INFO_ACCESS_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-ocsp: access method of an OCSP responder.
const ACCESS_METHOD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
/// id-ad-caIssuers: access method of the issuer's certificate.
const ACCESS_METHOD_CA_ISSUERS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 2];
/// Context tag of the uniformResourceIdentifier choice of GeneralName.
const GENERAL_NAME_URI_TAG: u64 = 6;
/// anyPolicy (RFC 5280 4.2.1.4).
const ANY_POLICY: &[u64] = &[2, 5, 29, 32, 0];
/// CA/Browser Forum domain-validated policy.
const POLICY_DV: &[u64] = &[2, 23, 140, 1, 2, 1];
/// CA/Browser Forum organization-validated policy.
const POLICY_OV: &[u64] = &[2, 23, 140, 1, 2, 2];
/// CA/Browser Forum extended-validation policy.
const POLICY_EV: &[u64] = &[2, 23, 140, 1, 1];
/// Length of generated serial numbers in bytes.
const SERIAL_LEN: usize = 16;

/// Validation level of a leaf certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validation {
    /// Domain validated: subject holds only the common name.
    Dv,
    /// Organization validated: subject also holds the organization.
    Ov,
    /// Extended validation: like OV, with the EV policy OID.
    Ev,
    /// A private (not publicly trusted) certificate: the organization in the subject when
    /// there is one, organizational units allowed, no CA/Browser Forum policy.
    Private,
}

impl Validation {
    /// The CA/Browser Forum certificate policy OID for this level (none for private ones).
    pub(crate) fn policy_oid(self) -> Option<&'static [u64]> {
        match self {
            Self::Dv => Some(POLICY_DV),
            Self::Ov => Some(POLICY_OV),
            Self::Ev => Some(POLICY_EV),
            Self::Private => None,
        }
    }
}

/// Organization fields placed in the subject of OV/EV certificates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubjectOrganization {
    /// Organization name (O); required.
    pub name: String,
    /// Locality (L); omitted when empty.
    pub locality: String,
    /// State or province (ST); omitted when empty.
    pub state: String,
    /// Two-letter country code (C); upper-cased in the certificate, omitted when empty.
    pub country: String,
    /// Organizational units, for [`Validation::Private`] only (public TLS subjects carry no OU
    /// since ballot SC47). The subject holds at most one OU attribute: the first non-empty unit.
    pub units: Vec<String>,
    /// The registration EV subjects name; required for [`Validation::Ev`].
    pub ev: Option<EvRegistration>,
}

/// What the EV Guidelines (7.1.4.2.3-7.1.4.2.5) add to an EV subject.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvRegistration {
    /// businessCategory, e.g. `Private Organization`.
    pub business_category: String,
    /// jurisdictionCountryName, two letters.
    pub jurisdiction_country: String,
    /// serialNumber: the registration number.
    pub registration_number: String,
}

/// Everything needed to issue one leaf certificate.
#[derive(Debug, Clone, Copy)]
pub struct LeafRequest<'a> {
    /// The subject public key (usually from [`crate::parse_csr`]).
    pub public_key: &'a PublicKeyInfo,
    /// Subject common name; also the first subjectAltName.
    pub common_name: &'a str,
    /// Additional subjectAltNames; IP address strings become IP SANs.
    pub dns_names: &'a [String],
    /// Organization for OV/EV subjects (required for those, ignored for DV).
    pub organization: Option<&'a SubjectOrganization>,
    /// Validation level, selecting the subject shape and policy OID.
    pub validation: Validation,
    /// Also assert id-kp-clientAuth (the EKU always holds id-kp-serverAuth).
    pub client_auth: bool,
    /// Start of validity (truncated to whole seconds, UTC).
    pub not_before: OffsetDateTime,
    /// End of validity (truncated to whole seconds, UTC); must be after `not_before`.
    pub not_after: OffsetDateTime,
    /// URL of the issuing CA's CRL, placed in the CRL Distribution Points extension.
    pub crl_url: Option<&'a str>,
    /// URL of the OCSP responder, placed in Authority Information Access (id-ad-ocsp).
    pub ocsp_url: Option<&'a str>,
    /// URL of the issuing CA's certificate, placed in Authority Information Access
    /// (id-ad-caIssuers).
    pub ca_issuers_url: Option<&'a str>,
}

/// Converts to UTC whole seconds within the range X.509 time types can encode.
pub(crate) fn certificate_time(value: OffsetDateTime) -> Result<OffsetDateTime, CaError> {
    let utc = value.checked_to_offset(UtcOffset::UTC).ok_or_else(|| CaError::invalid("date out of range"))?;
    if !(0..=9999).contains(&utc.year()) {
        return Err(CaError::invalid(format!("year {} cannot be encoded in a certificate", utc.year())));
    }
    utc.replace_nanosecond(0).map_err(CaError::invalid)
}

/// `value` plus a number of calendar years (29 February maps to 28 February).
pub(crate) fn add_years(value: OffsetDateTime, years: i32) -> Result<OffsetDateTime, CaError> {
    let value = if value.month() == Month::February && value.day() == 29 {
        value.replace_day(28).map_err(CaError::invalid)?
    } else {
        value
    };
    let year = value.year().checked_add(years).ok_or_else(|| CaError::invalid("date out of range"))?;
    certificate_time(value.replace_year(year).map_err(CaError::invalid)?)
}

/// A fresh random 16-byte positive serial number with a non-zero first byte.
pub(crate) fn random_serial() -> Result<[u8; SERIAL_LEN], CaError> {
    let mut serial = [0u8; SERIAL_LEN];
    loop {
        aws_lc_rs::rand::fill(&mut serial).map_err(|_| CaError::crypto("random generator"))?;
        serial[0] &= 0x7f;
        if serial[0] != 0 {
            return Ok(serial);
        }
    }
}

/// Where relying parties fetch what the root publishes (its CRL and its certificate); the
/// intermediate names them (BR 7.1.2.10.3 and 7.1.2.11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootUrls {
    /// The root's CRL, `http://` (`.../pki/root.crl`).
    pub crl: String,
    /// The root certificate, `http://` (`.../pki/root.crt`).
    pub certificate: String,
}

/// A CA subject in the order BR 7.1.4.2 encodes it: C, O, CN.
pub(crate) fn ca_subject(
    country: &str,
    organization: &str,
    common_name: &str,
) -> Result<DistinguishedName, CaError> {
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CountryName, country_code(country)?);
    subject.push(DnType::OrganizationName, organization);
    subject.push(DnType::CommonName, common_name);
    Ok(subject)
}

/// Parameters of the self-signed root: keyCertSign and cRLSign, no EKU, no policies (BR
/// 7.1.2.1), its own key identifier as the authority key identifier.
pub(crate) fn root_params(
    subject: DistinguishedName,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Parameters of the issuing CA of a dedicated TLS hierarchy (BR 7.1.2.10): pathLen 0,
/// digitalSignature (OCSP) with keyCertSign and cRLSign, id-kp-serverAuth only, anyPolicy,
/// and, once known, the root's CRL and certificate URLs.
pub(crate) fn intermediate_params(
    subject: DistinguishedName,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    root_urls: Option<&RootUrls>,
) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    // The intermediate and the root are the same operator's (affiliated): anyPolicy (BR
    // 7.1.2.10.5), which covers the DV, OV and EV policies its leaves assert.
    params.custom_extensions = vec![certificate_policies(&[ANY_POLICY])];
    if let Some(urls) = root_urls {
        params.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![checked_url(&urls.crl)?] }];
        let issuer = [(ACCESS_METHOD_CA_ISSUERS, checked_url(&urls.certificate)?)];
        params.custom_extensions.push(authority_info_access(&issuer));
    }
    Ok(params)
}

/// Parameters of a leaf certificate, with times already normalized by [`certificate_time`].
pub(crate) fn leaf_params(
    req: &LeafRequest<'_>,
    serial: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, CaError> {
    if req.common_name.trim().is_empty() {
        return Err(CaError::invalid("the common name is empty"));
    }
    if not_after <= not_before {
        return Err(CaError::invalid("not_after must be later than not_before"));
    }

    let mut params = CertificateParams::default();
    params.distinguished_name = leaf_subject(req)?;
    params.subject_alt_names = subject_alt_names(req.common_name, req.dns_names)?;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.not_before = not_before;
    params.not_after = not_after;
    // basicConstraints CA:FALSE (critical). Public leaves go without the subject key identifier
    // that rcgen's ExplicitNoCa adds (BR 7.1.2.7.6 does not recommend it); private ones keep it,
    // as RFC 5280 4.2.1.2 asks.
    let public = req.validation.policy_oid().is_some();
    params.is_ca = if public { IsCa::NoCa } else { IsCa::ExplicitNoCa };
    params.key_usages = match req.public_key.key_type() {
        KeyType::Rsa => vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment],
        KeyType::Ec | KeyType::Ed25519 => vec![KeyUsagePurpose::DigitalSignature],
    };
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if req.client_auth {
        params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    params.use_authority_key_identifier_extension = true;
    params.custom_extensions =
        req.validation.policy_oid().map(|oid| certificate_policies(&[oid])).into_iter().collect();
    if public {
        params.custom_extensions.push(end_entity_basic_constraints());
    }
    if let Some(url) = req.crl_url {
        params.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![checked_url(url)?] }];
    }
    let access = [(ACCESS_METHOD_OCSP, req.ocsp_url), (ACCESS_METHOD_CA_ISSUERS, req.ca_issuers_url)];
    let mut descriptions = Vec::new();
    for (method, url) in access {
        if let Some(url) = url {
            descriptions.push((method, checked_url(url)?));
        }
    }
    if !descriptions.is_empty() {
        params.custom_extensions.push(authority_info_access(&descriptions));
    }
    Ok(params)
}

/// Accepts absolute `http://` or `https://` URLs made of printable ASCII (an IA5String).
fn checked_url(url: &str) -> Result<String, CaError> {
    let lower = url.to_ascii_lowercase();
    let has_host = ["http://", "https://"]
        .iter()
        .any(|scheme| lower.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty()));
    if !has_host || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CaError::invalid(format!("{url:?} is not an http(s) URL in printable ASCII")));
    }
    Ok(url.to_owned())
}

/// Subject DN: C, ST, L, O, CN for OV/EV; CN only for DV; C, ST, L, O, OU, CN for private
/// certificates with an organization.
fn leaf_subject(req: &LeafRequest<'_>) -> Result<DistinguishedName, CaError> {
    let mut subject = DistinguishedName::new();
    let org = match (req.validation, req.organization) {
        (Validation::Dv, _) | (Validation::Private, None) => None,
        (_, org) => Some(org.ok_or_else(|| CaError::invalid("OV and EV certificates need an organization"))?),
    };
    if let Some(org) = org {
        if org.name.trim().is_empty() {
            return Err(CaError::invalid("the organization name is empty"));
        }
        if !org.country.is_empty() {
            subject.push(DnType::CountryName, country_code(&org.country)?);
        }
        push_non_empty(&mut subject, DnType::StateOrProvinceName, &org.state);
        push_non_empty(&mut subject, DnType::LocalityName, &org.locality);
        subject.push(DnType::OrganizationName, org.name.as_str());
        if req.validation == Validation::Ev {
            let ev =
                org.ev.as_ref().filter(|ev| !ev.registration_number.trim().is_empty()).ok_or_else(|| {
                    CaError::invalid("EV certificates need the organization's registration number")
                })?;
            let custom = |oid: &[u64]| DnType::CustomDnType(oid.to_vec());
            subject.push(custom(BUSINESS_CATEGORY_OID), ev.business_category.as_str());
            subject.push(custom(JURISDICTION_COUNTRY_OID), country_code(&ev.jurisdiction_country)?);
            let number = PrintableString::try_from(ev.registration_number.trim()).map_err(|_| {
                CaError::invalid(format!("registration number {:?} is not printable", ev.registration_number))
            })?;
            subject.push(custom(SERIAL_NUMBER_OID), DnValue::PrintableString(number));
        }
        let unit = org.units.iter().find(|u| !u.trim().is_empty());
        if let Some(unit) = unit.filter(|_| req.validation == Validation::Private) {
            subject.push(DnType::OrganizationalUnitName, unit.as_str());
        }
    }
    subject.push(DnType::CommonName, req.common_name);
    Ok(subject)
}

/// A two-letter country code as a PrintableString, upper-cased.
fn country_code(code: &str) -> Result<DnValue, CaError> {
    let country = code.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(CaError::invalid(format!("country {code:?} is not a two-letter code")));
    }
    Ok(DnValue::PrintableString(PrintableString::try_from(country).map_err(CaError::invalid)?))
}

fn push_non_empty(subject: &mut DistinguishedName, ty: DnType, value: &str) {
    if !value.trim().is_empty() {
        subject.push(ty, value);
    }
}

/// SANs: the common name first, then the DNS names, deduplicated case-insensitively.
fn subject_alt_names(common_name: &str, dns_names: &[String]) -> Result<Vec<SanType>, CaError> {
    let mut seen = HashSet::new();
    let mut sans = Vec::new();
    for name in std::iter::once(common_name).chain(dns_names.iter().map(String::as_str)) {
        let name = name.trim();
        if name.is_empty() {
            return Err(CaError::invalid("empty DNS name"));
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            continue;
        }
        sans.push(match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => {
                SanType::DnsName(Ia5String::try_from(name).map_err(|_| {
                    CaError::invalid(format!("DNS name {name:?} is not ASCII (use punycode)"))
                })?)
            }
        });
    }
    Ok(sans)
}

/// basicConstraints of an end entity: critical, cA FALSE (the default, so an empty sequence).
fn end_entity_basic_constraints() -> CustomExtension {
    let mut extension = CustomExtension::from_oid_content(BASIC_CONSTRAINTS_OID, vec![0x30, 0x00]);
    extension.set_criticality(true);
    extension
}

/// certificatePolicies with these policy OIDs and no qualifiers.
fn certificate_policies(policies: &[&[u64]]) -> CustomExtension {
    let content = yasna::construct_der(|writer| {
        writer.write_sequence(|writer| {
            for policy in policies {
                writer.next().write_sequence(|writer| {
                    writer.next().write_oid(&ObjectIdentifier::from_slice(policy));
                });
            }
        });
    });
    CustomExtension::from_oid_content(CERTIFICATE_POLICIES_OID, content)
}

/// authorityInfoAccess with one URI access description per `(access method, URL)` pair.
fn authority_info_access(descriptions: &[(&[u64], String)]) -> CustomExtension {
    let content = yasna::construct_der(|writer| {
        writer.write_sequence_of(|writer| {
            for (method, url) in descriptions {
                writer.next().write_sequence(|writer| {
                    writer.next().write_oid(&ObjectIdentifier::from_slice(method));
                    writer.next().write_tagged_implicit(Tag::context(GENERAL_NAME_URI_TAG), |w| {
                        w.write_ia5_string(url)
                    });
                });
            }
        });
    });
    CustomExtension::from_oid_content(AUTHORITY_INFO_ACCESS_OID, content)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn serials_are_positive_sixteen_bytes_and_distinct() {
        let serials: HashSet<_> = (0..200).map(|_| random_serial().expect("rng")).collect();
        assert_eq!(serials.len(), 200);
        for serial in serials {
            assert!(serial[0] != 0 && serial[0] & 0x80 == 0);
        }
    }

    #[test]
    fn add_years_handles_leap_days() {
        assert_eq!(
            add_years(datetime!(2024-02-29 12:00 UTC), 20).expect("add"),
            datetime!(2044-02-28 12:00 UTC)
        );
        assert_eq!(
            add_years(datetime!(2025-06-01 00:00:00.5 +02:00), 10).expect("add"),
            datetime!(2035-05-31 22:00 UTC)
        );
        assert!(add_years(datetime!(9990-01-01 0:00 UTC), 20).is_err());
    }

    #[test]
    fn certificate_time_rejects_unencodable_years() {
        assert!(certificate_time(datetime!(-0001-01-01 0:00 UTC)).is_err());
        assert!(certificate_time(datetime!(2030-01-01 0:00 UTC)).is_ok());
    }

    #[test]
    fn sans_are_deduplicated_case_insensitively() {
        let names = vec![
            "WWW.example.com".to_string(),
            "example.com".to_string(),
            "www.example.com".to_string(),
            "192.0.2.1".to_string(),
        ];
        let sans = subject_alt_names("Example.com", &names).expect("sans");
        assert_eq!(
            sans,
            vec![
                SanType::DnsName(Ia5String::try_from("Example.com").expect("ia5")),
                SanType::DnsName(Ia5String::try_from("WWW.example.com").expect("ia5")),
                SanType::IpAddress("192.0.2.1".parse().expect("ip")),
            ]
        );
        assert!(subject_alt_names("a.example", &["".to_string()]).is_err());
    }
}
