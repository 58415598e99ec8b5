//! ACME External Account Binding credentials: `GET /api/v2/acme/accounts`, `POST
//! /api/v2/acme/account` and `POST /api/v2/acme/account/{accountId}/deactivate`. Each NCP "ACME
//! account" is one ACME contract of the account with one EAB credential, so certkeep's ACME
//! server (`/acme/directory`) binds clients with it and issues into the same inventory.

use axum::{Extension, extract::State, http::StatusCode, response::Response};
use certkeep_core::{
    Id, Product, Scope,
    dcv::DomainStatus,
    ncp::NcpAcmeAccount,
    partner::{AcmeContract, encode_hmac_key, new_eab_credential, open_hmac_key, seal_hmac_key},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Duration;

use super::{
    acting::{Body, acting, id_field, parse, required},
    error::{NcpError, Origin, json_response},
    inventory::NcpCaller,
    params::Path,
};
use crate::{AppState, acme::directory_url, wire::ymd_hms_zoned};

/// NCP's documented range of `validityDays` (the certificate lifetime is then capped by the
/// rules in force, `certkeep_core::policy`).
const MAX_VALIDITY_DAYS: i64 = 397;

/// certkeep's product for an EAB `certificateTypeCode`, and NCP's name of the type.
fn product_for(code: &str) -> Result<(&'static Product, &'static str), NcpError> {
    let (name_id, name) = match code {
        "NPD_01" => ("ssl_dv_geotrust", "Advanced DV"),
        "NPO_01" => ("ssl_basic", "Advanced OV"),
        other => {
            return Err(NcpError::invalid_parameter(format!(
                "certificateTypeCode must be NPD_01 or NPO_01, not {other:?}."
            )));
        }
    };
    Ok((Product::find(name_id).ok_or_else(NcpError::unexpected)?, name))
}

fn type_name(contract: &AcmeContract) -> &'static str {
    if contract.product_name_id == "ssl_basic" { "Advanced OV" } else { "Advanced DV" }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    validation_mode: Option<String>,
    certificate_type_code: Option<String>,
    validity_days: Option<Value>,
    alias: Option<String>,
    organization_no: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    return_code: &'static str,
    return_message: &'static str,
    total_rows: u32,
    success: bool,
    message: Option<String>,
    account_id: Id,
    status: &'static str,
    eab_kid: String,
    eab_hmac_key: String,
    acme_directory_url: String,
}

/// Creates an ACME account: a contract for the type whose names are the account's validated
/// domains (each with its `*.` wildcard), valid one year, with one EAB credential, shown once.
pub async fn create(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: CreateBody = parse(&body)?;
    let validation_mode = match required(&b.validation_mode, "validationMode")? {
        m @ ("PRE" | "DNS01") => m.to_owned(),
        other => {
            return Err(NcpError::invalid_parameter(format!(
                "validationMode must be PRE or DNS01, not {other:?}."
            )));
        }
    };
    let (product, _) = product_for(required(&b.certificate_type_code, "certificateTypeCode")?)?;
    let validity_days = id_field(&b.validity_days, "validityDays")?
        .filter(|d| (1..=MAX_VALIDITY_DAYS).contains(d))
        .ok_or_else(|| {
            NcpError::invalid_parameter(format!("validityDays must be from 1 to {MAX_VALIDITY_DAYS}."))
        })? as u32;
    let alias = required(&b.alias, "alias")?.to_owned();
    if alias.chars().count() > 100 {
        return Err(NcpError::invalid_parameter("alias must be at most 100 characters."));
    }
    let organization_id = id_field(&b.organization_no, "organizationNo")?;
    if product.validation.needs_organization() && organization_id.is_none() {
        return Err(NcpError::invalid_parameter("organizationNo is required for NPO_01."));
    }
    let acting = acting(&state, &scope, &caller).await?;
    let now = state.clock.now();
    let (kid, key) = new_eab_credential();
    let stored_kid = kid.clone();
    let sealed = seal_hmac_key(&state.sealing_key, &kid, &key);
    let contract_id = state
        .store(move |s| {
            if let Some(org) = organization_id
                && !s.list_organizations(&scope)?.iter().any(|o| o.id == org)
            {
                return Ok(Err(NcpError::refused("No organization of the account has this organizationNo.")));
            }
            let mut sans = Vec::new();
            for d in s.list_domains(&scope)?.into_iter().filter(|d| d.status(now) == DomainStatus::Validated)
            {
                sans.push(format!("*.{}", d.name));
                sans.push(d.name);
            }
            if sans.is_empty() {
                return Ok(Err(NcpError::refused("Register a domain before creating an ACME account.")));
            }
            let contract = AcmeContract {
                id: 0,
                account_id: scope.account_id,
                container_id: acting.container_id,
                user_id: acting.actor.user_id,
                product_name_id: product.name_id.into(),
                sans,
                organization_id: organization_id.filter(|_| product.validation.needs_organization()),
                auto_renew: false,
                created_at: now,
                valid_till: now + Duration::days(365),
                date_canceled: None,
            };
            // The contract, its credential and NCP's record: all or nothing.
            let account = NcpAcmeAccount {
                contract_id: 0,
                account_id: scope.account_id,
                alias,
                validation_mode,
                validity_days,
            };
            Ok(Ok(s.create_ncp_acme_account(&contract, &stored_kid, &sealed, &account, now)?))
        })
        .await??;
    let body = Created {
        return_code: "0",
        return_message: "Success",
        total_rows: 1,
        success: true,
        message: None,
        account_id: contract_id,
        status: "pending",
        eab_kid: kid,
        eab_hmac_key: encode_hmac_key(&key),
        acme_directory_url: directory_url(&state),
    };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountView {
    account_id: Id,
    status: &'static str,
    member_no: String,
    alias: String,
    validation_mode: String,
    certificate_type_name: &'static str,
    validity_days: u32,
    organization_name: Option<String>,
    created_at: String,
    eab_kid: Option<String>,
    eab_hmac_key: Option<String>,
    eab_active: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Accounts {
    return_code: &'static str,
    return_message: &'static str,
    total_rows: u32,
    success: bool,
    message: Option<String>,
    total_count: usize,
    accounts: Vec<AccountView>,
}

/// The first characters of an HMAC key, the rest masked.
fn masked(key: &str) -> String {
    format!("{}{}", &key[..key.len().min(4)], "*".repeat(key.len().saturating_sub(4)))
}

/// Lists the account's ACME accounts (no paging; `totalRows` is always 0, as NCP documents).
/// `status` is `valid` until deactivated; the HMAC key is masked.
pub async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
) -> Result<Response, NcpError> {
    let account_id = scope.account_id;
    let zone = state.ncp_time_zone;
    let sealing_key = state.sealing_key.clone();
    let accounts = state
        .store(move |s| {
            let organizations = s.list_organizations(&scope)?;
            let mut out = Vec::new();
            for a in s.ncp_acme_accounts(account_id)? {
                let Some(contract) = s.contract(Some(account_id), a.contract_id)? else { continue };
                let credential = s.eab_credentials(contract.id)?.into_iter().next();
                let organization_name = contract
                    .organization_id
                    .and_then(|id| organizations.iter().find(|o| o.id == id))
                    .map(|o| o.name.clone());
                out.push(AccountView {
                    account_id: contract.id,
                    status: if contract.date_canceled.is_some() { "deactivated" } else { "valid" },
                    member_no: account_id.to_string(),
                    alias: a.alias,
                    validation_mode: a.validation_mode,
                    certificate_type_name: type_name(&contract),
                    validity_days: a.validity_days,
                    organization_name,
                    created_at: ymd_hms_zoned(contract.created_at, zone),
                    eab_kid: credential.as_ref().map(|c| c.kid.clone()),
                    eab_hmac_key: credential
                        .as_ref()
                        .and_then(|c| open_hmac_key(&sealing_key, c))
                        .map(|key| masked(&encode_hmac_key(&key))),
                    eab_active: credential.is_some_and(|c| c.active),
                });
            }
            Ok(out)
        })
        .await?;
    let body = Accounts {
        return_code: "0",
        return_message: "Success",
        total_rows: 0,
        success: true,
        message: None,
        total_count: accounts.len(),
        accounts,
    };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Deactivated {
    return_code: &'static str,
    return_message: &'static str,
    success: bool,
    account_id: Id,
    status: &'static str,
}

/// Deactivates an ACME account: its contract is canceled (accounts bound with it can no longer
/// order) and its EAB credential revoked. Another account's, or an unknown one, is `2100`.
pub async fn deactivate(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Result<Response, NcpError> {
    let not_found = || NcpError::refused("No ACME account of the account has this accountId.");
    let id: Id = id.trim().parse().map_err(|_| not_found())?;
    let account_id = scope.account_id;
    let now = state.clock.now();
    let done = state
        .store(move |s| {
            if !s.ncp_acme_accounts(account_id)?.iter().any(|a| a.contract_id == id) {
                return Ok(false);
            }
            let Some(mut contract) = s.contract(Some(account_id), id)? else { return Ok(false) };
            if contract.date_canceled.is_none() {
                contract.date_canceled = Some(now);
                s.update_contract(&contract)?;
            }
            s.revoke_eab_credentials(id, None)?;
            Ok(true)
        })
        .await?;
    if !done {
        return Err(not_found());
    }
    let body = Deactivated {
        return_code: "0",
        return_message: "Success",
        success: true,
        account_id: id,
        status: "deactivated",
    };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}
