//! Domain control validation as CertCentral does it, for every door that registers domains
//! (CertCentral's `/domain`, NCP's RegisterDomain): the random value is looked for where the
//! domain's method puts it, through the shared validation authority ([`crate::va`]: the
//! configured resolver and the http-01 port), and the outcome goes through the lifecycle,
//! which records the validation (or the refusal) in the audit log.
//!
//! - `dns-txt-token`: a TXT record holding the random value at the domain or at
//!   `_dnsauth.<domain>` (DigiCert looks at both).
//! - `dns-cname-token`: a CNAME at `_dnsauth.<domain>` whose target is
//!   `<random value>.dcv.digicert.com` (DigiCert's scheme since 2025-10-28); certkeep accepts
//!   any target whose first label is the random value, as the record under the domain is the
//!   proof, and tells clients DigiCert's `dcv.digicert.com`.
//! - `http-token`: `http://<domain>/.well-known/pki-validation/fileauth.txt` (on the http-01
//!   port) holding the random value on a line of its own.

use certkeep_core::{
    Domain, Id, Scope,
    dcv::DcvMethod,
    lifecycle::{Actor, DcvFailure, LifecycleError},
    refusal::Object,
};

use crate::{
    AppState,
    va::{self, VaError},
};

/// Where `http-token` looks for the random value.
pub const FILE_PATH: &str = "/.well-known/pki-validation/fileauth.txt";

/// The host a `dns-cname-token` record points under, as DigiCert tells its clients.
pub const CNAME_TARGET: &str = "dcv.digicert.com";

/// The URL `http-token` fetches for `name` (DigiCert's `http_token_url`, without the port).
pub fn http_token_url(name: &str) -> String {
    format!("http://{name}{FILE_PATH}")
}

/// Looks for `token` where `method` puts it for `name`.
async fn look(state: &AppState, method: DcvMethod, name: &str, token: &str) -> Result<(), DcvFailure> {
    let resolver = state.acme.dns_resolver;
    let detail = |e: VaError| e.detail;
    match method {
        DcvMethod::DnsTxtToken => {
            let mut seen = 0;
            for record in [name.to_owned(), format!("_dnsauth.{name}")] {
                let found =
                    va::txt(resolver, &record).await.map_err(|e| DcvFailure::TxtNotFound(detail(e)))?;
                if found.iter().any(|t| t.trim() == token) {
                    return Ok(());
                }
                seen += found.len();
            }
            Err(DcvFailure::TxtNotFound(format!(
                "No TXT record at {name} or _dnsauth.{name} holds the random value (found {seen} record(s))."
            )))
        }
        DcvMethod::DnsCnameToken => {
            let record = format!("_dnsauth.{name}");
            let found =
                va::cname(resolver, &record).await.map_err(|e| DcvFailure::CnameNotFound(detail(e)))?;
            if found.iter().any(|t| t.split('.').next() == Some(token)) {
                return Ok(());
            }
            Err(DcvFailure::CnameNotFound(format!(
                "No CNAME at {record} points to {token}.{CNAME_TARGET} (found {} record(s)).",
                found.len()
            )))
        }
        DcvMethod::HttpToken => {
            let (url, body) = va::http_get(resolver, name, state.acme.http01_port, FILE_PATH)
                .await
                .map_err(|e| DcvFailure::FileNotFound(detail(e)))?;
            if body.lines().any(|l| l.trim() == token) {
                return Ok(());
            }
            Err(DcvFailure::FileNotFound(format!("{url} does not hold the random value.")))
        }
        DcvMethod::Email | DcvMethod::Operator => Err(DcvFailure::NoCheck),
    }
}

/// Checks a domain of the scope now and records the outcome: the domain as it then is, or the
/// refusal (`invalid_dns_txt`, `invalid_dns_cname`, `file_random_value_not_found`,
/// `expired_dcv_token`, `invalid_dcv_method`; not found for another tenant's domain).
pub async fn check(
    state: &AppState,
    scope: Scope,
    actor: Actor,
    domain_id: Id,
) -> Result<Domain, LifecycleError> {
    let lookup = scope.clone();
    let domain = state
        .store(move |s| Ok(s.list_domains(&lookup)?.into_iter().find(|d| d.id == domain_id)))
        .await?
        .ok_or(LifecycleError::NotFound(Object::Domain))?;
    let now = state.clock.now();
    let checked = domain.dcv_token.clone();
    let outcome = match &checked {
        Some(token) if !token.is_live(now) => Err(DcvFailure::TokenExpired),
        Some(token) => look(state, domain.dcv_method, &domain.name, &token.value).await,
        // No random value: nothing to look for (e-mail, or vouched for by the operator).
        None => Err(DcvFailure::NoCheck),
    };
    if let Err(failure) = &outcome {
        tracing::info!(domain = %domain.name, ?failure, "domain control validation failed");
    }
    state.lifecycle(move |l| l.record_dcv_check(&scope, &actor, domain_id, checked.as_ref(), outcome)).await
}
