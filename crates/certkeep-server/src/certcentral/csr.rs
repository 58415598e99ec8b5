//! CSR checks for orders, duplicates and reissues, with CertCentral's error codes.

use certkeep_ca::CsrError;
use certkeep_core::names;

use crate::digicert::ApiError;

/// Checks the requested names, then parses and verifies the CSR and checks that the names it
/// asks for (if any) are among them: the Services API takes names from the body, never from
/// the CSR, but a CSR naming something else is a mistake worth refusing.
/// Returns (normalised PEM, key size).
pub fn check(csr: Option<&str>, common_name: &str, dns_names: &[String]) -> Result<(String, u32), ApiError> {
    let invalid =
        |code: &str, name: &str| ApiError::bad_request(code, format!("{name:?} is not a valid DNS name."));
    let mut allowed =
        vec![names::normalize(common_name).map_err(|_| invalid("invalid_common_name", common_name))?];
    for name in dns_names {
        allowed.push(names::normalize(name).map_err(|_| invalid("invalid_dns_names", name))?);
    }
    let csr = csr.filter(|c| !c.trim().is_empty()).ok_or_else(|| ApiError::missing("certificate.csr"))?;
    let parsed = certkeep_ca::parse_csr(csr).map_err(|e| {
        let code = match e {
            CsrError::Unparseable => "csr_invalid_cannot_parse",
            CsrError::BadSignature => "csr_invalid_signature",
            CsrError::UnsupportedKey(_) => "csr_invalid_key_type",
            CsrError::WeakKey(_) => "csr_invalid_key_size",
        };
        ApiError::bad_request(code, format!("The CSR is not valid: {e}."))
    })?;
    let requested = parsed.common_name.iter().chain(&parsed.dns_names);
    for name in requested {
        let name = names::normalize(name).unwrap_or_else(|_| name.to_lowercase());
        if !allowed.contains(&name) {
            return Err(ApiError::bad_request(
                "csr_names_mismatch",
                format!("The CSR names {name}, which is not among the names requested."),
            ));
        }
    }
    Ok((parsed.pem, parsed.public_key.key_size()))
}
