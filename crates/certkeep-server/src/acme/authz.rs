//! Authorizations (RFC 8555 §7.5): read with POST-as-GET, deactivated by the client (§7.5.2).

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id,
    acme::{AcmeAccount, AcmeAuthz, AcmeStatus, rules, steps},
};
use serde::Deserialize;

use super::request::Path;
use super::{
    objects::authz_json,
    problem::Problem,
    request::{Post, verify_for_account},
};
use crate::AppState;

#[derive(Debug, Deserialize)]
struct AuthzUpdate {
    status: String,
}

/// An authorization of the signing account, or why not.
pub fn owned(authz: Option<AcmeAuthz>, account: &AcmeAccount) -> Result<AcmeAuthz, Problem> {
    let authz = authz.ok_or_else(|| Problem::not_found("authorization"))?;
    if authz.account_id != account.id {
        return Err(Problem::unauthorized("The authorization belongs to another account."));
    }
    Ok(authz)
}

/// `POST /acme/authz/{id}`: read (POST-as-GET) or deactivate.
pub async fn authorization(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (signed, found) =
        verify_for_account(&state, post, move |tx, a, now| steps::authz(tx, a.id, id, now)).await?;
    let mut authz = owned(found, signed.account())?;
    if !signed.is_get() {
        let update: AuthzUpdate = signed.json()?;
        if update.status != "deactivated" {
            return Err(Problem::malformed("An authorization can only be deactivated."));
        }
        if !rules::may_deactivate(authz.status) {
            return Err(Problem::malformed(format!("The authorization is {}.", authz.status)));
        }
        state.store(move |s| s.acme().set_acme_authz_status(id, AcmeStatus::Deactivated)).await?;
        authz.status = AcmeStatus::Deactivated;
    }
    Ok(Json(authz_json(&state, &authz)).into_response())
}
