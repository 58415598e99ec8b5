//! ACME contracts: the list (in the user's containers, with their EAB key ids, never their HMAC
//! keys), and for administrators who may act, opening a contract and regenerating its EAB
//! credential through the same functions as the Partner API ([`crate::contracts`]). A new HMAC
//! key is shown once, on the answer to the form that made it.

use std::collections::HashMap;

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{Id, PRODUCTS, Product, partner::AcmeContract};
use serde::Serialize;

use super::session::SignedIn;
use super::view::{self, Header};
use crate::{
    AppState,
    audit::Caller,
    contracts::{self, Acting, Draft, Issued, NamesRefusal, VALIDITY_YEARS},
};

#[derive(Serialize)]
struct ContractRow {
    id: Id,
    product: &'static str,
    names: String,
    auto_renew: bool,
    created: String,
    valid_till: String,
    state: &'static str,
    /// Key ids of the credentials that still bind new ACME accounts.
    key_ids: Vec<String>,
    /// How many earlier credentials were revoked.
    revoked: usize,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct ContractsPage {
    header: Header,
    current: &'static str,
    contracts: Vec<ContractRow>,
    /// Whether the user may open contracts and regenerate credentials (the forms are shown).
    administers: bool,
    products: Vec<Choice>,
    organizations: Vec<Choice>,
    years: Vec<u32>,
    error: Option<String>,
}

#[derive(Serialize)]
struct KeyPage {
    header: Header,
    current: &'static str,
    contract: Id,
    created: bool,
    key_id: String,
    hmac_key: String,
    directory: String,
}

fn not_found() -> Response {
    view::refusal(StatusCode::NOT_FOUND, "There is no such ACME contract in what you can see.")
}

/// The contract's state at `now`, in words.
fn state_of(c: &AcmeContract, now: time::OffsetDateTime) -> &'static str {
    match c.date_canceled {
        Some(_) => "canceled",
        None if c.valid_till <= now => "expired",
        None => "active",
    }
}

/// The contracts page at `status`, with `error` above the forms.
async fn render(state: &AppState, signed: &SignedIn, status: StatusCode, error: Option<String>) -> Response {
    let scope = signed.session.scope.clone();
    let found = state
        .store(move |s| {
            let mut out = vec![];
            for c in
                s.contracts(scope.account_id)?.into_iter().filter(|c| scope.allows_container(c.container_id))
            {
                let credentials = s.eab_credentials(c.id)?;
                out.push((c, credentials));
            }
            Ok((out, s.list_organizations(&scope)?))
        })
        .await;
    let (contracts, organizations) = match found {
        Ok(found) => found,
        Err(e) => return view::failure(&e),
    };
    let now = state.clock.now();
    let rows = contracts
        .iter()
        .map(|(c, credentials)| ContractRow {
            id: c.id,
            product: Product::find(&c.product_name_id).map_or("unknown", |p| p.name),
            names: c.sans.join(", "),
            auto_renew: c.auto_renew,
            created: view::date(c.created_at),
            valid_till: view::date(c.valid_till),
            state: state_of(c, now),
            key_ids: credentials.iter().filter(|k| k.active).map(|k| k.kid.clone()).collect(),
            revoked: credentials.iter().filter(|k| !k.active).count(),
        })
        .collect();
    view::page(
        status,
        "contracts.html",
        &ContractsPage {
            header: signed.header(),
            current: "contracts",
            contracts: rows,
            administers: signed.administers(),
            products: PRODUCTS
                .iter()
                .map(|p| Choice { value: p.name_id.to_owned(), label: p.name.to_owned() })
                .collect(),
            organizations: organizations
                .into_iter()
                .map(|o| Choice { value: o.id.to_string(), label: o.name })
                .collect(),
            years: VALIDITY_YEARS.collect(),
            error,
        },
    )
}

/// `GET /console/contracts`.
pub async fn list(State(state): State<AppState>, Extension(signed): Extension<SignedIn>) -> Response {
    render(&state, &signed, StatusCode::OK, None).await
}

/// The page showing a new credential, the only time its HMAC key is shown.
fn key_page(state: &AppState, signed: &SignedIn, contract: Id, created: bool, issued: Issued) -> Response {
    view::page(
        if created { StatusCode::CREATED } else { StatusCode::OK },
        "contract_key.html",
        &KeyPage {
            header: signed.header(),
            current: "contracts",
            contract,
            created,
            key_id: issued.key_id,
            hmac_key: issued.hmac_key,
            directory: crate::acme::directory_url(state),
        },
    )
}

/// Who acts from the console, as the audit log records them.
fn acting(signed: &SignedIn) -> Acting {
    Acting {
        caller: Caller {
            account_id: Some(signed.session.scope.account_id),
            user_id: Some(signed.session.user_id),
            api_key_id: None,
        },
        source: signed.actor.source.clone(),
    }
}

/// The refusal of a form from a user who does not administer the account.
fn not_administrator() -> Response {
    view::refusal(StatusCode::FORBIDDEN, "ACME contracts are opened and changed by administrators.")
}

/// The form's terms of a new contract, or why they are refused, in words.
fn draft(state: &AppState, signed: &SignedIn, form: &HashMap<String, String>) -> Result<Draft, String> {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or_default();
    let product = Product::find(field("product")).ok_or("Choose a product.")?;
    let list: Vec<String> = field("names")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let sans = contracts::names(state, product, &list).map_err(|refusal| match refusal {
        NamesRefusal::None => "Enter at least one name.".to_owned(),
        NamesRefusal::Name(refusal) => format!("{refusal}."),
    })?;
    let years =
        field("years").parse::<u32>().ok().filter(|y| VALIDITY_YEARS.contains(y)).ok_or_else(|| {
            format!("The term is from {} to {} years.", VALIDITY_YEARS.start(), VALIDITY_YEARS.end())
        })?;
    let organization_id = match (product.validation.needs_organization(), field("organization")) {
        (false, _) => None,
        (true, "") => return Err(format!("{} needs an organization.", product.name)),
        (true, id) => Some(id.parse::<Id>().map_err(|_| "Choose an organization.")?),
    };
    Ok(Draft {
        account_id: signed.session.scope.account_id,
        container_id: signed.session.container_id,
        user_id: signed.session.user_id,
        product,
        sans,
        organization_id,
        auto_renew: field("auto_renew") == "on",
        years,
    })
}

/// `POST /console/contracts` (`product`, `names`, `years`, `organization`, `auto_renew`): opens
/// a contract in the user's container, placing its orders as the user, and shows its first
/// EAB credential.
pub async fn create(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    body: axum::body::Bytes,
) -> Response {
    if !signed.administers() {
        return not_administrator();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let draft = match draft(&state, &signed, &form) {
        Ok(d) => d,
        Err(message) => return render(&state, &signed, StatusCode::BAD_REQUEST, Some(message)).await,
    };
    let (scope, acting, now) = (signed.session.scope.clone(), acting(&signed), state.clock.now());
    let sealing_key = state.sealing_key.clone();
    let opened = state
        .store(move |s| {
            if let Some(org) = draft.organization_id
                && !s.list_organizations(&scope)?.iter().any(|o| o.id == org)
            {
                return Ok(None);
            }
            contracts::open(s, &sealing_key, draft, &acting, now).map(Some)
        })
        .await;
    match opened {
        Ok(Some((contract, issued))) => key_page(&state, &signed, contract.id, true, issued),
        Ok(None) => {
            let message = "There is no such organization in what you can see.".to_owned();
            render(&state, &signed, StatusCode::BAD_REQUEST, Some(message)).await
        }
        Err(e) => view::failure(&e),
    }
}

/// `POST /console/contracts/{contract}/regenerate` (`keep_earlier`): a new EAB credential for
/// a contract in the user's containers; the earlier ones are revoked unless kept.
pub async fn regenerate(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(id) = raw.parse::<Id>() else { return not_found() };
    if !signed.administers() {
        return not_administrator();
    }
    let keep_earlier = form_urlencoded::parse(&body).any(|(k, v)| k == "keep_earlier" && v == "on");
    let (scope, acting, now) = (signed.session.scope.clone(), acting(&signed), state.clock.now());
    let sealing_key = state.sealing_key.clone();
    let done = state
        .store(move |s| {
            let Some(contract) =
                s.contract(Some(scope.account_id), id)?.filter(|c| scope.allows_container(c.container_id))
            else {
                return Ok(None);
            };
            if contract.date_canceled.is_some() {
                return Ok(Some(None));
            }
            contracts::regenerate(s, &sealing_key, &contract, keep_earlier, &acting, now)
                .map(|i| Some(Some(i)))
        })
        .await;
    match done {
        Ok(Some(Some(issued))) => key_page(&state, &signed, id, false, issued),
        Ok(Some(None)) => {
            let message = format!("Contract {id} is canceled: it takes no new credentials.");
            render(&state, &signed, StatusCode::CONFLICT, Some(message)).await
        }
        Ok(None) => not_found(),
        Err(e) => view::failure(&e),
    }
}
