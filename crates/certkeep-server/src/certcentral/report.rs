//! `GET /report/order/expiring`: how many of the caller's orders expire within 90, 60 and 30
//! days and how many expired in the last 7, in DigiCert's shape.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{ExpiryOf, Id, Principal, Scope};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::{
    AppState,
    digicert::{ApiError, json_response},
};

/// The window edges in days from now; window `i` is `[EDGES[i], EDGES[i + 1])`.
const EDGES: [i64; 5] = [-7, 0, 30, 60, 90];

/// DigiCert's rows in its order, each with its window: 90 is 60 to 90 days ahead, 60 is 30 to
/// 60, 30 is now to 30, -7 the last 7 days.
const WINDOWS: [(i64, usize); 4] = [(90, 3), (60, 2), (30, 1), (-7, 0)];

/// The report's parameters.
struct Params {
    container_id: Option<Id>,
    include_expiring_certs: bool,
}

fn parse(raw: &str) -> Result<Params, ApiError> {
    let mut p = Params { container_id: None, include_expiring_certs: false };
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        match &*key {
            "container_id" => {
                let id = value.parse::<Id>().ok().filter(|id| *id > 0).ok_or_else(|| {
                    ApiError::bad_request("invalid_container_id", "container_id must be a positive integer.")
                })?;
                p.container_id = Some(id);
            }
            "include_expiring_certs" => {
                p.include_expiring_certs = match &*value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::bad_request(
                            "invalid_include_expiring_certs",
                            "include_expiring_certs must be true or false.",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(p)
}

/// `scope` narrowed to `container` and the containers under it; `None` when the scope does not
/// see `container`.
fn subtree(scope: &Scope, visible: &[certkeep_core::ContainerNode], container: Id) -> Option<Scope> {
    visible.iter().find(|n| n.container.id == container)?;
    let mut ids = vec![container];
    let mut i = 0;
    while let Some(&parent) = ids.get(i) {
        ids.extend(visible.iter().filter(|n| n.parent_id == Some(parent)).map(|n| n.container.id));
        i += 1;
    }
    Some(Scope { account_id: scope.account_id, containers: Some(ids) })
}

fn edges(now: OffsetDateTime) -> Vec<OffsetDateTime> {
    EDGES.into_iter().map(|d| now + Duration::days(d)).collect()
}

/// `GET /report/order/expiring[?container_id=N&include_expiring_certs=true]`.
pub async fn expiring(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = parse(raw.as_deref().unwrap_or_default())?;
    let now = state.clock.now();
    let scope = principal.scope;
    let with_certs = params.include_expiring_certs;
    let counted = state
        .store(move |s| {
            let scope = match params.container_id {
                Some(c) => match subtree(&scope, &s.list_containers(&scope)?, c) {
                    Some(narrowed) => narrowed,
                    None => return Ok(None),
                },
                None => scope,
            };
            let mut counts = s.count_expiring(Some(&scope), ExpiryOf::Orders, &edges(now))?;
            if with_certs {
                counts.extend(s.count_expiring(Some(&scope), ExpiryOf::Duplicates, &edges(now))?);
            }
            Ok(Some(counts))
        })
        .await?;
    let counts = counted
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found|container", "Container not found."))?;
    let field = if with_certs { "count" } else { "order_count" };
    let rows: Vec<Value> = WINDOWS
        .iter()
        .map(|&(days, window)| {
            let n: u64 =
                counts.iter().filter(|c| c.window == window && c.status == "issued").map(|c| c.count).sum();
            json!({"days_expiring": days, field: n})
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"expiring_orders": rows})))
}
