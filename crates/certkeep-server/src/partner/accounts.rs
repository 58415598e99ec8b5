//! Parent-account operations: creating subaccounts and reporting on their contracts.

use axum::{Extension, extract::State, http::StatusCode, response::Response};
use certkeep_core::{
    AccessRole, ApiKeyRole, Contact, Id, NewApiKey, NewUser,
    credentials::{generate_api_key, hash_api_key},
    partner::PartnerPrincipal,
};
use serde::{Deserialize, Serialize};

use super::{contracts::ContractView, require_parent};
use crate::digicert::Body;
use crate::{
    AppState,
    digicert::{ApiError, json_response},
};

#[derive(Deserialize)]
struct NewSubaccount {
    #[serde(alias = "account_name", alias = "company_name")]
    name: Option<String>,
    #[serde(alias = "admin_email")]
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Serialize)]
struct CreatedSubaccount {
    account_id: Id,
    name: String,
    /// The subaccount's Partner Subscriptions API key (shown once).
    api_key: String,
    /// A CertCentral Services API key of the subaccount's administrator (shown once).
    certcentral_api_key: String,
}

/// `POST /account/subaccount` (parent key): 201 with the new subaccount's keys.
pub async fn create_subaccount(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    require_parent(&principal)?;
    let b: NewSubaccount = crate::digicert::parse(&bytes)?;
    let name = b.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| ApiError::missing("name"))?;
    let email = b
        .email
        .unwrap_or_else(|| format!("admin@subaccount-{}.invalid", generate_api_key()[..8].to_lowercase()));
    let contact = Contact {
        first_name: b.first_name.unwrap_or_else(|| "Admin".into()),
        last_name: b.last_name.unwrap_or_else(|| name.clone()),
        email: email.clone(),
        ..Contact::default()
    };
    let now = state.clock.now();
    let (partner_key, cc_key) = (generate_api_key(), generate_api_key());
    let (partner_hash, cc_hash) = (hash_api_key(&partner_key), hash_api_key(&cc_key));
    let parent = principal.account_id;
    let account_name = name.clone();
    let account_id = state
        .store(move |s| {
            let (account_id, root) = s.create_account(&account_name, now)?;
            s.link_subaccount(parent, account_id)?;
            let user_id = s.create_user(
                &NewUser {
                    account_id,
                    container_id: root,
                    username: format!("{email}#{account_id}"),
                    contact,
                    access_role: AccessRole::Administrator,
                },
                now,
            )?;
            s.create_api_key(
                &NewApiKey { user_id, name: "partner".into(), role: ApiKeyRole::Inherit, key_hash: cc_hash },
                now,
            )?;
            s.create_partner_key(account_id, &partner_hash, now)?;
            Ok(account_id)
        })
        .await?;
    let body = CreatedSubaccount { account_id, name, api_key: partner_key, certcentral_api_key: cc_key };
    Ok(json_response(StatusCode::CREATED, &body))
}

#[derive(Serialize)]
struct AccountReport {
    account_id: Id,
    name: String,
    acme: Vec<ContractView>,
}

#[derive(Serialize)]
struct Reporting {
    accounts: Vec<AccountReport>,
}

/// `GET /account/reporting` (parent key): every subaccount with its contracts.
pub async fn reporting(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
) -> Result<Response, ApiError> {
    require_parent(&principal)?;
    let parent = principal.account_id;
    let report = state
        .store(move |s| {
            s.subaccounts(parent)?
                .into_iter()
                .map(|a| Ok((a.clone(), s.contracts(a.id)?)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let accounts = report
        .into_iter()
        .map(|(a, contracts)| AccountReport {
            account_id: a.id,
            name: a.name,
            acme: contracts.iter().map(ContractView::from).collect(),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Reporting { accounts }))
}
