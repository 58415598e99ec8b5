//! CSR checks for orders, duplicates and reissues, with CertCentral's error codes.

use std::collections::HashSet;

use certkeep_ca::CsrError;
use certkeep_core::{lifecycle::VerifiedCsr, names};

use crate::digicert::ApiError;

/// A refused CSR: CertCentral's error code and a message.
#[derive(Debug)]
pub struct CsrRefusal {
    /// The error code (`csr_invalid_signature`...).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Checks the requested names, then parses and verifies the CSR and checks that the names it
/// asks for (if any) are among them: names come from the request, never from the CSR, but a
/// CSR naming something else is a mistake worth refusing. A `public` product also refuses the
/// keys publicly trusted TLS cannot hold. Returns it normalised, with its key.
pub fn verify(
    csr: &str,
    common_name: &str,
    dns_names: &[String],
    public: bool,
) -> Result<VerifiedCsr, CsrRefusal> {
    let allowed = requested_names(common_name, dns_names)?;
    let parsed = certkeep_ca::parse_csr(csr)
        .and_then(|c| if public { c.public_key.check_public_tls().map(|()| c) } else { Ok(c) })
        .map_err(|e| {
            let code = match e {
                CsrError::Unparseable => "csr_invalid_cannot_parse",
                CsrError::BadSignature => "csr_invalid_signature",
                CsrError::UnsupportedKey(_) => "csr_invalid_key_type",
                CsrError::WeakKey(_) => "csr_invalid_key_size",
            };
            CsrRefusal { code, message: format!("The CSR is not valid: {e}.") }
        })?;
    let requested = parsed.common_name.iter().chain(&parsed.dns_names);
    for name in requested {
        let name = names::normalize(name).unwrap_or_else(|_| name.to_lowercase());
        if !allowed.contains(&name) {
            return Err(CsrRefusal {
                code: "csr_names_mismatch",
                message: format!("The CSR names {name}, which is not among the names requested."),
            });
        }
    }
    Ok(VerifiedCsr {
        key_size: parsed.public_key.key_size(),
        spki_der: Some(parsed.public_key.spki_der().to_vec()),
        pem: parsed.pem,
    })
}

/// The requested names, normalised.
fn requested_names(common_name: &str, dns_names: &[String]) -> Result<HashSet<String>, CsrRefusal> {
    let invalid = |code: &'static str, name: &str| CsrRefusal {
        code,
        message: format!("{name:?} is not a valid DNS name."),
    };
    let mut allowed = HashSet::from([
        names::normalize(common_name).map_err(|_| invalid("invalid_common_name", common_name))?
    ]);
    for name in dns_names {
        allowed.insert(names::normalize(name).map_err(|_| invalid("invalid_dns_names", name))?);
    }
    Ok(allowed)
}

/// [`verify`] for the Services API, which also requires the CSR (names are checked first).
pub fn check(
    csr: Option<&str>,
    common_name: &str,
    dns_names: &[String],
    public: bool,
) -> Result<VerifiedCsr, ApiError> {
    let refusal = |r: CsrRefusal| ApiError::bad_request(r.code, r.message);
    let Some(csr) = csr.filter(|c| !c.trim().is_empty()) else {
        requested_names(common_name, dns_names).map_err(refusal)?;
        return Err(ApiError::missing("certificate.csr"));
    };
    verify(csr, common_name, dns_names, public).map_err(refusal)
}
