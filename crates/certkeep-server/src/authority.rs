//! The CA as the front doors use it: signing for the lifecycle, the chain for downloads.

use std::sync::Mutex;

use certkeep_ca::{
    CertificateAuthority, EvRegistration, LeafRequest, RootUrls, SubjectOrganization, Validation,
};
use certkeep_core::{
    IssuedFacts, Organization, ValidationType,
    credentials::hex_upper,
    lifecycle::{IssueSpec, Issuer},
};

/// Where relying parties fetch revocation data and the issuer certificate; placed in every
/// certificate issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiUrls {
    /// The CRL (`.../pki/crl`).
    pub crl: String,
    /// The OCSP responder (`.../pki/ocsp`).
    pub ocsp: String,
    /// The issuing CA certificate (`.../pki/intermediate.crt`).
    pub ca_issuers: String,
    /// The root's CRL and certificate, which the intermediate names.
    pub root: RootUrls,
}

impl PkiUrls {
    /// The URLs under a public base URL such as `https://ca.example.com`.
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            crl: format!("{base}{}", crate::pki::CRL_PATH),
            ocsp: format!("{base}{}", crate::pki::OCSP_PATH),
            ca_issuers: format!("{base}{}", crate::pki::INTERMEDIATE_PATH),
            root: RootUrls {
                crl: format!("{base}{}", crate::pki::ROOT_CRL_PATH),
                certificate: format!("{base}{}", crate::pki::ROOT_PATH),
            },
        }
    }

    /// What the intermediate names.
    pub fn root(&self) -> &RootUrls {
        &self.root
    }
}

/// The issuing CA, how order views name it, and where its revocation data lives.
pub struct Authority {
    ca: CertificateAuthority,
    id: String,
    urls: PkiUrls,
}

impl Authority {
    /// Wraps a loaded CA whose revocation data is served under `urls`.
    pub fn new(ca: CertificateAuthority, urls: PkiUrls) -> Self {
        let digest = certkeep_core::credentials::sha1(ca.intermediate_der());
        Self { id: hex_upper(&digest[..8]), ca, urls }
    }

    /// Where revocation data is served.
    pub fn urls(&self) -> &PkiUrls {
        &self.urls
    }

    /// Identifier of the issuing CA certificate (CertCentral's `ca_cert.id`): the first 16 hex
    /// digits of its SHA-1 thumbprint.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Common name of the issuing CA.
    pub fn name(&self) -> &str {
        self.ca.intermediate_common_name()
    }

    /// The CA itself.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// (common name, PEM) of the intermediate and the root, in chain order.
    pub fn chain(&self) -> [(&str, &str); 2] {
        [
            (self.ca.intermediate_common_name(), self.ca.intermediate_pem()),
            (self.ca.root_common_name(), self.ca.root_pem()),
        ]
    }
}

/// The CA profile of a product's certificates: its validation level when publicly trusted,
/// else the private profile.
pub fn ca_validation(validation: ValidationType, public: bool) -> Validation {
    match (public, validation) {
        (false, _) => Validation::Private,
        (true, ValidationType::Dv) => Validation::Dv,
        (true, ValidationType::Ov) => Validation::Ov,
        (true, ValidationType::Ev) => Validation::Ev,
    }
}

/// An organization as certificate subjects show it, with the registration EV subjects name.
pub fn subject_organization(o: &Organization, units: &[String]) -> SubjectOrganization {
    SubjectOrganization {
        name: o.name.clone(),
        locality: o.city.clone(),
        state: o.state.clone(),
        country: o.country.clone(),
        units: units.to_vec(),
        ev: Some(EvRegistration {
            business_category: o.registration.business_category().to_owned(),
            jurisdiction_country: o.jurisdiction_country().to_owned(),
            registration_number: o.registration.number.clone(),
        }),
    }
}

/// What [`NotingIssuer`] keeps of one signed certificate: the labels it is counted under.
pub(crate) struct Signed {
    /// The product's identifier (`ssl_basic`, `private_ssl_plus`): one of a fixed set.
    pub product: &'static str,
    /// The certified key's type and size (`ecdsa-256`, `rsa-2048`).
    pub key_algorithm: String,
}

/// The authority as one lifecycle call sees it: it notes what it signed, so that the caller
/// counts only the certificates of a transaction that committed. A transaction retried after a
/// conflict signs the same certificate (CSR, names, validity) again, which replaces the note.
pub(crate) struct NotingIssuer<'a> {
    authority: &'a Authority,
    signed: Mutex<Vec<(Vec<u8>, Signed)>>,
}

impl<'a> NotingIssuer<'a> {
    pub(crate) fn new(authority: &'a Authority) -> Self {
        Self { authority, signed: Mutex::new(Vec::new()) }
    }

    /// What was signed, once each.
    pub(crate) fn signed(self) -> Vec<Signed> {
        self.signed.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|(_, s)| s).collect()
    }
}

impl Issuer for NotingIssuer<'_> {
    fn issue(&self, spec: &IssueSpec<'_>) -> Result<IssuedFacts, String> {
        let (facts, signed) = self.authority.sign(spec)?;
        let identity = certkeep_core::credentials::sha1(
            format!(
                "{}\n{}\n{}\n{}",
                spec.csr_pem,
                spec.common_name,
                spec.dns_names.join(","),
                spec.not_after.unix_timestamp()
            )
            .as_bytes(),
        );
        let mut notes = self.signed.lock().unwrap_or_else(|e| e.into_inner());
        notes.retain(|(id, _)| *id != identity);
        notes.push((identity, signed));
        Ok(facts)
    }
}

impl Issuer for Authority {
    fn issue(&self, spec: &IssueSpec<'_>) -> Result<IssuedFacts, String> {
        self.sign(spec).map(|(facts, _)| facts)
    }
}

impl Authority {
    /// Signs the certificate `spec` describes.
    fn sign(&self, spec: &IssueSpec<'_>) -> Result<(IssuedFacts, Signed), String> {
        let public_key = match spec.verified_key {
            Some(spki) => certkeep_ca::PublicKeyInfo::from_verified_spki_der(spki),
            None => certkeep_ca::parse_csr(spec.csr_pem).map(|csr| csr.public_key),
        }
        .map_err(|e| e.to_string())?;
        let validation = ca_validation(spec.validation, spec.public);
        let signed = Signed {
            product: spec.product,
            key_algorithm: format!("{}-{}", public_key.key_type(), public_key.key_size()),
        };
        let organization = spec.organization.map(|o| subject_organization(o, spec.organization_units));
        let cert = self
            .ca
            .issue(&LeafRequest {
                public_key: &public_key,
                common_name: spec.common_name,
                dns_names: spec.dns_names,
                organization: organization.as_ref(),
                validation,
                client_auth: spec.client_auth,
                not_before: spec.not_before,
                not_after: spec.not_after,
                crl_url: Some(&self.urls.crl),
                ocsp_url: Some(&self.urls.ocsp),
                ca_issuers_url: Some(&self.urls.ca_issuers),
            })
            .map_err(|e| e.to_string())?;
        let facts = IssuedFacts {
            serial_number: cert.serial_number,
            thumbprint: cert.thumbprint,
            valid_from: cert.not_before,
            valid_till: cert.not_after,
            date_issued: spec.not_before,
            der: cert.der,
        };
        Ok((facts, signed))
    }
}
