//! Orders (RFC 8555 §7.4): newOrder within the account's contract, reading orders and
//! authorizations, finalization through the inventory lifecycle, certificate download.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    CertificateRecord, Id, Product, Scope, StoreResult,
    acme::{AcmeAccount, AcmeOrder, AcmeStatus, AcmeTx, rules, steps, transaction},
    lifecycle::{
        Actor, CertificateRef, DomainPolicy, Lifecycle, LifecycleError, OrderRequest, Placed, VerifiedCsr,
    },
    names,
    partner::AcmeContract,
    policy,
    refusal::{Object, Refusal},
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::request::Path;
use super::{
    jws::unb64,
    objects::order_response,
    problem::Problem,
    request::{Post, Signed, verify_for_account},
};
use crate::AppState;

/// The contract an account is bound to.
pub async fn contract_of(state: &AppState, account: &AcmeAccount) -> Result<AcmeContract, Problem> {
    let id = account.contract_id;
    known_contract(state.store(move |s| s.contract(None, id)).await?)
}

/// The account's contract, which must exist.
fn known_contract(contract: Option<AcmeContract>) -> Result<AcmeContract, Problem> {
    contract.ok_or_else(|| Problem::internal("The account's contract is missing."))
}

/// Reads, for the signing account, one of its orders (its status up to date, see
/// [`steps::order`]) and its contract.
fn order_and_contract(
    tx: &mut dyn AcmeTx,
    account: &AcmeAccount,
    id: Id,
    now: OffsetDateTime,
) -> StoreResult<(Option<AcmeOrder>, Option<AcmeContract>)> {
    Ok((steps::order(tx, account.id, id, now)?, tx.contract(account.contract_id)?))
}

/// An order of the signing account, or why not.
fn owned(order: Option<AcmeOrder>, signed: &Signed) -> Result<AcmeOrder, Problem> {
    let order = order.ok_or_else(|| Problem::not_found("order"))?;
    if order.account_id != signed.account().id {
        return Err(Problem::unauthorized("The order belongs to another account."));
    }
    Ok(order)
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

/// `POST /acme/new-order`: the names checked against the contract, then the order placed in
/// one write ([`steps::new_order`]).
pub async fn new_order(State(state): State<AppState>, post: Post) -> Result<Response, Problem> {
    let (signed, contract) = verify_for_account(&state, post, |tx, a, _| tx.contract(a.contract_id)).await?;
    let req: NewOrder = signed.json()?;
    if req.not_before.is_some() || req.not_after.is_some() {
        return Err(Problem::malformed(
            "notBefore and notAfter are not supported: validity comes from the contract.",
        ));
    }
    let contract = known_contract(contract)?;
    let now = state.clock.now();
    if !contract.is_active(now) {
        return Err(Problem::unauthorized(format!("ACME contract {} is not active.", contract.id)));
    }
    let product = Product::find(&contract.product_name_id)
        .ok_or_else(|| Problem::internal("The contract's product is unknown."))?;
    let identifiers = allowed_names(&state, &contract, product, &req.identifiers)?;
    let account_id = signed.account().id;
    let order = state
        .store(move |s| transaction(s.acme(), |tx| steps::new_order(tx, account_id, &identifiers, now)))
        .await?;
    Ok(order_response(&state, &order, StatusCode::CREATED))
}

/// `POST /acme/order/{id}` (POST-as-GET).
pub async fn order(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (signed, found) =
        verify_for_account(&state, post, move |tx, a, now| steps::order(tx, a.id, id, now)).await?;
    signed.expect_get()?;
    Ok(order_response(&state, &owned(found, &signed)?, StatusCode::OK))
}

#[derive(Debug, Deserialize)]
struct Finalize {
    csr: String,
}

/// Parses the CSR and checks that it names exactly the order's identifiers.
fn check_csr(csr_b64: &str, order: &AcmeOrder) -> Result<certkeep_ca::Csr, Problem> {
    let der = unb64(csr_b64, "csr").map_err(|_| Problem::bad_csr("The CSR is not base64url DER."))?;
    let csr = certkeep_ca::parse_csr_der(&der)
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

/// `POST /acme/order/{id}/finalize`: issues through the inventory lifecycle at once, in two
/// store calls: the read (nonce, account, order, contract) and the issuing transaction, in
/// which the inventory order and the ACME order's move to `valid` commit together, so a crash
/// leaves the order either `valid` with its certificate or still `ready` to finalize again.
pub async fn finalize(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (signed, (order, contract)) =
        verify_for_account(&state, post, move |tx, a, now| order_and_contract(tx, a, id, now)).await?;
    let mut order = owned(order, &signed)?;
    if !rules::may_finalize(order.status) {
        return Err(Problem::order_not_ready(format!("The order is {}, not ready.", order.status)));
    }
    let req: Finalize = signed.json()?;
    let csr = check_csr(&req.csr, &order)?;
    let contract = known_contract(contract)?;
    if Product::find(&contract.product_name_id).is_none_or(Product::is_public) {
        csr.public_key
            .check_public_tls()
            .map_err(|e| Problem::bad_public_key(format!("The CSR's key is not allowed: {e}.")))?;
    }
    match issue(&state, (&contract, &signed.source), &order, &csr).await {
        Ok(placed) => {
            order.status = AcmeStatus::Valid;
            order.inventory_order_id = Some(placed.order_id);
            order.certificate_id = Some(placed.certificate_id);
        }
        // The store failed: nothing was issued and the order stays ready for another try.
        Err(LifecycleError::Store(e)) => return Err(e.into()),
        Err(refused) => {
            let error = lifecycle_problem(refused).to_json().to_string();
            let recorded = error.clone();
            let invalidated =
                state.store(move |s| transaction(s.acme(), |tx| tx.invalidate_order(id, &recorded))).await?;
            if !invalidated {
                // A concurrent finalize won the race; this one issued nothing.
                return Err(Problem::order_not_ready("The order is already being finalized."));
            }
            order.status = AcmeStatus::Invalid;
            order.error = Some(error);
        }
    }
    Ok(order_response(&state, &order, StatusCode::OK))
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
) -> Result<Placed, LifecycleError> {
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
            VerifiedCsr {
                pem: csr.pem.clone(),
                key_size: csr.public_key.key_size(),
                spki_der: Some(csr.public_key.spki_der().to_vec()),
            },
        )
    };
    let (scope, actor) = (scope(contract), actor(state, contract, source));
    state
        .lifecycle(move |l| {
            // The challenges proved control of every name, so the account's validated-domain
            // list (DomainPolicy::Validated) does not apply to ACME placements.
            let acme = Lifecycle { domains: DomainPolicy::TrustAll, ..*l };
            acme.place_order(&scope, &actor, &request)
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

/// `POST /acme/certificate/{order id}`: leaf and intermediate, PEM (§7.4.2), read with the
/// order in one store call. certkeep has one chain, so no `Link: rel="alternate"` is sent.
pub async fn certificate(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    post: Post,
) -> Result<Response, Problem> {
    let (signed, ((order, contract), issued)) = verify_for_account(&state, post, move |tx, a, now| {
        let (order, contract) = order_and_contract(tx, a, id, now)?;
        let issued = match (&order, &contract) {
            (Some(o), Some(c)) if o.account_id == a.id => match o.certificate_id {
                Some(cert_id) => tx.certificate(&scope(c), cert_id)?,
                None => None,
            },
            _ => None,
        };
        Ok(((order, contract), issued))
    })
    .await?;
    signed.expect_get()?;
    let order = owned(order, &signed)?;
    order.certificate_id.ok_or_else(|| Problem::not_found("certificate"))?;
    known_contract(contract)?;
    let (_, der) = issued.ok_or_else(|| Problem::not_found("certificate"))?;
    let der = der.ok_or_else(|| Problem::not_found("certificate"))?;
    let mut pem = certkeep_ca::certificate_pem(&der);
    pem.push_str(state.authority.chain()[0].1);
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], pem).into_response())
}
