//! Orders (RFC 8555 §7.4): newOrder within the account's contract, reading orders and
//! authorizations, finalization through the inventory lifecycle, certificate download.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    CertificateRecord, Id, Product, Scope,
    acme::{AcmeAccount, AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus},
    lifecycle::{Actor, CertificateRef, DomainPolicy, Lifecycle, LifecycleError, OrderRequest},
    names,
    partner::AcmeContract,
    policy,
    refusal::{Object, Refusal},
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use super::request::Path;
use super::{
    challenge,
    jws::{b64, unb64},
    problem::Problem,
    request::{Post, Signed, Signer, verify},
    url,
};
use crate::AppState;

/// How long orders and authorizations stay usable.
const LIFETIME: Duration = Duration::days(7);

/// RFC 3339 time as ACME objects carry it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn order_url(state: &AppState, id: Id) -> String {
    url(state, &format!("/order/{id}"))
}

fn order_json(state: &AppState, o: &AcmeOrder) -> Value {
    let mut v = json!({
        "status": o.status.as_str(),
        "expires": rfc3339(o.expires),
        "identifiers": o.identifiers.iter().map(|n| json!({"type": "dns", "value": n})).collect::<Vec<_>>(),
        "authorizations": o.authz_ids.iter().map(|a| url(state, &format!("/authz/{a}"))).collect::<Vec<_>>(),
        "finalize": url(state, &format!("/order/{}/finalize", o.id)),
    });
    if o.certificate_id.is_some() {
        v["certificate"] = json!(url(state, &format!("/certificate/{}", o.id)));
    }
    if let Some(e) = o.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()) {
        v["error"] = e;
    }
    v
}

/// How long clients should wait before polling an object that is `processing` (seconds).
pub const RETRY_AFTER: &str = "1";

fn respond(state: &AppState, o: &AcmeOrder, status: StatusCode) -> Response {
    let mut res =
        (status, [(header::LOCATION, order_url(state, o.id))], Json(order_json(state, o))).into_response();
    if o.status == AcmeStatus::Processing {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    }
    res
}

/// The contract an account is bound to.
pub async fn contract_of(state: &AppState, account: &AcmeAccount) -> Result<AcmeContract, Problem> {
    let id = account.contract_id;
    state
        .store(move |s| s.contract(None, id))
        .await?
        .ok_or_else(|| Problem::internal("The account's contract is missing."))
}

#[derive(Debug, Deserialize)]
struct Identifier {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewOrder {
    identifiers: Vec<Identifier>,
    not_before: Option<String>,
    not_after: Option<String>,
}

fn token() -> Result<String, Problem> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| Problem::internal("The random generator failed."))?;
    Ok(b64(&raw))
}

/// Checks the requested identifiers against the contract and the product's rules; returns
/// them normalised.
fn allowed_names(
    state: &AppState,
    contract: &AcmeContract,
    product: &Product,
    ids: &[Identifier],
) -> Result<Vec<String>, Problem> {
    if ids.is_empty() {
        return Err(Problem::malformed("An order needs at least one identifier."));
    }
    let too_many = || {
        Problem::rejected_identifier(format!(
            "Product {} covers at most {} names.",
            product.name_id,
            product.max_dns_names + 1
        ))
    };
    // Counted before any name is examined; distinct names counted again below.
    if ids.len() > 2 * (product.max_dns_names as usize + 1) {
        return Err(too_many());
    }
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if id.kind != "dns" {
            return Err(Problem::unsupported_identifier(format!(
                "Identifier type {:?} is not supported.",
                id.kind
            )));
        }
        let name = names::normalize(&id.value)
            .map_err(|_| Problem::rejected_identifier(format!("{:?} is not a valid DNS name.", id.value)))?;
        if names::is_wildcard(&name) && !product.allows_wildcard {
            return Err(Problem::rejected_identifier(format!(
                "{name}: product {} does not allow wildcard names.",
                product.name_id
            )));
        }
        if product.is_public() {
            policy::check_public_name(&name, state.issuance.test_names)
                .map_err(|refusal| Problem::rejected_identifier(format!("{refusal}.")))?;
        }
        if !contract.allows(&name) {
            return Err(Problem::rejected_identifier(format!(
                "{name} is not among the names of ACME contract {} ({}).",
                contract.id,
                contract.sans.join(", ")
            )));
        }
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    if out.len() > product.max_dns_names as usize + 1 {
        return Err(too_many());
    }
    Ok(out)
}

/// A valid authorization of the account for `name` that a new order may reuse (like Boulder:
/// proving control again within its lifetime adds nothing).
async fn reusable(state: &AppState, account_id: Id, name: &str) -> Result<Option<AcmeAuthz>, Problem> {
    let (identifier, wildcard) = (bare(name).to_owned(), names::is_wildcard(name));
    let now = state.clock.now();
    Ok(state.store(move |s| s.acme().reusable_acme_authz(account_id, &identifier, wildcard, now)).await?)
}

/// A name without its wildcard label.
fn bare(name: &str) -> &str {
    name.strip_prefix("*.").unwrap_or(name)
}

/// A fresh pending authorization for `name` with its challenges.
fn new_authz(account_id: Id, name: &str, expires: OffsetDateTime) -> Result<AcmeAuthz, Problem> {
    let wildcard = names::is_wildcard(name);
    // RFC 8737 §3: tls-alpn-01 cannot prove control of a wildcard.
    let kinds: &[&str] = if wildcard { &["dns-01"] } else { &["http-01", "dns-01", "tls-alpn-01"] };
    let mut challenges = Vec::new();
    for kind in kinds {
        challenges.push(AcmeChallenge {
            id: 0,
            authz_id: 0,
            kind: (*kind).into(),
            token: token()?,
            status: AcmeStatus::Pending,
            validated: None,
            error: None,
        });
    }
    Ok(AcmeAuthz {
        id: 0,
        order_id: 0,
        account_id,
        identifier: bare(name).to_owned(),
        wildcard,
        status: AcmeStatus::Pending,
        expires,
        challenges,
    })
}

/// `POST /acme/new-order`.
pub async fn new_order(State(state): State<AppState>, post: Post) -> Result<Response, Problem> {
    let signed = verify(&state, post, Signer::Account).await?;
    let req: NewOrder = signed.json()?;
    if req.not_before.is_some() || req.not_after.is_some() {
        return Err(Problem::malformed(
            "notBefore and notAfter are not supported: validity comes from the contract.",
        ));
    }
    let account = signed.account().clone();
    let contract = contract_of(&state, &account).await?;
    let now = state.clock.now();
    if !contract.is_active(now) {
        return Err(Problem::unauthorized(format!("ACME contract {} is not active.", contract.id)));
    }
    let product = Product::find(&contract.product_name_id)
        .ok_or_else(|| Problem::internal("The contract's product is unknown."))?;
    let identifiers = allowed_names(&state, &contract, product, &req.identifiers)?;
    let mut expires = now + LIFETIME;
    let mut authzs = Vec::new();
    for name in &identifiers {
        let authz = match reusable(&state, account.id, name).await? {
            Some(valid) => valid,
            None => new_authz(account.id, name, now + LIFETIME)?,
        };
        // An order cannot outlive its authorizations (as Boulder does).
        expires = expires.min(authz.expires);
        authzs.push(authz);
    }
    let order = AcmeOrder {
        id: 0,
        account_id: account.id,
        status: AcmeStatus::Pending,
        expires,
        identifiers,
        authz_ids: vec![],
        error: None,
        inventory_order_id: None,
        certificate_id: None,
        certificate_serial: None,
        created_at: now,
    };
    let id = state.store(move |s| s.acme().create_acme_order(&order, &authzs)).await?;
    let order = refresh(&state, load_order(&state, id).await?).await?;
    Ok(respond(&state, &order, StatusCode::CREATED))
}

async fn load_order(state: &AppState, id: Id) -> Result<AcmeOrder, Problem> {
    state.store(move |s| s.acme().acme_order(id)).await?.ok_or_else(|| Problem::not_found("order"))
}

/// An order of the signing account, its status brought up to date (§7.1.6): `pending` becomes
/// `ready` once every authorization is valid, `invalid` when one is invalid or the order expired.
pub async fn owned_order(state: &AppState, signed: &Signed, id: Id) -> Result<AcmeOrder, Problem> {
    let order = load_order(state, id).await?;
    if order.account_id != signed.account().id {
        return Err(Problem::unauthorized("The order belongs to another account."));
    }
    refresh(state, order).await
}

/// Brings a pending or ready order's status up to date with its authorizations.
pub async fn refresh(state: &AppState, mut order: AcmeOrder) -> Result<AcmeOrder, Problem> {
    if !matches!(order.status, AcmeStatus::Pending | AcmeStatus::Ready) {
        return Ok(order);
    }
    let next = if order.expires <= state.clock.now() {
        AcmeStatus::Invalid
    } else {
        let mut statuses = Vec::new();
        for &a in &order.authz_ids {
            let authz = state.store(move |s| s.acme().acme_authz(a)).await?;
            statuses.push(authz.map_or(AcmeStatus::Invalid, |a| a.status));
        }
        if statuses.iter().all(|s| *s == AcmeStatus::Valid) {
            AcmeStatus::Ready
        } else if statuses.iter().any(|s| *s != AcmeStatus::Pending && *s != AcmeStatus::Valid) {
            AcmeStatus::Invalid
        } else {
            AcmeStatus::Pending
        }
    };
    if next != order.status {
        let (id, from) = (order.id, order.status);
        if state.store(move |s| s.acme().transition_acme_order(id, from, next)).await? {
            order.status = next;
        } else {
            return load_order(state, id).await;
        }
    }
    Ok(order)
}

/// A POST-as-GET of one of the signing account's orders.
async fn read_order(state: &AppState, id: Id, post: Post) -> Result<(Signed, AcmeOrder), Problem> {
    let signed = verify(state, post, Signer::Account).await?;
    signed.expect_get()?;
    let order = owned_order(state, &signed, id).await?;
    Ok((signed, order))
}

/// `POST /acme/order/{id}` (POST-as-GET).
pub async fn order(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (_, order) = read_order(&state, id, post).await?;
    Ok(respond(&state, &order, StatusCode::OK))
}

#[derive(Debug, Deserialize)]
struct Finalize {
    csr: String,
}

/// Parses the CSR and checks that it names exactly the order's identifiers.
fn check_csr(csr_b64: &str, order: &AcmeOrder) -> Result<certkeep_ca::Csr, Problem> {
    let der = unb64(csr_b64, "csr").map_err(|_| Problem::bad_csr("The CSR is not base64url DER."))?;
    let standard = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let csr = certkeep_ca::parse_csr(&standard)
        .map_err(|e| Problem::bad_csr(format!("The CSR is not valid: {e}.")))?;
    let mut requested: Vec<String> = Vec::new();
    for name in csr.common_name.iter().chain(&csr.dns_names) {
        let n = names::normalize(name)
            .map_err(|_| Problem::bad_csr(format!("The CSR names {name:?}, not a DNS name.")))?;
        if !requested.contains(&n) {
            requested.push(n);
        }
    }
    let mut wanted = order.identifiers.clone();
    wanted.sort();
    requested.sort();
    if requested != wanted {
        return Err(Problem::bad_csr(format!(
            "The CSR names {} but the order is for {}.",
            requested.join(", "),
            wanted.join(", ")
        )));
    }
    Ok(csr)
}

/// The problem a refused finalize records on the order (RFC 8555 §6.7): a name the product's
/// rules refuse is `rejectedIdentifier` (the server will not issue for it), a finalize that
/// lost the race is `orderNotReady`, and anything else the inventory or the CA refuses is
/// `badCSR` (the CSR is what the client can change).
fn lifecycle_problem(e: LifecycleError) -> Problem {
    let detail = format!("The certificate could not be issued: {}.", e.to_string().trim_end_matches('.'));
    match e {
        LifecycleError::Store(e) => Problem::from(e),
        LifecycleError::Refused(Refusal::Name { .. } | Refusal::NameNotOnOrder(_)) => {
            Problem::rejected_identifier(detail)
        }
        LifecycleError::Refused(Refusal::AcmeOrderNotReady) => Problem::order_not_ready(detail),
        _ => Problem::bad_csr(detail),
    }
}

/// `POST /acme/order/{id}/finalize`: issues through the inventory lifecycle at once. The
/// inventory order and the ACME order's move to `valid` commit in one transaction, so a crash
/// leaves the order either `valid` with its certificate or still `ready` to finalize again.
pub async fn finalize(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let signed = verify(&state, post, Signer::Account).await?;
    let order = owned_order(&state, &signed, id).await?;
    if order.status != AcmeStatus::Ready {
        return Err(Problem::order_not_ready(format!("The order is {}, not ready.", order.status)));
    }
    let req: Finalize = signed.json()?;
    let csr = check_csr(&req.csr, &order)?;
    let contract = contract_of(&state, signed.account()).await?;
    if Product::find(&contract.product_name_id).is_none_or(Product::is_public) {
        csr.public_key
            .check_public_tls()
            .map_err(|e| Problem::bad_public_key(format!("The CSR's key is not allowed: {e}.")))?;
    }
    match issue(&state, (&contract, &signed.source), &order, &csr).await {
        Ok(()) => {}
        // The store failed: nothing was issued and the order stays ready for another try.
        Err(LifecycleError::Store(e)) => return Err(e.into()),
        Err(refused) => {
            let error = lifecycle_problem(refused).to_json().to_string();
            if !state.store(move |s| s.acme().invalidate_acme_order(id, &error)).await? {
                // A concurrent finalize won the race; this one issued nothing.
                return Err(Problem::order_not_ready("The order is already being finalized."));
            }
        }
    }
    let order = load_order(&state, id).await?;
    Ok(respond(&state, &order, StatusCode::OK))
}

/// The actor of everything done over ACME: the contract's user, through the directory URL as
/// an `acme_url` key, from the client's address. The contract is the authorisation, so approval
/// is skipped.
pub fn actor(state: &AppState, contract: &AcmeContract, source: &str) -> Actor {
    Actor {
        user_id: contract.user_id,
        api_key_id: None,
        api_key: Some((super::directory_url(state), "acme_url".into())),
        may_skip_approval: true,
        source: source.to_owned(),
    }
}

/// The scope of a contract's orders.
pub fn scope(contract: &AcmeContract) -> Scope {
    Scope { account_id: contract.account_id, containers: None }
}

/// Places and issues the inventory order, turning the ACME order `valid` in the same
/// transaction.
async fn issue(
    state: &AppState,
    (contract, source): (&AcmeContract, &str),
    order: &AcmeOrder,
    csr: &certkeep_ca::Csr,
) -> Result<(), LifecycleError> {
    let product =
        Product::find(&contract.product_name_id).ok_or(LifecycleError::NotFound(Object::Product))?;
    let common_name = csr
        .common_name
        .as_deref()
        .and_then(|cn| names::normalize(cn).ok())
        .unwrap_or_else(|| order.identifiers[0].clone());
    let names = (common_name, order.identifiers.clone());
    let request = OrderRequest {
        organization_id: contract.organization_id,
        comments: Some(format!("ACME order {}", order.id)),
        acme_contract_id: Some(contract.id),
        acme_order_id: Some(order.id),
        ..OrderRequest::automated(
            product,
            contract.container_id,
            names,
            (csr.pem.clone(), csr.public_key.key_size()),
        )
    };
    let (scope, actor) = (scope(contract), actor(state, contract, source));
    state
        .lifecycle(move |l| {
            // The challenges proved control of every name, so the account's validated-domain
            // list (DomainPolicy::Validated) does not apply to ACME placements.
            let acme = Lifecycle { domains: DomainPolicy::TrustAll, ..*l };
            acme.place_order(&scope, &actor, &request).map(drop)
        })
        .await
}

/// A certificate of a contract's orders, with its DER once issued.
pub async fn contract_certificate(
    state: &AppState,
    contract: &AcmeContract,
    certificate_id: Id,
) -> Result<(CertificateRecord, Option<Vec<u8>>), Problem> {
    let scope = scope(contract);
    state
        .store(move |s| s.find_certificate(&scope, &CertificateRef::Id(certificate_id)))
        .await?
        .ok_or_else(|| Problem::not_found("certificate"))
}

/// The contract of an order that issued a certificate, and that certificate (revoke, ARI).
pub async fn issued_by(
    state: &AppState,
    order: &AcmeOrder,
) -> Result<(AcmeContract, CertificateRecord, Option<Vec<u8>>), Problem> {
    let owner_id = order.account_id;
    let owner = state
        .store(move |s| s.acme().acme_account(owner_id))
        .await?
        .ok_or_else(|| Problem::internal("The order's account is missing."))?;
    let contract = contract_of(state, &owner).await?;
    let cert_id = order.certificate_id.ok_or_else(|| Problem::not_found("certificate"))?;
    let (record, der) = contract_certificate(state, &contract, cert_id).await?;
    Ok((contract, record, der))
}

/// `POST /acme/certificate/{order id}`: leaf and intermediate, PEM (§7.4.2). certkeep has one
/// chain, so no `Link: rel="alternate"` is sent.
pub async fn certificate(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (signed, order) = read_order(&state, id, post).await?;
    let cert_id = order.certificate_id.ok_or_else(|| Problem::not_found("certificate"))?;
    let contract = contract_of(&state, signed.account()).await?;
    let (_, der) = contract_certificate(&state, &contract, cert_id).await?;
    let der = der.ok_or_else(|| Problem::not_found("certificate"))?;
    let mut pem = certkeep_ca::certificate_pem(&der);
    pem.push_str(state.authority.chain()[0].1);
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], pem).into_response())
}

/// An authorization as JSON.
pub fn authz_json(state: &AppState, a: &AcmeAuthz) -> Value {
    let mut v = json!({
        "identifier": {"type": "dns", "value": a.identifier},
        "status": a.status.as_str(),
        "expires": rfc3339(a.expires),
        "challenges": a.challenges.iter().map(|c| challenge::challenge_json(state, c)).collect::<Vec<_>>(),
    });
    if a.wildcard {
        v["wildcard"] = json!(true);
    }
    v
}

#[derive(Debug, Deserialize)]
struct AuthzUpdate {
    status: String,
}

/// `POST /acme/authz/{id}`: read (POST-as-GET) or deactivate (§7.5.2).
pub async fn authorization(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let signed = verify(&state, post, Signer::Account).await?;
    let mut authz = owned_authz(&state, &signed, id).await?;
    if !signed.is_get() {
        let update: AuthzUpdate = signed.json()?;
        if update.status != "deactivated" {
            return Err(Problem::malformed("An authorization can only be deactivated."));
        }
        if !matches!(authz.status, AcmeStatus::Pending | AcmeStatus::Valid) {
            return Err(Problem::malformed(format!("The authorization is {}.", authz.status)));
        }
        state.store(move |s| s.acme().set_acme_authz_status(id, AcmeStatus::Deactivated)).await?;
        authz.status = AcmeStatus::Deactivated;
    }
    Ok(Json(authz_json(&state, &authz)).into_response())
}

/// An authorization of the signing account.
pub async fn owned_authz(state: &AppState, signed: &Signed, id: Id) -> Result<AcmeAuthz, Problem> {
    let mut authz = state
        .store(move |s| s.acme().acme_authz(id))
        .await?
        .ok_or_else(|| Problem::not_found("authorization"))?;
    if authz.account_id != signed.account().id {
        return Err(Problem::unauthorized("The authorization belongs to another account."));
    }
    if authz.status == AcmeStatus::Pending && authz.expires <= state.clock.now() {
        state.store(move |s| s.acme().set_acme_authz_status(id, AcmeStatus::Expired)).await?;
        authz.status = AcmeStatus::Expired;
    }
    Ok(authz)
}
