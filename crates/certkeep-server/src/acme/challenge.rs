//! Challenges (RFC 8555 §7.5.1, §8): the client's POST starts validation off the request path;
//! the challenge goes `pending` → `processing` → `valid`/`invalid`, its authorization follows,
//! and the order becomes `ready` (or `invalid`).

use axum::{extract::State, response::Response};
use certkeep_core::{
    Id,
    acme::{AcmeAuthz, AcmeChallenge, AcmeStatus, rules, steps, transaction},
};
use serde_json::Value;
use time::Duration;

use super::request::Path;
use super::{
    authz,
    objects::challenge_response,
    problem::Problem,
    request::{Post, verify_for_account},
    validation,
};
use crate::AppState;

/// `POST /acme/challenge/{id}`: `{}` asks for validation; POST-as-GET reads.
pub async fn challenge(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (signed, found) =
        verify_for_account(&state, post, move |tx, a, now| steps::challenge(tx, a.id, id, now)).await?;
    let (mut c, authz) = found.ok_or_else(|| Problem::not_found("challenge"))?;
    let authz = authz::owned(authz, signed.account())?;
    if !signed.is_get() {
        let _: serde_json::Map<String, Value> = signed.json()?;
        if rules::starts_validation(c.status, authz.status) && claim(&state, id).await? {
            c.status = AcmeStatus::Processing;
            let key_authorization = format!("{}.{}", c.token, signed.jwk.thumbprint());
            tokio::spawn(run(state.clone(), c.clone(), authz, key_authorization));
        }
    }
    Ok(challenge_response(&state, &c))
}

/// How long a validation may run (its fetches and lookups time out well within this): one left
/// `processing` longer was cut off by a crash.
const VALIDATION_DEADLINE: Duration = Duration::seconds(60);

/// Claims a challenge's validation for this process (see
/// [`certkeep_core::acme::AcmeStore::start_acme_challenge`]).
async fn claim(state: &AppState, id: Id) -> Result<bool, Problem> {
    let now = state.clock.now();
    Ok(state.store(move |s| s.acme().start_acme_challenge(id, now, now - VALIDATION_DEADLINE)).await?)
}

/// Resumes the validations a crash cut off (challenges `processing` past the deadline), here or
/// on another replica: each is claimed again and validated with its account's key. Runs every
/// half deadline until the server stops.
pub async fn resume_cut_off_validations(state: AppState) {
    let mut every = tokio::time::interval(VALIDATION_DEADLINE.unsigned_abs() / 2);
    loop {
        every.tick().await;
        if let Err(p) = resume_once(&state).await {
            tracing::error!(detail = %p.detail, "resuming acme validations failed");
        }
    }
}

/// One pass of [`resume_cut_off_validations`]; returns how many it resumed.
pub async fn resume_once(state: &AppState) -> Result<usize, Problem> {
    let stale_before = state.clock.now() - VALIDATION_DEADLINE;
    let ids = state.store(move |s| s.acme().stale_acme_challenges(stale_before, 100)).await?;
    let mut resumed = 0;
    for id in ids {
        let found = state
            .store(move |s| {
                let Some(c) = s.acme().acme_challenge(id)? else { return Ok(None) };
                let Some(authz) = s.acme().acme_authz(c.authz_id)? else { return Ok(None) };
                Ok(s.acme().acme_account(authz.account_id)?.map(|account| (c, authz, account)))
            })
            .await?;
        let Some((mut c, authz, account)) = found else { continue };
        if authz.status != AcmeStatus::Pending {
            // Nothing waits for this validation any more (the authorization was deactivated or
            // expired meanwhile): close it instead of validating, which would overwrite that.
            c.status = AcmeStatus::Invalid;
            let cut_off = Problem::validation("connection", "The validation was cut off by a crash.");
            c.error = Some(cut_off.to_json().to_string());
            state.store(move |s| s.acme().update_acme_challenge(&c)).await?;
            continue;
        }
        if claim(state, id).await? {
            let key_authorization = format!("{}.{}", c.token, account.thumbprint);
            tracing::info!(challenge = id, name = %authz.identifier, "resuming a validation cut off by a crash");
            tokio::spawn(run(state.clone(), c, authz, key_authorization));
            resumed += 1;
        }
    }
    Ok(resumed)
}

/// Validates one challenge and records the outcome on it, its authorization and its order in
/// one write ([`steps::record_validation`]).
async fn run(state: AppState, mut c: AcmeChallenge, authz: AcmeAuthz, key_authorization: String) {
    let outcome = if state.acme.always_valid {
        Ok(())
    } else {
        validation::check(&state.acme, &c.kind, &authz.identifier, &c.token, &key_authorization).await
    };
    state.metrics.validated(&c.kind, outcome.is_ok());
    let now = state.clock.now();
    c.status = rules::validated(outcome.is_ok());
    match outcome {
        Ok(()) => c.validated = Some(now),
        Err(p) => {
            tracing::info!(challenge = c.id, name = %authz.identifier, detail = %p.detail, "acme validation failed");
            c.error = Some(p.to_json().to_string());
        }
    }
    let order_id = authz.order_id;
    let saved =
        state.store(move |s| transaction(s.acme(), |tx| steps::record_validation(tx, &c, &authz, now))).await;
    if let Err(e) = saved {
        tracing::error!(order = order_id, error = %e, "acme validation outcome not recorded");
    }
}
