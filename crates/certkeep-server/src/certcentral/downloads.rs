//! Certificate downloads in CertCentral's formats (glossary "Certificate formats"), certificate
//! details and chains.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    CertificateRecord, CertificateStatus, Id, OrderRef, Principal, lifecycle::CertificateRef,
};
use serde::Serialize;

use super::views::{CertificateCore, PathRef};
use crate::{
    AppState,
    digicert::{ApiError, Path, json_response},
};

/// PEM of a DER certificate.
pub fn pem(der: &[u8]) -> String {
    certkeep_ca::certificate_pem(der)
}

/// Which certificates a format holds and how it packs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    /// One PEM text.
    Pem,
    /// A PKCS#7 bundle.
    Pkcs7,
    /// A ZIP of one file per certificate, with this extension.
    Zip(&'static str),
}

/// (leaf, intermediate, root) included, and the packing.
fn format(name: &str) -> Option<((bool, bool, bool), Packing)> {
    Some(match name {
        "pem_all" | "pem" => ((true, true, true), Packing::Pem),
        "pem_noroot" => ((true, true, false), Packing::Pem),
        "pem_nointermediate" | "crt" => ((true, false, false), Packing::Pem),
        "p7b" | "cer" => ((true, true, true), Packing::Pkcs7),
        "default" | "default_pem" => ((true, true, true), Packing::Zip("crt")),
        "default_cer" => ((true, true, true), Packing::Zip("cer")),
        "apache" => ((true, true, false), Packing::Zip("crt")),
        _ => return None,
    })
}

/// The format a server platform downloads in: nginx wants leaf and chain in one file, Apache
/// separate files, platform 29 is `pem_all` (as Lemur uses it), anything else the default ZIP.
fn platform_format(platform: i64) -> &'static str {
    match platform {
        45 => "pem_noroot",
        2 => "apache",
        29 => "pem_all",
        _ => "default",
    }
}

fn wants_zip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("application/zip")))
}

/// `www.example.com` -> `www_example_com`, `*.example.com` -> `star_example_com`; anything
/// but ASCII letters and digits becomes `_`, so the name is safe in a ZIP entry and in
/// `Content-Disposition`; no common name gives `certificate`, not a hidden `.pem` (both found
/// by the `download` fuzz target).
fn file_stem(common_name: &str) -> String {
    if common_name.is_empty() {
        return "certificate".into();
    }
    let stem: String = common_name
        .replace('*', "star")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // A leaf named like a chain file would collide with it inside a ZIP (fuzz target again).
    if ["IntermediateCA", "TrustedRoot"].contains(&stem.as_str()) { format!("{stem}_leaf") } else { stem }
}

fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, ApiError> {
    crate::wire::zip_files(files)
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "zip_failed", e.to_string()))
}

fn respond(download: Download) -> Response {
    let mut response = (StatusCode::OK, download.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(download.content_type));
    if let Ok(name) = HeaderValue::from_str(&format!("attachment; filename={}", download.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, name);
    }
    response
}

/// A packed download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Its media type.
    pub content_type: &'static str,
    /// The bytes.
    pub body: Vec<u8>,
    /// The suggested file name.
    pub file_name: String,
}

/// The CA certificates a download may include, each as (DER, PEM).
#[derive(Debug, Clone, Copy)]
pub struct CaChain<'a> {
    /// The issuing intermediate.
    pub intermediate: (&'a [u8], &'a str),
    /// The root.
    pub root: (&'a [u8], &'a str),
}

/// Packs the leaf `der` of a certificate for `common_name` and the CA `chain` in
/// `format_name`; `zip_wanted` (the client accepts `application/zip`) zips the PEM formats.
pub fn package(
    format_name: &str,
    common_name: &str,
    der: &[u8],
    chain: CaChain<'_>,
    zip_wanted: bool,
) -> Result<Download, ApiError> {
    let ((leaf, intermediate, root), packing) = format(format_name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found|format",
            format!("No certificate format {format_name:?}."),
        )
    })?;
    let stem = file_stem(common_name);
    let mut parts: Vec<(String, String, &[u8])> = Vec::new();
    if leaf {
        parts.push((stem.clone(), pem(der), der));
    }
    if intermediate {
        parts.push(("IntermediateCA".into(), chain.intermediate.1.into(), chain.intermediate.0));
    }
    if root {
        parts.push(("TrustedRoot".into(), chain.root.1.into(), chain.root.0));
    }
    let packing = match packing {
        Packing::Pem if zip_wanted => Packing::Zip("pem"),
        p => p,
    };
    let (content_type, body, file_name) = match packing {
        Packing::Pem => {
            let text: String = parts.iter().map(|(_, p, _)| p.as_str()).collect();
            ("application/x-pem-file", text.into_bytes(), format!("{stem}.pem"))
        }
        Packing::Pkcs7 => {
            // Root first, as DigiCert's bundles are ordered; order inside a SET does not matter.
            let ders: Vec<&[u8]> = parts.iter().rev().map(|(_, _, d)| *d).collect();
            let ext = if format_name == "cer" { "cer" } else { "p7b" };
            (
                "application/x-pkcs7-certificates",
                certkeep_ca::pkcs7_pem(&ders).into_bytes(),
                format!("{stem}.{ext}"),
            )
        }
        Packing::Zip(ext) => {
            let files: Vec<(String, Vec<u8>)> =
                parts.into_iter().map(|(name, pem, _)| (format!("{name}.{ext}"), pem.into_bytes())).collect();
            ("application/zip", zip(&files)?, format!("{stem}.zip"))
        }
    };
    Ok(Download { content_type, body, file_name })
}

/// Packs a certificate and this server's CA chain in `format_name`.
fn render(
    state: &AppState,
    cert: &CertificateRecord,
    der: &[u8],
    format_name: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let [(_, intermediate_pem), (_, root_pem)] = state.authority.chain();
    let ca = state.authority.ca();
    let chain =
        CaChain { intermediate: (ca.intermediate_der(), intermediate_pem), root: (ca.root_der(), root_pem) };
    package(format_name, &cert.common_name, der, chain, wants_zip(headers)).map(respond)
}

/// A certificate reference in a path: an id, or a serial number.
pub fn certificate_ref(segment: &str) -> Result<CertificateRef, ApiError> {
    match PathRef::parse(segment) {
        Some(PathRef::Id(id)) => Ok(CertificateRef::Id(id)),
        Some(PathRef::Hex(hex)) => Ok(CertificateRef::Serial(hex)),
        None => Err(certificate_not_found()),
    }
}

fn certificate_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found|certificate", "Certificate not found.")
}

async fn issued(
    state: &AppState,
    principal: &Principal,
    r: CertificateRef,
) -> Result<(CertificateRecord, Vec<u8>), ApiError> {
    let scope = principal.scope.clone();
    let (cert, der) =
        state.store(move |s| s.find_certificate(&scope, &r)).await?.ok_or_else(certificate_not_found)?;
    match der {
        Some(der) if matches!(cert.status, CertificateStatus::Issued | CertificateStatus::Revoked) => {
            Ok((cert, der))
        }
        _ => Err(ApiError::bad_request(
            "certificate_not_issued",
            format!("Certificate {} is {}: there is nothing to download yet.", cert.id, cert.status.as_str()),
        )),
    }
}

/// `GET /certificate/{id}/download/format/{format}`.
pub async fn by_format(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((id, format_name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (cert, der) = issued(&state, &principal, certificate_ref(&id)?).await?;
    render(&state, &cert, &der, &format_name, &headers)
}

/// `GET /certificate/{id}/download/platform`: the certificate's own server platform.
pub async fn by_own_platform(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (cert, der) = issued(&state, &principal, certificate_ref(&id)?).await?;
    render(&state, &cert, &der, platform_format(cert.server_platform_id), &headers)
}

/// `GET /certificate/{id}/download/platform/{platform_id}`.
pub async fn by_platform(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((id, platform)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let platform: i64 = platform.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found|platform",
            format!("No server platform {platform:?}."),
        )
    })?;
    let (cert, der) = issued(&state, &principal, certificate_ref(&id)?).await?;
    render(&state, &cert, &der, platform_format(platform), &headers)
}

/// The order's current certificate, or one of its duplicates by `subId` (legacy clients).
async fn order_certificate(
    state: &AppState,
    principal: &Principal,
    order: &str,
    sub_id: Option<usize>,
) -> Result<(CertificateRecord, Vec<u8>), ApiError> {
    let order_id = super::orders::order_id(order)?;
    let scope = principal.scope.clone();
    let target = state
        .store(move |s| {
            let Some(order) = s.find_order(&scope, &OrderRef::Id(order_id))? else { return Ok(None) };
            Ok(match sub_id {
                None => Some(order.certificate.id),
                Some(n) => s
                    .order_certificates(&scope, order_id, certkeep_core::CertificateKind::Duplicate, true)?
                    .and_then(|d| d.certificates.get(n.wrapping_sub(1)).map(|c| c.id)),
            })
        })
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    issued(state, principal, CertificateRef::Id(target)).await
}

fn query_value(raw: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `GET /certificate/download/order/{order_id}` (`?subId=&formatType=` for duplicates).
pub async fn by_order(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(order): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sub_id = query_value(raw.as_deref(), "subId")
        .map(|v| v.parse::<usize>().map_err(|_| certificate_not_found()))
        .transpose()?;
    let format_name = query_value(raw.as_deref(), "formatType").unwrap_or_else(|| "default".into());
    let (cert, der) = order_certificate(&state, &principal, &order, sub_id).await?;
    render(&state, &cert, &der, &format_name, &headers)
}

/// `GET /certificate/download/order/{order_id}/format/{format}`.
pub async fn by_order_format(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((order, format_name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (cert, der) = order_certificate(&state, &principal, &order, None).await?;
    render(&state, &cert, &der, &format_name, &headers)
}

#[derive(Serialize)]
struct CertificateView<'a> {
    #[serde(flatten)]
    certificate: CertificateCore<'a>,
    order_id: Id,
    signature_hash: &'a str,
    ca_cert_id: &'a str,
}

/// `GET /certificate/{id}`: one certificate (by id or serial).
pub async fn describe(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = certificate_ref(&id)?;
    let scope = principal.scope;
    let (c, _) =
        state.store(move |s| s.find_certificate(&scope, &r)).await?.ok_or_else(certificate_not_found)?;
    let now = state.clock.now();
    let view = CertificateView {
        certificate: CertificateCore::new(&c, now),
        order_id: c.order_id,
        signature_hash: &c.signature_hash,
        ca_cert_id: state.authority.id(),
    };
    Ok(json_response(StatusCode::OK, &view))
}

/// One certificate of a chain as CertCentral shows it.
#[derive(Serialize)]
pub(crate) struct ChainItem {
    pub subject_common_name: String,
    pub pem: String,
}

/// The chain of a certificate named `common_name`: it, then certkeep's intermediate and root.
pub(crate) fn chain_items(state: &AppState, common_name: &str, der: &[u8]) -> Vec<ChainItem> {
    let leaf = ChainItem { subject_common_name: common_name.to_owned(), pem: pem(der) };
    std::iter::once(leaf)
        .chain(
            state
                .authority
                .chain()
                .into_iter()
                .map(|(cn, p)| ChainItem { subject_common_name: cn.to_owned(), pem: p.to_owned() }),
        )
        .collect()
}

#[derive(Serialize)]
struct Chain {
    intermediates: Vec<ChainItem>,
}

/// `GET /certificate/{id}/chain`: `{"intermediates": [...]}`, the certificate first, then the
/// intermediate and the root (`subject_common_name`, `pem`).
pub async fn chain(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (cert, der) = issued(&state, &principal, certificate_ref(&id)?).await?;
    let intermediates = chain_items(&state, &cert.common_name, &der);
    Ok(json_response(StatusCode::OK, &Chain { intermediates }))
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn file_stems_are_plain_and_never_empty() {
        assert_eq!(file_stem(""), "certificate");
        assert_eq!(file_stem("*.example.com"), "star_example_com");
        assert_eq!(file_stem("a\"/;.b"), "a____b");
        assert_eq!(file_stem("IntermediateCA"), "IntermediateCA_leaf");
    }
}
