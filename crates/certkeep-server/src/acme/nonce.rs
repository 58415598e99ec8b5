//! Replay nonces (RFC 8555 §7.2): the expiry time sealed (AES-256-GCM) under the server's
//! sealing key, so issuing one writes nothing and every replica sharing the key accepts it;
//! each use is recorded in the database (one insert, in the transaction of the request that
//! carried it), so a nonce works once across replicas, for an hour.

use axum::{extract::State, http::StatusCode};
use time::{Duration, OffsetDateTime};

use super::{
    jws::{b64, unb64},
    problem::Problem,
};
use crate::AppState;

/// The response header carrying a nonce.
pub const REPLAY_NONCE: &str = "replay-nonce";

const LIFETIME: Duration = Duration::hours(1);

/// What the sealed nonces are bound to, so that no other sealed value passes for one.
const CONTEXT: &[u8] = b"acme-nonce";

/// Issues a fresh nonce (random: the seal's own nonce is).
pub fn issue(state: &AppState) -> String {
    let expires = (state.clock.now() + LIFETIME).unix_timestamp();
    b64(&state.sealing_key.seal(&expires.to_be_bytes(), CONTEXT))
}

/// The nonce a request carried with its expiry, once it is known to be one this server issued
/// and has not expired: what the request's transaction then uses
/// ([`certkeep_core::acme::steps::open`]). `badNonce` otherwise.
pub fn opened(state: &AppState, nonce: Option<String>) -> Result<(String, OffsetDateTime), Problem> {
    let nonce = nonce.filter(|n| !n.is_empty()).ok_or_else(|| Problem::bad_nonce("The JWS has no nonce."))?;
    let sealed = unb64(&nonce, "nonce").map_err(|_| unknown())?;
    let opened = state.sealing_key.open(&sealed, CONTEXT).ok_or_else(unknown)?;
    let expires = <[u8; 8]>::try_from(opened.as_slice())
        .ok()
        .and_then(|b| OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(b)).ok())
        .ok_or_else(unknown)?;
    if expires > state.clock.now() { Ok((nonce, expires)) } else { Err(unknown()) }
}

/// `badNonce` for a nonce this server did not issue, that expired or that was used before.
pub fn unknown() -> Problem {
    Problem::bad_nonce("The nonce is unknown, expired or already used.")
}

/// `HEAD /acme/new-nonce`: 200 (the nonce is added by the router's layer).
pub async fn head(State(_): State<AppState>) -> StatusCode {
    StatusCode::OK
}

/// `GET /acme/new-nonce`: 204.
pub async fn get(State(_): State<AppState>) -> StatusCode {
    StatusCode::NO_CONTENT
}
