//! Domains and their control validation, as CertCentral's Services API has them: `POST
//! /domain` registers a domain pending validation (its random value in `dcv_token`), `GET
//! /domain` and `GET /domain/{id}` show where each stands, `PUT /domain/{id}/dcv/method`
//! changes the method (a new random value), `POST /domain/{id}/dcv/token` draws a new random
//! value, and `PUT /domain/{id}/dcv/validate-token` checks it now ([`crate::dcv`]). Nobody
//! vouches for a domain through the API: the operator does, with `certkeep domain vouch`.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{
    Domain, Id, Principal,
    dcv::{self, DcvMethod, DomainStatus},
    lifecycle::Actor,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::body::{self, IdRef};
use crate::{
    AppState,
    digicert::{ApiError, Body, Path, json_response},
    wire::iso8601,
};

/// CertCentral's name of a DCV method.
fn method_name(m: DcvMethod) -> &'static str {
    match m {
        DcvMethod::DnsTxtToken => "dns-txt-token",
        DcvMethod::DnsCnameToken => "dns-cname-token",
        DcvMethod::HttpToken => "http-token",
        DcvMethod::Email => "email",
        DcvMethod::Operator => "pre-validated",
    }
}

/// The method a client names. DigiCert's e-mail variants are e-mail (no e-mail is sent, so
/// such a domain stays pending); `http-token-dynamic` and the rest are not offered for domains.
fn parse_method(name: &str) -> Result<DcvMethod, ApiError> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "dns-txt-token" => DcvMethod::DnsTxtToken,
        "dns-cname-token" => DcvMethod::DnsCnameToken,
        "http-token" => DcvMethod::HttpToken,
        "email" | "email-domain" | "email-whois" | "email-constructed" => DcvMethod::Email,
        other => {
            return Err(ApiError::bad_request(
                "invalid_dcv_method",
                format!(
                    "{other:?} is not a DCV method for domains: use dns-txt-token, dns-cname-token, http-token or email."
                ),
            ));
        }
    })
}

/// CertCentral's words for a domain's validation (`status`, DigiCert's deprecated summary).
fn status_name(s: DomainStatus) -> &'static str {
    match s {
        DomainStatus::Pending => "pending",
        DomainStatus::Validated => "approved",
        DomainStatus::Expired => "expired",
    }
}

fn domain_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found|domain", "Domain not found.")
}

fn domain_id(segment: &str) -> Result<Id, ApiError> {
    segment.parse().ok().filter(|id| *id > 0).ok_or_else(domain_not_found)
}

#[derive(Serialize)]
struct TokenView {
    token: String,
    status: &'static str,
    expiration_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_value: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_token_url: Option<String>,
}

/// `dcv_token` of a domain that has a random value.
fn token_view(d: &Domain, now: OffsetDateTime) -> Option<TokenView> {
    let t = d.dcv_token.as_ref()?;
    let status = match d.status(now) {
        DomainStatus::Validated => "active",
        _ if !t.is_live(now) => "expired",
        _ => "pending",
    };
    Some(TokenView {
        token: t.value.clone(),
        status,
        expiration_date: iso8601(t.expires),
        verification_value: (d.dcv_method == DcvMethod::DnsCnameToken).then_some(crate::dcv::CNAME_TARGET),
        http_token_url: (d.dcv_method == DcvMethod::HttpToken).then(|| crate::dcv::http_token_url(&d.name)),
    })
}

#[derive(Serialize)]
struct IdRefView {
    id: Id,
}

#[derive(Serialize)]
struct DomainView {
    id: Id,
    is_active: bool,
    status: &'static str,
    is_pending_validation: bool,
    name: String,
    date_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<IdRefView>,
    container: IdRefView,
    dcv_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    validated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dcv_approval_datetime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dcv_expiration_datetime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dcv_token: Option<TokenView>,
}

fn view(d: &Domain, now: OffsetDateTime, include_dcv: bool) -> DomainView {
    let status = d.status(now);
    DomainView {
        id: d.id,
        is_active: true,
        status: status_name(status),
        is_pending_validation: status != DomainStatus::Validated,
        name: d.name.clone(),
        date_created: iso8601(d.date_created),
        organization: d.organization_id.map(|id| IdRefView { id }),
        container: IdRefView { id: d.container_id },
        dcv_method: method_name(d.dcv_method),
        validated_at: d.validated_at.map(iso8601),
        dcv_approval_datetime: d.validated_at.filter(|_| include_dcv).map(iso8601),
        dcv_expiration_datetime: d
            .validated_at
            .filter(|_| include_dcv)
            .map(|at| iso8601(dcv::validation_expires(at, now))),
        dcv_token: if include_dcv { token_view(d, now) } else { None },
    }
}

/// Whether a query string turns a boolean flag on (`include_dcv=true` or `=1`).
fn flag(raw: Option<&str>, name: &str) -> bool {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == name && matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
}

async fn find(state: &AppState, principal: &Principal, id: Id) -> Result<Domain, ApiError> {
    let scope = principal.scope.clone();
    let list = state.store(move |s| s.list_domains(&scope)).await?;
    list.into_iter().find(|d| d.id == id).ok_or_else(domain_not_found)
}

/// `GET /domain` (`include_dcv=true` adds the DCV details).
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let scope = principal.scope;
    let list = state.store(move |s| s.list_domains(&scope)).await?;
    let (now, include_dcv) = (state.clock.now(), flag(raw.as_deref(), "include_dcv"));
    let domains: Vec<DomainView> = list.iter().map(|d| view(d, now, include_dcv)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "domains": domains })))
}

/// `GET /domain/{domain_id}` (`include_dcv=true` adds the random value and the validation's
/// dates).
pub async fn info(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let d = find(&state, &principal, domain_id(&segment)?).await?;
    let v = view(&d, state.clock.now(), flag(raw.as_deref(), "include_dcv"));
    Ok(json_response(StatusCode::OK, &v))
}

#[derive(Deserialize)]
struct NewDomainBody {
    name: Option<String>,
    organization: Option<IdRef>,
    container: Option<IdRef>,
    dcv_method: Option<String>,
    keep_www: Option<bool>,
}

/// `POST /domain`: registers a domain pending validation. 201 `{"id", "dcv_token"}` (the
/// token for the methods that check one). Like DigiCert, `www.` is dropped from the name
/// unless `keep_www` is true or the method is `http-token` (which proves the exact name only).
pub async fn add(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let b: NewDomainBody = body::parse(&bytes)?;
    let mut name = b.name.ok_or_else(|| ApiError::missing("name"))?;
    // DigiCert's default method is e-mail.
    let method = parse_method(b.dcv_method.as_deref().unwrap_or("email"))?;
    if method != DcvMethod::HttpToken && !b.keep_www.unwrap_or(false) {
        let trimmed = name.trim();
        if trimmed.len() > 4 && trimmed[..4].eq_ignore_ascii_case("www.") {
            name = trimmed[4..].to_owned();
        }
    }
    let container = b.container.map_or(principal.container_id, |c| c.id);
    let organization = b.organization.map(|o| o.id);
    let scope = principal.scope;
    let d = state
        .lifecycle(move |l| l.add_domain(&scope, &actor, &name, container, organization, method))
        .await?;
    let mut body = json!({ "id": d.id });
    if let Some(t) = token_view(&d, state.clock.now()) {
        body["dcv_token"] = serde_json::to_value(t).unwrap_or(Value::Null);
    }
    Ok(json_response(StatusCode::CREATED, &body))
}

#[derive(Deserialize)]
struct MethodBody {
    dcv_method: Option<String>,
}

/// `PUT /domain/{domain_id}/dcv/method`: `{}` when the method stays (or is e-mail: certkeep
/// sends none, so it has no `validation_emails`), else `{"dcv_token": {...}}` with a new
/// random value.
pub async fn change_method(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let id = domain_id(&segment)?;
    let b: MethodBody = body::parse(&bytes)?;
    let method = parse_method(b.dcv_method.as_deref().ok_or_else(|| ApiError::missing("dcv_method"))?)?;
    let scope = principal.scope;
    let (d, changed) = state.lifecycle(move |l| l.change_dcv(&scope, &actor, id, Some(method))).await?;
    let body = match token_view(&d, state.clock.now()).filter(|_| changed) {
        Some(t) => json!({ "dcv_token": t }),
        None => json!({}),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /domain/{domain_id}/dcv/token`: a new random value for the domain's method
/// (`{"token", "expiration_date"}`, plus `http_token_url` or `verification_value`); a domain
/// whose method uses none is 400 `invalid_dcv_method`.
pub async fn new_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let id = domain_id(&segment)?;
    let scope = principal.scope;
    let (d, _) = state.lifecycle(move |l| l.change_dcv(&scope, &actor, id, None)).await?;
    let t = token_view(&d, state.clock.now()).ok_or_else(domain_not_found)?;
    let mut body = json!({ "token": t.token, "expiration_date": t.expiration_date });
    if let Some(url) = t.http_token_url {
        body["http_token_url"] = json!(url);
    }
    if let Some(value) = t.verification_value {
        body["verification_value"] = json!(value);
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// `PUT /domain/{domain_id}/dcv/validate-token`: checks the random value now. 200
/// `{"token", "status": "active"}` once control is shown; 400 `invalid_dns_txt`,
/// `invalid_dns_cname`, `file_random_value_not_found`, `expired_dcv_token` or
/// `invalid_dcv_method` otherwise (the domain stays as it was).
pub async fn validate_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let id = domain_id(&segment)?;
    let d = crate::dcv::check(&state, principal.scope, actor, id).await?;
    let token = d.dcv_token.as_ref().map(|t| t.value.clone());
    Ok(json_response(StatusCode::OK, &json!({ "token": token, "status": "active" })))
}
