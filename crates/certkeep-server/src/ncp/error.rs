//! NCP's two error dialects: the API Gateway's `{"error":{"errorCode","message","details"}}`
//! (authentication, routing, limits) and Certificate Manager's own
//! `{"returnCode","returnMessage"}`.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    StoreError,
    lifecycle::LifecycleError,
    refusal::{Object, Refusal, RefusalClass},
};
use serde::Serialize;

/// Which side of NCP answered: `x-ncp-apigw-response-origin` is `APIGW` for the gateway's own
/// errors and `ENDPOINT` for what the service returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The API Gateway.
    Gateway,
    /// Certificate Manager behind it.
    Endpoint,
}

impl Origin {
    /// The value of `x-ncp-apigw-response-origin`.
    pub fn header_value(self) -> &'static str {
        match self {
            Self::Gateway => "APIGW",
            Self::Endpoint => "ENDPOINT",
        }
    }
}

/// An error answered in NCP's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NcpError {
    /// An API Gateway error.
    Gateway {
        /// HTTP status.
        status: StatusCode,
        /// `errorCode` (a string, as NCP sends it).
        code: &'static str,
        /// `message`.
        message: &'static str,
        /// `details`.
        details: &'static str,
    },
    /// A Certificate Manager error.
    Service {
        /// HTTP status.
        status: StatusCode,
        /// `returnCode`.
        code: &'static str,
        /// `returnMessage`.
        message: String,
    },
}

impl NcpError {
    pub(crate) fn gateway(
        status: StatusCode,
        code: &'static str,
        message: &'static str,
        details: &'static str,
    ) -> Self {
        Self::Gateway { status, code, message, details }
    }

    /// 401 `200` when a signature header is absent or empty.
    pub fn credentials_missing() -> Self {
        Self::gateway(
            StatusCode::UNAUTHORIZED,
            "200",
            "Authentication Failed",
            "Authentication information are missing.",
        )
    }

    /// 401 `200` for an unknown or revoked access key, a wrong signature or a timestamp that
    /// is malformed or 5 minutes or more away from the server clock.
    pub fn credentials_invalid() -> Self {
        Self::gateway(
            StatusCode::UNAUTHORIZED,
            "200",
            "Authentication Failed",
            "Invalid authentication information.",
        )
    }

    /// 404 `300` for an unknown route or method.
    pub fn route_not_found() -> Self {
        Self::gateway(StatusCode::NOT_FOUND, "300", "Not Found Exception", "URL not found.")
    }

    /// 413 `430` when the request body is larger than the server takes.
    pub fn too_large() -> Self {
        Self::gateway(
            StatusCode::PAYLOAD_TOO_LARGE,
            "430",
            "Request Entity Too Large",
            "Request entity too large.",
        )
    }

    /// 429 `420` when the key's request limit is exceeded.
    pub fn rate_limited() -> Self {
        Self::gateway(StatusCode::TOO_MANY_REQUESTS, "420", "Rate Limited", "Rate limit exceeded.")
    }

    /// 503 `500` when the inventory does not answer.
    pub fn endpoint_error() -> Self {
        Self::gateway(StatusCode::SERVICE_UNAVAILABLE, "500", "Endpoint Error", "Endpoint connection error.")
    }

    /// 500 `900` for a failure that is certkeep's fault (e.g. a secret that does not unseal).
    pub fn unexpected() -> Self {
        Self::gateway(StatusCode::INTERNAL_SERVER_ERROR, "900", "Unexpected Error", "Unexpected error.")
    }

    /// 400 `returnCode` `2000` for a parameter or body field that is missing, malformed or out of
    /// its range.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::Service { status: StatusCode::BAD_REQUEST, code: "2000", message: message.into() }
    }

    /// 400 `returnCode` `2100` for a well-formed request the inventory refuses (a name not
    /// validated, an order not issued, an object that is not the account's).
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Service { status: StatusCode::BAD_REQUEST, code: "2100", message: message.into() }
    }

    /// `returnCode` `2200` (HTTP 200, as NCP's table lists it): no certificate (or order) of the
    /// account matches.
    pub fn no_certificate() -> Self {
        Self::Service { status: StatusCode::OK, code: "2200", message: "No certificate was found.".into() }
    }

    /// A documented Certificate Manager code answered with HTTP 200 (`1002`, `1004`, `26040`...).
    pub fn service(code: &'static str, message: impl Into<String>) -> Self {
        Self::Service { status: StatusCode::OK, code, message: message.into() }
    }
}

impl From<LifecycleError> for NcpError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::NotFound(Object::Order | Object::Certificate) => Self::no_certificate(),
            LifecycleError::NotFound(what) => Self::refused(format!("No {what} of the account matches.")),
            // A malformed common name is a bad parameter like any other; the names are 2201.
            LifecycleError::Refused(
                refusal @ (Refusal::Name { common_name: false, .. } | Refusal::NameNotOnOrder(_)),
            ) => {
                Self::Service { status: StatusCode::BAD_REQUEST, code: "2201", message: refusal.to_string() }
            }
            LifecycleError::Refused(refusal) => match refusal.class() {
                RefusalClass::Invalid => Self::invalid_parameter(refusal.to_string()),
                RefusalClass::Conflict | RefusalClass::Forbidden => Self::refused(refusal.to_string()),
            },
            LifecycleError::Issuance(message) => {
                tracing::error!(%message, "issuance failed");
                Self::Service {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "1000",
                    message: "Please try your call again later.".into(),
                }
            }
            LifecycleError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for NcpError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Self::endpoint_error()
    }
}

#[derive(Serialize)]
struct GatewayBody<'a> {
    error: GatewayItem<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GatewayItem<'a> {
    error_code: &'a str,
    message: &'a str,
    details: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceBody<'a> {
    return_code: &'a str,
    return_message: &'a str,
}

impl IntoResponse for NcpError {
    fn into_response(self) -> Response {
        match self {
            Self::Gateway { status, code, message, details } => json_response(
                status,
                Origin::Gateway,
                &GatewayBody { error: GatewayItem { error_code: code, message, details } },
            ),
            Self::Service { status, code, message } => json_response(
                status,
                Origin::Endpoint,
                &ServiceBody { return_code: code, return_message: &message },
            ),
        }
    }
}

/// A JSON response with NCP's headers: `Content-Type: application/json;charset=UTF-8` and
/// `x-ncp-apigw-response-origin`.
pub fn json_response(status: StatusCode, origin: Origin, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    headers.insert("x-ncp-apigw-response-origin", HeaderValue::from_static(origin.header_value()));
    response
}
