//! CertCentral's webhooks API (`/webhook`): one webhook per account, registered pending,
//! proven with a challenge token posted to its endpoint, then activated. Only an administrator
//! whose key covers the whole account manages it (it hears about every container, and shows
//! its secret). Deliveries leave from the outbox ([`crate::webhook`]).

use axum::{
    Extension,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id, Principal,
    credentials::generate_api_key,
    lifecycle::{Actor, AuditEvent},
    seal::SealedSecret,
    webhook::{NewWebhook, Webhook, WebhookRefusal, WebhookSettings, secret_context},
};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::{auth::account_administrator, body};
use crate::{
    AppState,
    digicert::{ApiError, Body, Path, flag, json_response},
    webhook::{Refused, challenge_event, test_event},
    wire::iso8601,
};

/// The shortest secret DigiCert accepts.
const MIN_SECRET: usize = 32;

/// The event names DigiCert lists, and certkeep's `certificate_expiring` (the expiry notices
/// of `webhook_notification_frequency`). certkeep produces the first four; the others report
/// validation and expiry of domains and organizations, which certkeep does not track as
/// CertCentral does: they are accepted and kept, and fire nothing.
const EVENTS: [&str; 9] = [
    "certificate_issued",
    "certificate_revoked",
    "order_rejected",
    "certificate_expiring",
    "domain_expired",
    "domain_revalidation_notice",
    "organization_expired",
    "organization_revalidation_notice",
    "validation_expired",
];

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found|webhook", "Webhook not found.")
}

fn invalid_endpoint(Refused(why): Refused) -> ApiError {
    ApiError::bad_request("webhook_invalid_endpoint", format!("Invalid webhook endpoint: {why}."))
}

fn endpoint_error(why: &str) -> ApiError {
    ApiError::bad_request(
        "webhook_endpoint_error",
        format!("The webhook endpoint did not accept the event: {why}."),
    )
}

fn refusal(r: WebhookRefusal) -> ApiError {
    match r {
        WebhookRefusal::NotVerified => ApiError::bad_request(
            "webhook_invalid_action",
            "The webhook's endpoint has not passed the challenge: send and check a challenge first.",
        ),
        WebhookRefusal::InvalidToken => {
            ApiError::bad_request("webhook_invalid_token", "The challenge token is wrong or has expired.")
        }
    }
}

fn webhook_id(segment: &str) -> Result<Id, ApiError> {
    segment.parse().ok().filter(|id| *id > 0).ok_or_else(not_found)
}

fn administrator(principal: &Principal) -> Result<(), ApiError> {
    if account_administrator(principal) { Ok(()) } else { Err(ApiError::missing_permission()) }
}

/// An audit event of `actor` in the principal's account.
fn audit(principal: &Principal, actor: &Actor, state: &AppState, action: &str, object: String) -> AuditEvent {
    AuditEvent {
        account_id: Some(principal.scope.account_id),
        user_id: Some(actor.user_id),
        api_key_id: actor.api_key_id,
        action: action.into(),
        object,
        detail: String::new(),
        source: actor.source.clone(),
        at: state.clock.now(),
        refused: false,
    }
}

/// `webhook_settings` as clients send them: flags as `"1"`/`"0"` (or booleans), the
/// notification days as numbers or numeric strings.
#[derive(Debug, Default, Deserialize)]
struct SettingsBody {
    #[serde(default, deserialize_with = "opt_flag")]
    instant_issue_webhook_notification: Option<bool>,
    #[serde(default, deserialize_with = "opt_flag")]
    webhook_send_certificate_chain: Option<bool>,
    #[serde(default, deserialize_with = "opt_flag")]
    webhook_send_instant_issued_certificate_chain: Option<bool>,
    #[serde(default)]
    webhook_notification_frequency: Option<Vec<Value>>,
}

fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    flag(d).map(Some)
}

#[derive(Debug, Default, Deserialize)]
struct WebhookBody {
    endpoint: Option<String>,
    secret: Option<String>,
    events: Option<Vec<String>>,
    webhook_settings: Option<SettingsBody>,
}

/// Settings a request changes, checked.
#[derive(Debug, Clone, Default)]
struct SettingsChange {
    instant_issue_notification: Option<bool>,
    send_certificate_chain: Option<bool>,
    send_instant_issued_certificate_chain: Option<bool>,
    notification_frequency: Option<Vec<i64>>,
}

impl SettingsBody {
    /// Checks the settings (the days lie within a year of expiry).
    fn check(self) -> Result<SettingsChange, ApiError> {
        let days = |days: Vec<Value>| {
            days.iter()
                .map(|d| match d {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .map(|d| d.filter(|d| (-365..=365).contains(d)))
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "webhook_invalid_notification_frequency",
                        "webhook_notification_frequency is a list of days (from -365 to 365).",
                    )
                })
        };
        Ok(SettingsChange {
            instant_issue_notification: self.instant_issue_webhook_notification,
            send_certificate_chain: self.webhook_send_certificate_chain,
            send_instant_issued_certificate_chain: self.webhook_send_instant_issued_certificate_chain,
            notification_frequency: self.webhook_notification_frequency.map(days).transpose()?,
        })
    }
}

impl SettingsChange {
    /// Lays the change over `s`.
    fn apply(&self, s: &mut WebhookSettings) {
        let set = |target: &mut bool, value: Option<bool>| *target = value.unwrap_or(*target);
        set(&mut s.instant_issue_notification, self.instant_issue_notification);
        set(&mut s.send_certificate_chain, self.send_certificate_chain);
        set(&mut s.send_instant_issued_certificate_chain, self.send_instant_issued_certificate_chain);
        if let Some(days) = &self.notification_frequency {
            s.notification_frequency.clone_from(days);
        }
    }
}

fn secret(s: &str) -> Result<&str, ApiError> {
    if s.chars().count() < MIN_SECRET {
        return Err(ApiError::bad_request(
            "webhook_invalid_secret",
            format!("The secret must be at least {MIN_SECRET} characters long."),
        ));
    }
    Ok(s)
}

fn events(names: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim().to_ascii_lowercase();
        if !EVENTS.contains(&name.as_str()) {
            return Err(ApiError::bad_request(
                "webhook_invalid_event",
                format!("{name:?} is not a webhook event: use one of {}.", EVENTS.join(", ")),
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.is_empty() {
        return Err(ApiError::missing("events"));
    }
    Ok(out)
}

fn seal(state: &AppState, account_id: Id, secret: &str) -> Vec<u8> {
    state.sealing_key.seal(secret.as_bytes(), &secret_context(account_id))
}

fn open_secret(state: &AppState, w: &Webhook) -> Result<String, ApiError> {
    let sealed = SealedSecret::WebhookSecret { account_id: w.account_id, sealed: &w.sealed_secret };
    state
        .sealing_key
        .open(sealed.sealed(), &sealed.context())
        .and_then(|s| String::from_utf8(s).ok())
        .ok_or_else(|| certkeep_core::StoreError(format!("{} does not open", sealed.describe())).into())
}

/// `POST /webhook`: registers the account's webhook, pending its challenge. 201
/// `{"webhook_id"}`; `webhook_configured_already` when the account has one.
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    administrator(&principal)?;
    let b: WebhookBody = body::parse(&bytes)?;
    let endpoint = b.endpoint.ok_or_else(|| ApiError::missing("endpoint"))?;
    let secret = secret(b.secret.as_deref().ok_or_else(|| ApiError::missing("secret"))?)?.to_owned();
    let events = events(b.events.unwrap_or_default())?;
    let mut settings = WebhookSettings::default();
    b.webhook_settings.unwrap_or_default().check()?.apply(&mut settings);
    let endpoint = state.webhooks.check_endpoint(&endpoint).await.map_err(invalid_endpoint)?;
    let account_id = principal.scope.account_id;
    let new = NewWebhook {
        account_id,
        endpoint,
        sealed_secret: seal(&state, account_id, &secret),
        events,
        settings,
        date_created: state.clock.now(),
    };
    let event = audit(&principal, &actor, &state, "webhook.create", String::new());
    let id = state.store(move |s| s.create_webhook(&new, &event)).await?.ok_or_else(|| {
        ApiError::bad_request("webhook_configured_already", "This account already has a webhook.")
    })?;
    Ok(json_response(StatusCode::CREATED, &json!({ "webhook_id": id })))
}

fn flag_text(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

/// `GET /webhook`: `{"webhooks": [...]}` with each webhook's endpoint, secret, events, status
/// and settings, and (certkeep's addition) `deliveries`: how many events wait and were
/// delivered, the last error of one that waits, when one was last delivered.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    administrator(&principal)?;
    let account_id = principal.scope.account_id;
    let hooks = state.store(move |s| s.webhooks(account_id)).await?;
    let mut views = Vec::with_capacity(hooks.len());
    for (w, d) in hooks {
        let s = &w.settings;
        views.push(json!({
            "id": w.id,
            "endpoint": w.endpoint,
            "secret": open_secret(&state, &w)?,
            "events": w.events,
            "status": w.status.as_str(),
            "date_created": iso8601(w.date_created),
            "webhook_settings": {
                "instant_issue_webhook_notification": flag_text(s.instant_issue_notification),
                "webhook_send_certificate_chain": flag_text(s.send_certificate_chain),
                "webhook_send_instant_issued_certificate_chain": flag_text(s.send_instant_issued_certificate_chain),
                "webhook_notification_frequency": s.notification_frequency,
            },
            "deliveries": {
                "pending": d.pending,
                "delivered": d.delivered,
                "last_error": d.last_error,
                "last_delivered": d.last_delivered.map(iso8601),
            },
        }));
    }
    Ok(json_response(StatusCode::OK, &json!({ "webhooks": views })))
}

/// Changes the account's webhook `segment` with `change` (audited as `action`); 204.
async fn change(
    state: &AppState,
    principal: &Principal,
    actor: &Actor,
    (segment, action): (&str, &str),
    mut change: impl FnMut(&mut Webhook) -> Result<(), WebhookRefusal> + Send + 'static,
) -> Result<Webhook, ApiError> {
    administrator(principal)?;
    let id = webhook_id(segment)?;
    let account_id = principal.scope.account_id;
    let event = audit(principal, actor, state, action, format!("webhook:{id}"));
    let changed = state
        .store(move |s| s.change_webhook(account_id, id, &mut |w| change(w).map(|()| event.clone())))
        .await?
        .ok_or_else(not_found)?;
    changed.map_err(refusal)
}

/// `PUT /webhook/{id}`: changes the endpoint, secret, events or settings; 204. A new
/// endpoint must pass the challenge again (the webhook is pending until then).
pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    administrator(&principal)?;
    let b: WebhookBody = body::parse(&bytes)?;
    let endpoint = match b.endpoint {
        Some(e) => Some(state.webhooks.check_endpoint(&e).await.map_err(invalid_endpoint)?),
        None => None,
    };
    let account_id = principal.scope.account_id;
    let sealed = b.secret.as_deref().map(secret).transpose()?.map(|s| seal(&state, account_id, s));
    let events = b.events.map(events).transpose()?;
    let settings = b.webhook_settings.unwrap_or_default().check()?;
    change(&state, &principal, &actor, (&segment, "webhook.update"), move |w| {
        if let Some(e) = &endpoint {
            w.set_endpoint(e.clone());
        }
        if let Some(s) = &sealed {
            w.sealed_secret = s.clone();
        }
        if let Some(e) = &events {
            w.events = e.clone();
        }
        settings.apply(&mut w.settings);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /webhook/{id}`: removes the webhook and the events it has not delivered; 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    administrator(&principal)?;
    let id = webhook_id(&segment)?;
    let account_id = principal.scope.account_id;
    let event = audit(&principal, &actor, &state, "webhook.delete", format!("webhook:{id}"));
    if !state.store(move |s| s.delete_webhook(account_id, id, &event)).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /webhook/{id}/send-challenge`: posts `challenge_webhook_endpoint` with a new token
/// (valid 30 minutes) to the endpoint; 204, or `webhook_endpoint_error` when it does not
/// accept it.
pub async fn send_challenge(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let token = generate_api_key().to_ascii_lowercase();
    let (issued, now) = (token.clone(), state.clock.now());
    let w = change(&state, &principal, &actor, (&segment, "webhook.send_challenge"), move |w| {
        w.issue_challenge(issued.clone(), now);
        Ok(())
    })
    .await?;
    let secret = open_secret(&state, &w)?;
    state
        .webhooks
        .post(&w.endpoint, &secret, &challenge_event(w.id, &token))
        .await
        .map_err(|e| endpoint_error(&e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct TokenBody {
    token: Option<String>,
}

/// `PUT /webhook/{id}/check-challenge` with `{"token"}`: 204 when it is the live token (the
/// endpoint is verified), else `webhook_invalid_token`.
pub async fn check_challenge(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let b: TokenBody = body::parse(&bytes)?;
    let token = b.token.ok_or_else(|| ApiError::missing("token"))?;
    let now = state.clock.now();
    change(&state, &principal, &actor, (&segment, "webhook.check_challenge"), move |w| {
        w.answer_challenge(token.trim(), now)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /webhook/{id}/activate`: starts deliveries; `webhook_invalid_action` before the
/// endpoint passed the challenge.
pub async fn activate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    change(&state, &principal, &actor, (&segment, "webhook.activate"), |w| w.set_active(true)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /webhook/{id}/deactivate`: stops deliveries (events queued meanwhile wait for the
/// next activation); `webhook_invalid_action` before the endpoint passed the challenge.
pub async fn deactivate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    change(&state, &principal, &actor, (&segment, "webhook.deactivate"), |w| w.set_active(false)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct TestBody {
    endpoint: Option<String>,
    secret: Option<String>,
}

/// `POST /webhook/test-endpoint` with `{"endpoint", "secret"}`: posts `test_webhook_endpoint`
/// there now; 200 `{}` when it answered 2xx, else `webhook_endpoint_error`.
pub async fn test_endpoint(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    administrator(&principal)?;
    let b: TestBody = body::parse(&bytes)?;
    let endpoint = b.endpoint.ok_or_else(|| ApiError::missing("endpoint"))?;
    let secret = secret(b.secret.as_deref().ok_or_else(|| ApiError::missing("secret"))?)?.to_owned();
    let endpoint = state.webhooks.check_endpoint(&endpoint).await.map_err(invalid_endpoint)?;
    let event = AuditEvent {
        detail: endpoint.clone(),
        ..audit(&principal, &actor, &state, "webhook.test", "webhook".into())
    };
    state.store(move |s| s.record_audit(&event)).await?;
    state.webhooks.post(&endpoint, &secret, &test_event()).await.map_err(|e| endpoint_error(&e))?;
    Ok(json_response(StatusCode::OK, &json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_take_digicert_flags_and_days_in_either_form() {
        let body: SettingsBody = serde_json::from_value(json!({
            "instant_issue_webhook_notification": "1",
            "webhook_send_certificate_chain": true,
            "webhook_notification_frequency": [90, "60", 30, 7, 0, -7],
        }))
        .unwrap();
        let mut s = WebhookSettings::default();
        body.check().unwrap().apply(&mut s);
        assert!(
            s.instant_issue_notification
                && s.send_certificate_chain
                && !s.send_instant_issued_certificate_chain
        );
        assert_eq!(s.notification_frequency, [90, 60, 30, 7, 0, -7]);
        let bad: SettingsBody =
            serde_json::from_value(json!({"webhook_notification_frequency": ["soon"]})).unwrap();
        assert_eq!(bad.check().unwrap_err().code, "webhook_invalid_notification_frequency");
    }

    #[test]
    fn events_are_digicert_names_kept_once_and_secrets_are_long() {
        assert_eq!(
            events(vec!["Certificate_Issued".into(), "certificate_issued".into(), "order_rejected".into()])
                .unwrap(),
            ["certificate_issued", "order_rejected"]
        );
        assert_eq!(events(vec!["certificate_exploded".into()]).unwrap_err().code, "webhook_invalid_event");
        assert_eq!(events(vec![]).unwrap_err().code, "missing_param|events");
        assert_eq!(secret(&"s".repeat(31)).unwrap_err().code, "webhook_invalid_secret");
        assert!(secret(&"s".repeat(32)).is_ok());
    }
}
