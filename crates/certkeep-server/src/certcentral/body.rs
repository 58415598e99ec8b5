//! Request bodies and the caller as an audit actor.

use axum::http::Extensions;
use certkeep_core::{Principal, lifecycle::Actor};
use serde::Deserialize;

pub use crate::digicert::{flag, parse};

/// `{"id": 123}`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: certkeep_core::Id,
}

/// The caller as the audit log records it.
pub fn actor(principal: &Principal, extensions: &Extensions) -> Actor {
    let source = crate::audit::client_address(extensions);
    Actor {
        user_id: principal.user_id,
        api_key_id: Some(principal.api_key_id),
        api_key: Some((principal.api_key_name.clone(), "api_key".to_owned())),
        may_skip_approval: principal.may_skip_approval,
        source,
    }
}
