//! `certificateTypes` and `exportCertificate/{certificateNo}/chain`: what NCP tools read
//! next to the certificate lists.

use axum::{Extension, extract::State, http::StatusCode, response::Response};
use certkeep_core::{PRODUCTS, Product, Scope, ValidationType, ncp::NcpCertificateMeta};
use serde::Serialize;

use super::{
    error::{NcpError, Origin, json_response},
    inventory::{addressed, certificate_no},
    params::Path,
    views::paid_type,
};
use crate::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateType {
    name: &'static str,
    pricing_plan: &'static str,
    validation_level: &'static str,
    validity: u32,
    ca: String,
    csr_required: &'static str,
    certificate_type_code: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateTypes {
    return_code: &'static str,
    return_message: &'static str,
    total_count: usize,
    /// NCP spells this field in lower case.
    #[serde(rename = "certificatetype")]
    certificate_type: Vec<CertificateType>,
}

/// `GET /api/v2/certificate/certificateTypes`: the paid types certkeep issues (Advanced DV
/// and OV), each with the longest certificate the rules in force allow.
pub async fn types(State(state): State<AppState>) -> Response {
    let paid: Vec<(&'static str, &Product)> =
        PRODUCTS.iter().filter_map(|p| paid_type(p).map(|t| (t, p))).collect();
    let mut certificate_type: Vec<CertificateType> = Vec::new();
    // The longest certificate issued today: every paid type is publicly trusted.
    let validity = certkeep_core::policy::max_certificate_days(state.clock.now());
    for (code, product) in paid {
        if let Some(existing) = certificate_type.iter_mut().find(|t| t.certificate_type_code == code) {
            existing.validity = existing.validity.max(validity);
            continue;
        }
        let (name, level) = match product.validation {
            ValidationType::Dv => ("Advanced DV", "Domain Validation Certificate"),
            _ => ("Advanced OV", "Organization Validation Certificate"),
        };
        certificate_type.push(CertificateType {
            name,
            pricing_plan: "PAID",
            validation_level: level,
            validity,
            ca: state.authority.name().to_owned(),
            csr_required: "Y",
            certificate_type_code: code,
        });
    }
    let body = CertificateTypes {
        return_code: "0",
        return_message: "Success",
        total_count: certificate_type.len(),
        certificate_type,
    };
    json_response(StatusCode::OK, Origin::Endpoint, &body)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Chain {
    return_code: &'static str,
    return_message: &'static str,
    total_rows: u32,
    subject_common_name: String,
    certificate: String,
    sub_ca_certificate: String,
    root_ca_certificate: String,
}

/// The CA certificates above a certificate, as PEM: certkeep's sub-CA and root, or for an
/// imported certificate the chain it came with (split at the first block: sub-CA, then the rest).
pub fn chain_of(state: &AppState, meta: Option<&NcpCertificateMeta>) -> (String, String) {
    match meta.filter(|m| m.external) {
        Some(m) => {
            let blocks = certkeep_ca::certificate_blocks(m.chain_pem.as_deref().unwrap_or_default())
                .unwrap_or_default();
            let mut pems = blocks.iter().map(|der| certkeep_ca::certificate_pem(der));
            let sub = pems.next().unwrap_or_default();
            (sub, pems.collect())
        }
        None => {
            let [(_, intermediate), (_, root)] = state.authority.chain();
            (intermediate.to_owned(), root.to_owned())
        }
    }
}

/// `GET /api/v2/certificate/exportCertificate/{certificateNo}/chain`: the certificate and its
/// CA chain as PEM. An unknown, foreign, unissued or non-paid certificate is returnCode 2200.
pub async fn chain(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(number): Path<String>,
) -> Result<Response, NcpError> {
    let found = addressed(&state, &scope, certificate_no(&number)?).await?;
    let der = found.issued_der().ok_or_else(NcpError::no_certificate)?;
    let (sub_ca_certificate, root_ca_certificate) = chain_of(&state, found.meta.as_ref());
    let body = Chain {
        return_code: "0",
        return_message: "Success",
        total_rows: 1,
        subject_common_name: found.record.common_name.clone(),
        certificate: certkeep_ca::certificate_pem(der),
        sub_ca_certificate,
        root_ca_certificate,
    };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}
