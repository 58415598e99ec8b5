//! `GET /api/v2/certificate/recentChanges`: the paid certificates whose status changed in a
//! window: the last `minutes` (1-10080) or `seconds` (1-604800), or `startDateTime` to
//! `endDateTime` (`yyyy-MM-dd HH:mm:ss` in the NCP zone). Exactly one window is required.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{Id, Scope};
use serde::Serialize;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, macros::format_description};

use super::{
    error::{NcpError, Origin, json_response},
    inventory::{addressed, render},
    params::Query,
    views::status,
};
use crate::{AppState, wire::ymd_hms_zoned};

fn window_error(message: &str) -> NcpError {
    NcpError::Service { status: StatusCode::BAD_REQUEST, code: "2101", message: message.into() }
}

/// The window `[from, to]` the query asks for.
fn window(
    query: &Query,
    now: OffsetDateTime,
    zone: time::UtcOffset,
) -> Result<(OffsetDateTime, OffsetDateTime), NcpError> {
    let minutes = query.integer("minutes", 1)?;
    let seconds = query.integer("seconds", 1)?;
    let (start, end) = (query.text("startDateTime"), query.text("endDateTime"));
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let at = |name: &str, text: &str| {
        PrimitiveDateTime::parse(text, format)
            .map(|t| t.assume_offset(zone))
            .map_err(|_| NcpError::invalid_parameter(format!("{name} must read yyyy-MM-dd HH:mm:ss.")))
    };
    match (minutes, seconds, start, end) {
        (Some(m), None, None, None) if m <= 10_080 => Ok((now - Duration::minutes(m as i64), now)),
        (None, Some(s), None, None) if s <= 604_800 => Ok((now - Duration::seconds(s as i64), now)),
        (Some(_), None, None, None) => Err(NcpError::invalid_parameter("minutes must be from 1 to 10080.")),
        (None, Some(_), None, None) => Err(NcpError::invalid_parameter("seconds must be from 1 to 604800.")),
        (None, None, Some(s), Some(e)) => {
            let (from, to) = (at("startDateTime", s)?, at("endDateTime", e)?);
            if from > to {
                return Err(NcpError::invalid_parameter("startDateTime must not be after endDateTime."));
            }
            Ok((from, to))
        }
        _ => Err(window_error("Give exactly one of minutes, seconds, or startDateTime with endDateTime.")),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Change {
    certificate_no: Id,
    order_id: String,
    certificate_name: String,
    common_name: String,
    status_code: &'static str,
    status_name: &'static str,
    update_date: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Changes {
    return_code: &'static str,
    return_message: &'static str,
    total_count: usize,
    certificates: Vec<Change>,
}

/// Lists the changes in the order they happened, with each certificate's current status.
pub async fn recent(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    let render = render(&state, scope.account_id).await?;
    let (from, to) = window(&Query::parse(raw.as_deref()), render.now, render.zone)?;
    let lookup = scope.clone();
    let changes = state.store(move |s| s.status_changes(&lookup, from, to)).await?;
    let mut certificates = Vec::new();
    for (order_id, certificate_id, order_status) in changes {
        let Ok(found) = addressed(&state, &scope, certificate_id).await else { continue };
        let (status_code, status_name) = status(&found.record, order_status, render.now);
        let c = &found.record;
        certificates.push(Change {
            certificate_no: c.id,
            order_id: order_id.to_string(),
            certificate_name: render.name(c).to_owned(),
            common_name: c.common_name.clone(),
            status_code,
            status_name,
            update_date: ymd_hms_zoned(
                c.date_issued.unwrap_or(c.date_created).max(c.date_created),
                render.zone,
            ),
        });
    }
    let (return_code, return_message) =
        if certificates.is_empty() { ("2200", "No certificate was found.") } else { ("0", "Success") };
    let body = Changes { return_code, return_message, total_count: certificates.len(), certificates };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn exactly_one_window_is_taken() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let zone = offset!(+9);
        let w = |q: &str| window(&Query::parse(Some(q)), now, zone);
        assert_eq!(w("minutes=10").unwrap(), (now - Duration::minutes(10), now));
        assert_eq!(w("seconds=604800").unwrap().0, now - Duration::days(7));
        assert_eq!(
            w("startDateTime=2026-06-01%2009:00:00&endDateTime=2026-06-01%2009:30:00").unwrap(),
            (datetime!(2026-06-01 00:00 UTC), datetime!(2026-06-01 00:30 UTC))
        );
        for (q, code) in [
            ("", "2101"),
            ("minutes=1&seconds=1", "2101"),
            ("startDateTime=2026-06-01%2009:00:00", "2101"),
            ("minutes=10081", "2000"),
            ("seconds=0", "2000"),
            ("startDateTime=yesterday&endDateTime=today", "2000"),
            ("startDateTime=2026-06-02%2000:00:00&endDateTime=2026-06-01%2000:00:00", "2000"),
        ] {
            let Err(NcpError::Service { code: got, .. }) = w(q) else { panic!("{q}") };
            assert_eq!(got, code, "{q}");
        }
    }
}
