//! DigiCert's wire conventions, shared by CertCentral and the Partner Subscriptions API: the
//! error shape `{"errors":[{"code":"...","message":"..."}]}` and exact JSON headers.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    StoreError,
    lifecycle::{DcvFailure, LifecycleError},
    policy::NameRefusal,
    refusal::{Refusal, RefusalClass},
};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use serde_json::Value;

/// An error answered in CertCentral's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `category|detail` code.
    pub code: String,
    /// Human message.
    pub message: String,
}

impl ApiError {
    /// Any error.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into() }
    }

    /// 403 for a missing, unknown or revoked key (as DigiCert answers it).
    pub fn invalid_key() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "access_denied|access_denied_invalid_key",
            "Access denied due to access_denied_invalid_key.",
        )
    }

    /// 403 for a key whose role does not allow the request.
    pub fn missing_permission() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "access_denied|missing_permission",
            "Access denied due to missing_permission.",
        )
    }

    /// 404 for an unknown endpoint.
    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found|route", "The requested route was not found.")
    }

    /// 404 for an order that does not exist or is not visible to the key.
    pub fn order_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found|order", "Order not found.")
    }

    /// 400 for a bad query parameter.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 for a body that is not the JSON the endpoint takes.
    pub fn bad_body(detail: impl std::fmt::Display) -> Self {
        Self::bad_request("bad_request_format", format!("The request body is not valid: {detail}."))
    }

    /// 400 for a missing field.
    pub fn missing(field: &str) -> Self {
        Self::bad_request(format!("missing_param|{field}"), format!("{field} is required."))
    }

    /// 429 when the key's request limit is exceeded.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "request_limit_exceeded",
            "Service unavailable, please limit request volume.",
        )
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::NotFound(what) => {
                let mut title = what.to_string();
                title[..1].make_ascii_uppercase();
                Self::new(StatusCode::NOT_FOUND, format!("not_found|{what}"), format!("{title} not found."))
            }
            LifecycleError::Refused(refusal) => {
                let status = match refusal.class() {
                    RefusalClass::Invalid | RefusalClass::Conflict => StatusCode::BAD_REQUEST,
                    RefusalClass::Forbidden => StatusCode::FORBIDDEN,
                };
                Self::new(status, refusal_code(&refusal), refusal.to_string())
            }
            LifecycleError::Issuance(message) => {
                tracing::error!(%message, "issuance failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "issuance_failed",
                    "The CA could not sign the certificate.",
                )
            }
            LifecycleError::Store(e) => e.into(),
        }
    }
}

/// CertCentral's `category|detail` code for a refusal.
fn refusal_code(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Name { refusal, common_name } => match refusal {
            NameRefusal::Malformed(_) if *common_name => "invalid_common_name",
            NameRefusal::Malformed(_) => "invalid_dns_names",
            NameRefusal::WildcardNotAllowed(_) => "invalid_dns_names|wildcard_not_allowed",
            NameRefusal::IpAddress(_) => "invalid_dns_names|ip_address",
            NameRefusal::InternalName(_) => "invalid_dns_names|internal_name",
            NameRefusal::PublicSuffix(_) => "invalid_dns_names|public_suffix",
            NameRefusal::TooMany { .. } => "invalid_dns_names|too_many",
        },
        Refusal::NameNotOnOrder(_) => "invalid_dns_names|not_on_order",
        Refusal::DomainNotValidated(_) => "domain_not_validated",
        Refusal::InvalidDomainName { .. } => "invalid_domain_name",
        Refusal::ClientAuthRetired => "invalid_profile_option",
        Refusal::ValidityNotInFuture => "invalid_validity",
        Refusal::ValidityTooLong { .. } => "invalid_validity|too_long",
        Refusal::OrganizationRequired { .. } => "missing_param|organization",
        Refusal::RegistrationNumberMissing => "invalid_organization|registration_number",
        Refusal::UnknownCustomField(_) => "invalid_custom_field",
        Refusal::OperatorOnlyDcv | Refusal::DcvMethodHasNoToken => "invalid_dcv_method",
        Refusal::Dcv { failure, .. } => match failure {
            DcvFailure::NoCheck => "invalid_dcv_method",
            DcvFailure::TokenExpired => "expired_dcv_token",
            DcvFailure::TxtNotFound(_) => "invalid_dns_txt",
            DcvFailure::CnameNotFound(_) => "invalid_dns_cname",
            DcvFailure::FileNotFound(_) => "file_random_value_not_found",
        },
        Refusal::DcvTokenChanged => "invalid_dcv_token",
        Refusal::OrderExpired => "order_expired",
        Refusal::AcmeOrderNotReady => "acme_order_not_ready",
        Refusal::AcmeOrderNotIssued => "order_not_issued",
        Refusal::RequestAlreadyProcessed { .. } => "request_already_processed",
        Refusal::OrderNotCancelable(_) | Refusal::OrderNotIssued(_) => "invalid_order_status",
        Refusal::CertificateNotIssued { .. } => "invalid_certificate_status",
        Refusal::NotIssuedHere => "not_issued_here",
        Refusal::ReissuePending => "reissue_pending",
        Refusal::DuplicateDomain(_) => "duplicate_domain",
        Refusal::AdministratorsOnly(_) => "access_denied|missing_permission",
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable.",
        )
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: [Item<'a>; 1],
}

#[derive(Serialize)]
struct Item<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { errors: [Item { code: &self.code, message: &self.message }] };
        json_response(self.status, &body)
    }
}

/// A JSON response with CertCentral's headers: `Content-Type: application/json` exactly (clients
/// such as go-certcentral compare it verbatim) and `Cache-Control: private,no-cache`.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private,no-cache"));
    response
}

/// Parses a JSON body; an empty body reads as `{}`.
pub fn parse<T: DeserializeOwned>(bytes: &axum::body::Bytes) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(ApiError::bad_body)
}

/// A boolean that clients send as `true`, `1`, `"1"` or `"true"`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim(), "1" | "true" | "TRUE" | "True"),
        _ => false,
    })
}

crate::wire::dialect_path!(
    /// Path parameters whose rejection (e.g. a segment that is not valid UTF-8 once decoded)
    /// answers in DigiCert's dialect, as a route that does not exist.
    ApiError = ApiError::route_not_found()
);

/// The raw request body, with DigiCert-dialect rejections (too large: 413).
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::body::Bytes::from_request(req, state).await.map(Self).map_err(|e| {
            ApiError::new(
                e.status(),
                "request_too_large",
                format!("The request body could not be read: {e}."),
            )
        })
    }
}
