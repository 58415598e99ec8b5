//! Replay nonces (RFC 8555 §7.2): random, stored in the database so that every replica
//! accepts them, each usable once (an atomic delete), for an hour.

use axum::{extract::State, http::StatusCode};
use time::Duration;

use super::{jws::b64, problem::Problem};
use crate::AppState;

/// The response header carrying a nonce.
pub const REPLAY_NONCE: &str = "replay-nonce";

const LIFETIME: Duration = Duration::hours(1);

/// Issues a fresh nonce.
pub async fn issue(state: &AppState) -> Result<String, Problem> {
    let mut raw = [0u8; 16];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| Problem::internal("The random generator failed."))?;
    let nonce = b64(&raw);
    let now = state.clock.now();
    let stored = nonce.clone();
    state.store(move |s| s.acme().put_nonce(&stored, now + LIFETIME, now)).await?;
    Ok(nonce)
}

/// Consumes a nonce a request carried; `badNonce` unless it was issued, unused and unexpired.
pub async fn consume(state: &AppState, nonce: Option<String>) -> Result<(), Problem> {
    let nonce = nonce.filter(|n| !n.is_empty()).ok_or_else(|| Problem::bad_nonce("The JWS has no nonce."))?;
    let now = state.clock.now();
    if state.store(move |s| s.acme().take_nonce(&nonce, now)).await? {
        Ok(())
    } else {
        Err(Problem::bad_nonce("The nonce is unknown, expired or already used."))
    }
}

/// `HEAD /acme/new-nonce`: 200 (the nonce is added by the router's layer).
pub async fn head(State(_): State<AppState>) -> StatusCode {
    StatusCode::OK
}

/// `GET /acme/new-nonce`: 204.
pub async fn get(State(_): State<AppState>) -> StatusCode {
    StatusCode::NO_CONTENT
}
