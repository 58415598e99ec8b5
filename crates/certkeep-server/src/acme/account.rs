//! Accounts: newAccount with External Account Binding (RFC 8555 §7.3, §7.3.4), update and
//! deactivation (§7.3.2, §7.3.6), the orders list (§7.1.2.1) and key rollover (§7.3.5).

use axum::{
    Json,
    extract::{RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id,
    acme::{AcmeAccount, AcmeStatus},
    partner::open_hmac_key,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::Path;
use super::{
    jws::{Flattened, Jwk, unsupported_algorithm, verify_hs256},
    problem::Problem,
    request::{Post, Signer, account_id, verify},
    url,
};
use crate::AppState;

fn account_url(state: &AppState, id: Id) -> String {
    url(state, &format!("/account/{id}"))
}

fn respond(state: &AppState, account: &AcmeAccount, status: StatusCode) -> Response {
    let body = json!({
        "status": account.status.as_str(),
        "contact": account.contacts,
        "orders": url(state, &format!("/account/{}/orders", account.id)),
        "createdAt": super::objects::rfc3339(account.created_at),
    });
    (status, [(header::LOCATION, account_url(state, account.id))], Json(body)).into_response()
}

fn check_contacts(contacts: &[String]) -> Result<(), Problem> {
    for c in contacts {
        let Some(address) = c.strip_prefix("mailto:") else {
            return Err(Problem::unsupported_contact(format!("{c:?}: only mailto: contacts are supported.")));
        };
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !address.contains([',', '?', ' '])
        });
        if !valid {
            return Err(Problem::invalid_contact(format!("{c:?} is not a single e-mail address.")));
        }
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAccount {
    #[serde(default)]
    contact: Vec<String>,
    #[serde(default)]
    only_return_existing: bool,
    external_account_binding: Option<Value>,
}

/// `POST /acme/new-account`.
pub async fn new_account(State(state): State<AppState>, post: Post) -> Result<Response, Problem> {
    let signed = verify(&state, post, Signer::Key).await?;
    let req: NewAccount = signed.json()?;
    let thumbprint = signed.jwk.thumbprint();
    let tp = thumbprint.clone();
    if let Some(existing) = state.store(move |s| s.acme().acme_account_by_thumbprint(&tp)).await? {
        if existing.status != AcmeStatus::Valid {
            return Err(Problem::unauthorized(format!("The account is {}.", existing.status)));
        }
        return Ok(respond(&state, &existing, StatusCode::OK));
    }
    if req.only_return_existing {
        return Err(Problem::account_does_not_exist("No account has this key."));
    }
    let eab = req.external_account_binding.ok_or_else(Problem::external_account_required)?;
    let outer_jwk = signed.header.jwk.clone().unwrap_or_default();
    let (eab_id, contract_id) = match check_eab(&state, &eab, &signed.url, &outer_jwk).await {
        Ok(ids) => ids,
        Err(p) => {
            if p.kind == "unauthorized" {
                let event = certkeep_core::lifecycle::AuditEvent {
                    account_id: None,
                    user_id: None,
                    api_key_id: None,
                    action: "acme.eab".into(),
                    object: "POST /acme/new-account".into(),
                    detail: p.detail.clone(),
                    source: signed.source.clone(),
                    at: state.clock.now(),
                    refused: true,
                };
                crate::audit::record(&state, event).await;
            }
            return Err(p);
        }
    };
    check_contacts(&req.contact)?;
    let mut account = AcmeAccount {
        id: 0,
        thumbprint,
        jwk: signed.jwk.to_json().to_string(),
        contract_id,
        eab_id,
        status: AcmeStatus::Valid,
        contacts: req.contact,
        created_at: state.clock.now(),
    };
    let new = account.clone();
    account.id = state.store(move |s| s.acme().create_acme_account(&new)).await?;
    Ok(respond(&state, &account, StatusCode::CREATED))
}

/// Checks an External Account Binding JWS; returns (credential id, contract id).
async fn check_eab(state: &AppState, eab: &Value, url: &str, outer_jwk: &Value) -> Result<(Id, Id), Problem> {
    let jws = Flattened::from_value(eab, "externalAccountBinding")?;
    let header = jws.header()?;
    if header.alg != "HS256" {
        return Err(unsupported_algorithm(format!(
            "External account binding must use HS256, not {:?}.",
            header.alg
        )));
    }
    if header.nonce.is_some() {
        return Err(Problem::malformed("The external account binding JWS must not carry a nonce."));
    }
    if header.url.as_deref() != Some(url) {
        return Err(Problem::malformed("the 'url' field in external account binding differs from outer JWS"));
    }
    let payload: Value = serde_json::from_slice(&jws.payload()?)
        .map_err(|_| Problem::malformed("The external account binding payload is not a JWK."))?;
    if Jwk::parse(&payload).ok() != Jwk::parse(outer_jwk).ok() {
        return Err(Problem::malformed("The external account binding payload is not the account's key."));
    }
    let kid = header.kid.ok_or_else(|| Problem::malformed("The external account binding has no kid."))?;
    let lookup = kid.clone();
    let (credential, contract) = state
        .store(move |s| s.find_eab(&lookup))
        .await?
        .ok_or_else(|| Problem::unauthorized(format!("Unknown external account key id {kid:?}.")))?;
    // A key that does not open (another server key) verifies nothing, like a wrong MAC.
    let hmac_key = open_hmac_key(&state.sealing_key, &credential).unwrap_or_default();
    if hmac_key.is_empty() || !verify_hs256(&hmac_key, &jws.signing_input(), &jws.signature()?) {
        return Err(Problem::unauthorized("The external account binding MAC is wrong."));
    }
    if !credential.active {
        return Err(Problem::unauthorized(format!("External account key {kid:?} has been revoked.")));
    }
    if !contract.is_active(state.clock.now()) {
        return Err(Problem::unauthorized(format!("ACME contract {} is not active.", contract.id)));
    }
    Ok((credential.id, contract.id))
}

#[derive(Debug, Deserialize)]
struct AccountUpdate {
    status: Option<String>,
    contact: Option<Vec<String>>,
}

/// Verifies a request to `/account/{id}...`: signed by that very account.
async fn own_account(state: &AppState, id: Id, post: Post) -> Result<super::request::Signed, Problem> {
    let signed = verify(state, post, Signer::Account).await?;
    if signed.account().id != id {
        return Err(Problem::unauthorized("The request is signed by another account."));
    }
    Ok(signed)
}

/// `POST /acme/account/{id}`: read (POST-as-GET), update contacts or deactivate.
pub async fn account(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let signed = own_account(&state, id, post).await?;
    let mut account = signed.account().clone();
    if signed.is_get() {
        return Ok(respond(&state, &account, StatusCode::OK));
    }
    let update: AccountUpdate = signed.json()?;
    match update.status.as_deref() {
        Some("deactivated") => account.status = AcmeStatus::Deactivated,
        Some(other) => {
            return Err(Problem::malformed(format!(
                "An account can only be deactivated, not set to {other:?}."
            )));
        }
        None => {}
    }
    if let Some(contacts) = update.contact {
        check_contacts(&contacts)?;
        account.contacts = contacts;
    }
    let saved = account.clone();
    state.store(move |s| s.acme().update_acme_account(&saved)).await?;
    Ok(respond(&state, &account, StatusCode::OK))
}

/// Orders per page of the orders list.
pub const ORDERS_PAGE: usize = 100;

/// The order id a page of the orders list starts after: `?cursor=N` (0 without).
fn cursor(query: Option<&str>) -> Result<Id, Problem> {
    let bad = || Problem::malformed("The orders list cursor must be an order id.");
    match form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == "cursor") {
        Some((_, v)) => v.parse().map_err(|_| bad()),
        None => Ok(0),
    }
}

/// `POST /acme/account/{id}/orders[?cursor=N]`: a page of the account's order URLs, oldest
/// first, with `Link: <...?cursor=last>;rel="next"` while more follow (RFC 8555 §7.1.2.1).
pub async fn orders(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    RawQuery(query): RawQuery,
    post: Post,
) -> Result<Response, Problem> {
    own_account(&state, id, post).await?.expect_get()?;
    let after = cursor(query.as_deref())?;
    let mut ids = state.store(move |s| s.acme().acme_order_ids(id, after, ORDERS_PAGE + 1)).await?;
    let more = ids.len() > ORDERS_PAGE;
    ids.truncate(ORDERS_PAGE);
    let urls: Vec<String> = ids.iter().map(|o| url(&state, &format!("/order/{o}"))).collect();
    let mut res = Json(json!({ "orders": urls })).into_response();
    if let (true, Some(last)) = (more, ids.last()) {
        let next = format!("<{}>;rel=\"next\"", url(&state, &format!("/account/{id}/orders?cursor={last}")));
        if let Ok(v) = HeaderValue::from_str(&next) {
            res.headers_mut().append(header::LINK, v);
        }
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyChange {
    account: String,
    old_key: Value,
}

/// `POST /acme/key-change`: the outer JWS is signed by the account, the inner one by the new
/// key, over `{account, oldKey}`.
pub async fn key_change(State(state): State<AppState>, post: Post) -> Result<Response, Problem> {
    let signed = verify(&state, post, Signer::Account).await?;
    let inner_value: Value = signed.json()?;
    let inner = Flattened::from_value(&inner_value, "The key change payload")?;
    let header = inner.header()?;
    if header.kid.is_some() {
        return Err(Problem::malformed("The inner key change JWS must carry a jwk, not a kid."));
    }
    let new_key = Jwk::parse(
        header.jwk.as_ref().ok_or_else(|| Problem::malformed("The inner key change JWS has no jwk."))?,
    )?;
    new_key.verify(&header.alg, &inner.signing_input(), &inner.signature()?)?;
    if header.url.as_deref() != Some(signed.url.as_str()) {
        return Err(Problem::malformed("The inner key change JWS url differs from the outer one."));
    }
    let change: KeyChange = serde_json::from_slice(&inner.payload()?)
        .map_err(|_| Problem::malformed("The key change payload needs account and oldKey."))?;
    let mut account = signed.account().clone();
    if account_id(&state, &change.account) != Some(account.id) {
        return Err(Problem::unauthorized("The key change names another account."));
    }
    if Jwk::parse(&change.old_key)? != signed.jwk {
        return Err(Problem::unauthorized("oldKey is not the account's current key."));
    }
    let thumbprint = new_key.thumbprint();
    let tp = thumbprint.clone();
    if let Some(other) = state.store(move |s| s.acme().acme_account_by_thumbprint(&tp)).await? {
        let mut p = Problem::malformed("The new key is already in use by an account.");
        p.status = StatusCode::CONFLICT;
        let mut res = p.into_response();
        if let Ok(v) = account_url(&state, other.id).parse() {
            res.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(res);
    }
    account.thumbprint = thumbprint;
    account.jwk = new_key.to_json().to_string();
    let saved = account.clone();
    state.store(move |s| s.acme().update_acme_account(&saved)).await?;
    Ok(respond(&state, &account, StatusCode::OK))
}
