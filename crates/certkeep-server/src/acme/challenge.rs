//! Challenges (RFC 8555 §7.5.1, §8): the client's POST starts validation off the request path;
//! the challenge goes `pending` → `processing` → `valid`/`invalid`, its authorization follows,
//! and the order becomes `ready` (or `invalid`).

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id,
    acme::{AcmeAuthz, AcmeChallenge, AcmeStatus},
};
use serde_json::{Value, json};
use time::Duration;

use super::request::Path;
use super::{
    order::{self, owned_authz, rfc3339},
    problem::Problem,
    request::{Post, Signer, verify},
    url, validation,
};
use crate::AppState;

/// A challenge as JSON.
pub fn challenge_json(state: &AppState, c: &AcmeChallenge) -> Value {
    let mut v = json!({
        "type": c.kind,
        "url": url(state, &format!("/challenge/{}", c.id)),
        "status": c.status.as_str(),
        "token": c.token,
    });
    if let Some(t) = c.validated {
        v["validated"] = json!(rfc3339(t));
    }
    if let Some(e) = c.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()) {
        v["error"] = e;
    }
    v
}

/// `POST /acme/challenge/{id}`: `{}` asks for validation; POST-as-GET reads.
pub async fn challenge(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let signed = verify(&state, post, Signer::Account).await?;
    let found = state.store(move |s| s.acme().acme_challenge(id)).await?;
    let mut c = found.ok_or_else(|| Problem::not_found("challenge"))?;
    let authz = owned_authz(&state, &signed, c.authz_id).await?;
    if !signed.is_get() {
        let _: serde_json::Map<String, Value> = signed.json()?;
        if c.status == AcmeStatus::Pending && authz.status == AcmeStatus::Pending && claim(&state, id).await?
        {
            c.status = AcmeStatus::Processing;
            let key_authorization = format!("{}.{}", c.token, signed.jwk.thumbprint());
            tokio::spawn(run(state.clone(), c.clone(), authz.clone(), key_authorization));
        }
    }
    let up = format!("<{}>;rel=\"up\"", url(&state, &format!("/authz/{}", c.authz_id)));
    let mut res = ([(header::LINK, up)], Json(challenge_json(&state, &c))).into_response();
    if c.status == AcmeStatus::Processing {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(order::RETRY_AFTER));
    }
    Ok(res)
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

/// Validates one challenge and propagates the outcome to its authorization and order.
async fn run(state: AppState, mut c: AcmeChallenge, authz: AcmeAuthz, key_authorization: String) {
    let outcome = if state.acme.always_valid {
        Ok(())
    } else {
        validation::check(&state.acme, &c.kind, &authz.identifier, &c.token, &key_authorization).await
    };
    state.metrics.validated(&c.kind, outcome.is_ok());
    let authz_status = match outcome {
        Ok(()) => {
            c.status = AcmeStatus::Valid;
            c.validated = Some(state.clock.now());
            AcmeStatus::Valid
        }
        Err(p) => {
            tracing::info!(challenge = c.id, name = %authz.identifier, detail = %p.detail, "acme validation failed");
            c.status = AcmeStatus::Invalid;
            c.error = Some(p.to_json().to_string());
            AcmeStatus::Invalid
        }
    };
    let (authz_id, order_id) = (authz.id, authz.order_id);
    let saved = state
        .store(move |s| {
            s.acme().update_acme_challenge(&c)?;
            s.acme().set_acme_authz_status(authz_id, authz_status)?;
            s.acme().acme_order(order_id)
        })
        .await;
    let refreshed = match saved {
        Ok(Some(o)) => order::refresh(&state, o).await.map(drop),
        Ok(None) => Ok(()),
        Err(e) => Err(Problem::from(e)),
    };
    if let Err(p) = refreshed {
        tracing::error!(order = order_id, detail = %p.detail, "acme order status update failed");
    }
}
