//! Writes through NCP: who acts for an access key, and request bodies.

use certkeep_core::{Id, Scope, lifecycle::Actor};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{error::NcpError, inventory::NcpCaller};
use crate::AppState;

/// The account's administrator acting for an NCP key (Certificate Manager 2.0 takes main-account
/// keys only), and the account's root container, where NCP orders go.
pub struct Acting {
    /// Root container of the account.
    pub container_id: Id,
    /// The actor: the administrator through the access key; approval is skipped.
    pub actor: Actor,
}

/// Who acts for `caller` in `scope`'s account.
pub async fn acting(state: &AppState, scope: &Scope, caller: &NcpCaller) -> Result<Acting, NcpError> {
    let account_id = scope.account_id;
    let (container_id, user_id) =
        state
            .store(move |s| crate::tenant::root_and_admin(s, account_id))
            .await?
            .ok_or_else(|| NcpError::refused("The account has no administrator to act for its NCP keys."))?;
    let actor = Actor {
        user_id,
        api_key_id: None,
        api_key: Some((caller.access_key.clone(), "ncp_access_key".into())),
        may_skip_approval: true,
        source: "ncp".into(),
    };
    Ok(Acting { container_id, actor })
}

/// The raw request body, with NCP's rejections: too large is the gateway's 413 `430`, an
/// unreadable body 400 `2000`.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = NcpError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, NcpError> {
        axum::body::Bytes::from_request(req, state).await.map(Self).map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                NcpError::too_large()
            } else {
                NcpError::invalid_parameter(format!("The request body could not be read: {e}."))
            }
        })
    }
}

/// A JSON request body; malformed or mistyped JSON is 400 `2000`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, NcpError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes)
        .map_err(|e| NcpError::invalid_parameter(format!("The request body is not valid: {e}.")))
}

/// A required text field, trimmed.
pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, NcpError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| NcpError::invalid_parameter(format!("{name} is required.")))
}

/// `certificateName`: 3 to 20 letters, digits and `-`, starting with a letter (NCP's rule).
pub fn certificate_name(value: &Option<String>) -> Result<Option<String>, NcpError> {
    let Some(name) = value.as_deref().map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    let valid = (3..=20).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(NcpError::invalid_parameter(
            "certificateName can only contain 3-20 English alphabet, numbers, and '-' and must start \
             with an alphabetic character",
        ));
    }
    Ok(Some(name.to_owned()))
}

/// An id NCP sends as a number or a string (`orderId`, `certificateNo`, `organizationNo`);
/// `None` when absent, null or blank.
pub fn id_field(value: &Option<Value>, name: &str) -> Result<Option<Id>, NcpError> {
    let bad = || NcpError::invalid_parameter(format!("{name} must be a number."));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(bad),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().ok().filter(|n: &Id| *n >= 0).map(Some).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// `dnsName`: an Array of names (as documented) or one comma-separated String (as lists show it).
pub fn names_field(value: &Option<Value>) -> Result<Option<Vec<String>>, NcpError> {
    let bad = || NcpError::Service {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "2201",
        message: "Invalid DNS SANs input format.".into(),
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            Ok(Some(s.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect()))
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_owned()).ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names_follow_ncp_rule() {
        assert_eq!(certificate_name(&Some(" web-01 ".into())).unwrap(), Some("web-01".into()));
        assert_eq!(certificate_name(&None).unwrap(), None);
        for bad in ["ab", "1abc", "a_bc", "abcdefghijklmnopqrstu", "a b c"] {
            assert!(certificate_name(&Some(bad.into())).is_err(), "{bad}");
        }
    }
}
