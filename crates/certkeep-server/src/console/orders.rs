//! An order's page (its certificates, requests and the revoke form), the chain download and
//! revocation, which goes through the lifecycle like every door's.

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use certkeep_ca::RevocationReason;
use certkeep_core::{
    CertificateKind, CertificateRecord, CertificateStatus, Id, OrderDetail, OrderRef, OrderStatus, Product,
    RequestStatus,
    lifecycle::{CertificateRef, LifecycleError, RevokeTarget},
    refusal::RefusalClass,
};
use serde::Serialize;

use super::session::SignedIn;
use super::view::{self, Header};
use crate::AppState;

#[derive(Serialize)]
struct OrderFacts {
    id: Id,
    common_name: String,
    status: &'static str,
    product: &'static str,
    names: String,
    container: String,
    organization: String,
    date_created: String,
    user: String,
    api_key: Option<String>,
    origin: &'static str,
}

#[derive(Serialize)]
struct CertificateRow {
    id: Id,
    kind: &'static str,
    status: &'static str,
    serial: String,
    valid: String,
    downloadable: bool,
}

impl From<&CertificateRecord> for CertificateRow {
    fn from(c: &CertificateRecord) -> Self {
        let valid = match (c.valid_from, c.valid_till) {
            (Some(from), Some(till)) => format!("{} to {}", view::date(from), view::date(till)),
            _ => String::new(),
        };
        CertificateRow {
            id: c.id,
            kind: c.kind.as_str(),
            status: c.status.as_str(),
            serial: c.serial_number.clone().unwrap_or_default(),
            valid,
            downloadable: matches!(c.status, CertificateStatus::Issued | CertificateStatus::Revoked),
        }
    }
}

#[derive(Serialize)]
struct RequestRow {
    id: Id,
    /// Waiting for an administrator's decision.
    open: bool,
    date: String,
    kind: &'static str,
    status: &'static str,
    comments: Option<String>,
}

#[derive(Serialize)]
struct OrderPage {
    header: Header,
    current: &'static str,
    order: OrderFacts,
    certificates: Vec<CertificateRow>,
    requests: Vec<RequestRow>,
    revocable: bool,
    may_act: bool,
    /// May approve and reject requests.
    may_decide: bool,
    reasons: Vec<&'static str>,
    notice: Option<&'static str>,
    error: Option<String>,
}

fn not_found(what: &str) -> Response {
    view::refusal(StatusCode::NOT_FOUND, &format!("There is no such {what} in what you can see."))
}

/// The order page of `id` with an optional notice or error, at `status`.
async fn render(
    state: &AppState,
    signed: &SignedIn,
    id: Id,
    status: StatusCode,
    (notice, error): (Option<&'static str>, Option<String>),
) -> Response {
    let scope = signed.session.scope.clone();
    let found = state
        .store(move |s| {
            let Some(detail) = s.find_order(&scope, &OrderRef::Id(id))? else { return Ok(None) };
            let mut certificates = vec![];
            for kind in [CertificateKind::Primary, CertificateKind::Reissue, CertificateKind::Duplicate] {
                if let Some(found) = s.order_certificates(&scope, id, kind, true)? {
                    certificates.extend(found.certificates);
                }
            }
            Ok(Some((detail, certificates)))
        })
        .await;
    let (detail, certificates) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found("order"),
        Err(e) => return view::failure(&e),
    };
    let now = state.clock.now();
    let order = facts(&detail, now);
    let revocable = order.status == OrderStatus::Issued.as_str();
    view::page(
        status,
        "order.html",
        &OrderPage {
            header: signed.header(),
            current: "inventory",
            order,
            certificates: certificates.iter().map(CertificateRow::from).collect(),
            requests: detail
                .requests
                .iter()
                .map(|r| RequestRow {
                    id: r.id,
                    open: matches!(r.status, RequestStatus::Pending | RequestStatus::Submitted),
                    date: view::instant(r.date),
                    kind: r.request_type.as_str(),
                    status: r.status.as_str(),
                    comments: r.comments.clone(),
                })
                .collect(),
            revocable,
            may_act: signed.may_act(),
            may_decide: may_decide(signed),
            reasons: RevocationReason::ALL.iter().map(|r| r.as_str()).collect(),
            notice,
            error,
        },
    )
}

fn facts(d: &OrderDetail, now: time::OffsetDateTime) -> OrderFacts {
    let s = &d.summary;
    let names = std::iter::once(&s.certificate.common_name)
        .chain(s.certificate.dns_names.iter().filter(|n| **n != s.certificate.common_name))
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    OrderFacts {
        id: s.id,
        common_name: s.certificate.common_name.clone(),
        status: s.status.effective(s.certificate.valid_till, now).as_str(),
        product: Product::find(&s.product_name_id).map_or("imported", |p| p.name),
        names,
        container: s.container.name.clone(),
        organization: s.organization.as_ref().map(|(_, name)| name.clone()).unwrap_or_else(|| "none".into()),
        date_created: view::instant(s.date_created),
        user: format!("{} {} <{}>", d.user.first_name, d.user.last_name, d.user.email),
        api_key: d.api_key.as_ref().map(|(name, kind)| format!("{name} ({kind})")),
        origin: d.origin.as_str(),
    }
}

/// `GET /console/orders/{order}` (`?done=revoked|requested` after a revocation).
pub async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    // Ids are numbers: anything else names no order.
    let Ok(id) = raw.parse::<Id>() else { return not_found("order") };
    let notice = match view::query_params(query).get("done").map(String::as_str) {
        Some("revoked") => Some("The order's certificates are revoked."),
        Some("requested") => Some("Revocation requested: it waits for an administrator's approval."),
        Some("approved") => Some("The request is approved."),
        Some("rejected") => Some("The request is rejected."),
        _ => None,
    };
    render(&state, &signed, id, StatusCode::OK, (notice, None)).await
}

/// A file name made of the common name's letters, digits, dots and dashes.
fn file_stem(common_name: &str) -> String {
    let stem: String = common_name
        .replace('*', "star")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    if stem.is_empty() { "certificate".into() } else { stem }
}

/// `GET /console/certificates/{certificate}/chain.pem`: the certificate and, when certkeep
/// signed it, the CA chain up to the root, as one PEM file.
pub async fn chain(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    Path(raw): Path<String>,
) -> Response {
    let Ok(id) = raw.parse::<Id>() else { return not_found("certificate") };
    let scope = signed.session.scope.clone();
    let found = state
        .store(move |s| {
            let Some((record, Some(der))) = s.find_certificate(&scope, &CertificateRef::Id(id))? else {
                return Ok(None);
            };
            let order = s.find_order(&scope, &OrderRef::Id(record.order_id))?;
            let ours = order.is_some_and(|o| Product::find(&o.summary.product_name_id).is_some());
            Ok(Some((record, der, ours)))
        })
        .await;
    let (record, der, ours) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found("issued certificate"),
        Err(e) => return view::failure(&e),
    };
    let mut pem = certkeep_ca::certificate_pem(&der);
    if ours {
        for (_, ca) in state.authority.chain() {
            pem.push_str(ca);
        }
    }
    let disposition = format!("attachment; filename=\"{}-chain.pem\"", file_stem(&record.common_name));
    let mut response = (StatusCode::OK, pem).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `POST /console/orders/{order}/revoke` (`reason`, `comment`): revokes every certificate of
/// the order at once when the user may skip approval, else files a revocation request. A
/// refusal is shown on the order's page in the lifecycle's own words.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    // Ids are numbers: anything else names no order.
    let Ok(id) = raw.parse::<Id>() else { return not_found("order") };
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&body).into_owned().collect();
    let reason = form.get("reason").map_or("unspecified", |r| r.as_str());
    let Ok(reason) = reason.parse::<RevocationReason>() else {
        return view::refusal(StatusCode::BAD_REQUEST, &format!("{reason:?} is not a revocation reason."));
    };
    let comment = match comment_of(&form) {
        Ok(c) => c,
        Err(message) => return view::refusal(StatusCode::BAD_REQUEST, message),
    };
    let (scope, actor) = (signed.session.scope.clone(), signed.actor.clone());
    let revoked = state
        .lifecycle(move |l| {
            l.revoke(&scope, &actor, &RevokeTarget::Order(id), reason.as_str(), comment.as_deref(), true)
        })
        .await;
    let done = revoked.map(|request| if request.is_none() { "revoked" } else { "requested" });
    answer(&state, &signed, id, done).await
}

/// Whether the user may approve and reject requests: not view only, and allowed to skip approval.
fn may_decide(signed: &SignedIn) -> bool {
    signed.may_act() && signed.actor.may_skip_approval
}

/// `POST /console/orders/{order}/requests/{request}` (`decision` = `approve` or `reject`,
/// `comment`): decides a pending request of the order through the lifecycle, which issues or
/// revokes at once on approval and audits either way.
pub async fn decide(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    Path((raw_order, raw_request)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let (Ok(id), Ok(request)) = (raw_order.parse::<Id>(), raw_request.parse::<Id>()) else {
        return not_found("request");
    };
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&body).into_owned().collect();
    let approve = match form.get("decision").map(String::as_str) {
        Some("approve") => true,
        Some("reject") => false,
        other => {
            let other = other.unwrap_or_default();
            return view::refusal(
                StatusCode::BAD_REQUEST,
                &format!("A request is approved or rejected, not {other:?}."),
            );
        }
    };
    let comment = match comment_of(&form) {
        Ok(c) => c,
        Err(message) => return view::refusal(StatusCode::BAD_REQUEST, message),
    };
    if !may_decide(&signed) {
        return view::refusal(
            StatusCode::FORBIDDEN,
            "Approving and rejecting is for users who may skip approval.",
        );
    }
    let scope = signed.session.scope.clone();
    // The request must be one of this order's, as the page that posted it showed.
    let of_order = state
        .store(move |s| {
            Ok(s.find_order(&scope, &OrderRef::Id(id))?
                .is_some_and(|d| d.requests.iter().any(|r| r.id == request)))
        })
        .await;
    match of_order {
        Ok(true) => {}
        Ok(false) => return not_found("request"),
        Err(e) => return view::failure(&e),
    }
    let (scope, actor) = (signed.session.scope.clone(), signed.actor.clone());
    let decided = state
        .lifecycle(move |l| l.decide_request(&scope, &actor, request, approve, comment.as_deref()))
        .await;
    answer(&state, &signed, id, decided.map(|()| if approve { "approved" } else { "rejected" })).await
}

/// The form's trimmed `comment` (none when blank), or why one over 1000 characters is refused.
fn comment_of(form: &std::collections::HashMap<String, String>) -> Result<Option<String>, &'static str> {
    let comment = form.get("comment").map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.len() > 1000) {
        return Err("The comment is longer than 1000 characters.");
    }
    Ok(comment)
}

/// The answer to an action on order `id`: back to its page with the notice `done` names, or the
/// page again with the lifecycle's refusal at the status of its class.
async fn answer(
    state: &AppState,
    signed: &SignedIn,
    id: Id,
    result: Result<&'static str, LifecycleError>,
) -> Response {
    match result {
        Ok(done) => Redirect::to(&format!("/console/orders/{id}?done={done}")).into_response(),
        Err(LifecycleError::NotFound(what)) => not_found(&what.to_string()),
        Err(LifecycleError::Refused(refusal)) => {
            let status = match refusal.class() {
                RefusalClass::Invalid => StatusCode::BAD_REQUEST,
                RefusalClass::Conflict => StatusCode::CONFLICT,
                RefusalClass::Forbidden => StatusCode::FORBIDDEN,
            };
            render(state, signed, id, status, (None, Some(refusal.to_string()))).await
        }
        Err(e @ (LifecycleError::Store(_) | LifecycleError::Issuance(_))) => view::failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn download_names_are_plain() {
        assert_eq!(file_stem("*.example.com"), "star.example.com");
        assert_eq!(file_stem("a b\"/c"), "a_b__c");
        assert_eq!(file_stem(""), "certificate");
    }
}
