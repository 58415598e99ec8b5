//! The audit log at the front doors: where a call came from, and writes refused before they
//! reached the lifecycle (which records its own refusals).

use std::{future::Future, net::SocketAddr};

use axum::{
    extract::{ConnectInfo, Request},
    http::{Extensions, Method},
};
use certkeep_core::{Id, lifecycle::AuditEvent};

use crate::AppState;

/// The client's IP address as the audit log records it.
pub fn client_address(extensions: &Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string())
}

/// Who a refused request authenticated as, as far as it did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller {
    /// The account its credential belongs to.
    pub account_id: Option<Id>,
    /// The user.
    pub user_id: Option<Id>,
    /// The key.
    pub api_key_id: Option<Id>,
}

/// A write refused at a door, to be recorded once the reason is known.
pub struct Refusal(Option<AuditEvent>);

impl Refusal {
    /// The refusal of `request` by `caller` at the check `action` (`certcentral.auth`...):
    /// recorded only for writes (any method but GET and HEAD); the object is the method and path.
    pub fn of(state: &AppState, request: &Request, caller: Caller, action: &str) -> Self {
        if matches!(*request.method(), Method::GET | Method::HEAD) {
            return Self(None);
        }
        let path = request
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned());
        Self(Some(AuditEvent {
            account_id: caller.account_id,
            user_id: caller.user_id,
            api_key_id: caller.api_key_id,
            action: action.to_owned(),
            object: format!("{} {path}", request.method()),
            detail: String::new(),
            source: client_address(request.extensions()),
            at: state.clock.now(),
            refused: true,
        }))
    }

    /// Records the refusal with `reason`. The future does not borrow the request.
    pub fn record(self, state: &AppState, reason: &str) -> impl Future<Output = ()> + Send + 'static {
        let event = self.0.map(|e| AuditEvent { detail: reason.to_owned(), ..e });
        let state = state.clone();
        async move {
            if let Some(event) = event {
                record(&state, event).await;
            }
        }
    }
}

/// Records a refused write at once (see [`Refusal`]).
pub fn refused_write(
    state: &AppState,
    request: &Request,
    caller: Caller,
    action: &str,
    reason: &str,
) -> impl Future<Output = ()> + Send + 'static {
    Refusal::of(state, request, caller, action).record(state, reason)
}

/// Appends a refused event. Best effort: the refusal is answered whether or not it could be
/// recorded.
pub async fn record(state: &AppState, event: AuditEvent) {
    if let Err(e) = state.store(move |s| s.record_audit(&event)).await {
        tracing::warn!(error = %e, "cannot record a refused write");
    }
}
