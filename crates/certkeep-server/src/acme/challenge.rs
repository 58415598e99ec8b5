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
        if c.status == AcmeStatus::Pending
            && authz.status == AcmeStatus::Pending
            && state
                .store(move |s| {
                    s.acme().transition_acme_challenge(id, AcmeStatus::Pending, AcmeStatus::Processing)
                })
                .await?
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

/// Validates one challenge and propagates the outcome to its authorization and order.
async fn run(state: AppState, mut c: AcmeChallenge, authz: AcmeAuthz, key_authorization: String) {
    let outcome = if state.acme.always_valid {
        Ok(())
    } else {
        validation::check(&state.acme, &c.kind, &authz.identifier, &c.token, &key_authorization).await
    };
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
