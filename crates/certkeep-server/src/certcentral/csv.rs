//! `Accept: text/csv` on the order list: a header row and one quoted row per order, streamed
//! from the store without holding the result in memory.

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{OrderQuery, OrderSummary, Product, Scope, StoreError, days_remaining};
use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::views::validity_years;
use crate::{
    AppState,
    wire::{ymd, ymd_hms},
};

/// Columns, named as in CertCentral's order report.
const HEADER: &[&str] = &[
    "order_id",
    "date_created",
    "container_id",
    "container_name",
    "status",
    "user_id",
    "organization_id",
    "organization_name",
    "validity_years",
    "signature_hash",
    "common_name",
    "dns_names",
    "product_name_id",
    "product_name",
    "product_type",
    "email",
    "valid_from",
    "valid_till",
    "days_remaining",
    "is_renewed",
    "disable_renewal_notifications",
    "auto_renew",
    "thumbprint",
    "serial_number",
    "certificate_id",
];

const CHUNK: usize = 64 * 1024;

/// Appends `value` as one quoted cell. A cell a spreadsheet would read as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, OWASP's defence
/// against CSV injection: a container named `=HYPERLINK(...)` stays text. A plain number (a
/// negative `days_remaining`) is no formula and stays a number.
fn push_field(out: &mut String, value: &str) {
    out.push('"');
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<i64>().is_err() {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

fn push_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f);
    }
    out.push_str("\r\n");
}

fn push_order(out: &mut String, o: &OrderSummary, now: OffsetDateTime) {
    let c = &o.certificate;
    let product = Product::find(&o.product_name_id);
    let flag = |b: bool| if b { "1" } else { "0" };
    let (org_id, org_name) =
        o.organization.as_ref().map_or((String::new(), ""), |(id, n)| (id.to_string(), n));
    let fields = [
        o.id.to_string(),
        ymd_hms(o.date_created),
        o.container.id.to_string(),
        o.container.name.clone(),
        o.status.effective(c.valid_till, now).as_str().to_owned(),
        o.user_id.to_string(),
        org_id,
        org_name.to_owned(),
        validity_years(o.validity, o.date_created).to_string(),
        c.signature_hash.clone(),
        c.common_name.clone(),
        c.dns_names.join(","),
        o.product_name_id.clone(),
        product.map_or("", |p| p.name).to_owned(),
        product.map_or("", |p| p.product_type.as_str()).to_owned(),
        o.email.clone(),
        c.valid_from.map(ymd).unwrap_or_default(),
        c.valid_till.map(ymd).unwrap_or_default(),
        c.valid_till.map(|t| days_remaining(t, now).to_string()).unwrap_or_default(),
        flag(o.is_renewed).to_owned(),
        flag(o.disable_renewal_notifications).to_owned(),
        flag(o.auto_renew).to_owned(),
        c.thumbprint.clone().unwrap_or_default(),
        c.serial_number.clone().unwrap_or_default(),
        c.id.to_string(),
    ];
    push_row(out, fields.iter().map(String::as_str));
}

/// Streams the orders matching `query` as CSV. The answer starts only once the export has
/// produced its first chunk (or finished), so a query that fails is an error status, never a
/// 200 with an empty body; one that fails later ends the body with an error, so the client sees
/// a broken transfer rather than a short inventory. The console's export serves the same file.
pub async fn stream(state: AppState, scope: Scope, query: OrderQuery) -> Result<Response, StoreError> {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, StoreError>>(4);
    let now = state.clock.now();
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut buf = String::with_capacity(CHUNK + 1024);
        push_row(&mut buf, HEADER.iter().copied());
        let result = store.export_orders(&scope, &query, now, &mut |o| {
            push_order(&mut buf, o, now);
            if buf.len() >= CHUNK {
                let chunk = std::mem::replace(&mut buf, String::with_capacity(CHUNK + 1024));
                // A closed channel means the client went away: stop reading.
                return tx.blocking_send(Ok(Bytes::from(chunk))).is_ok();
            }
            true
        });
        let last = match result {
            Ok(()) if buf.is_empty() => return,
            Ok(()) => Ok(Bytes::from(buf)),
            Err(e) => Err(e),
        };
        let _ = tx.blocking_send(last);
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(e),
        None => return Err(StoreError("the CSV export ended without an answer".into())),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?.map_err(|e| {
            tracing::error!(error = %e, "CSV export failed; the transfer is cut off");
            std::io::Error::other("the export failed")
        });
        Some((item, rx))
    });
    let body = futures_util::stream::once(async { Ok(first) }).chain(rest);
    let mut response = (StatusCode::OK, Body::from_stream(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private,no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_every_field_and_doubles_quotes() {
        let mut out = String::new();
        push_row(&mut out, ["a", "b\"c", ""]);
        assert_eq!(out, "\"a\",\"b\"\"c\",\"\"\r\n");
    }

    #[test]
    fn cells_that_spreadsheets_read_as_formulas_are_neutralised() {
        let mut out = String::new();
        push_row(
            &mut out,
            [
                "=HYPERLINK(\"http://x/\",\"y\")",
                "+A1",
                "-1+cmd|' /C calc'!A0",
                "@SUM(1)",
                "\tx",
                "\rx",
                "a=b",
                "1-2",
                "-17",
            ],
        );
        assert_eq!(
            out,
            "\"'=HYPERLINK(\"\"http://x/\"\",\"\"y\"\")\",\"'+A1\",\"'-1+cmd|' /C calc'!A0\",\"'@SUM(1)\",\"'\tx\",\"'\rx\",\"a=b\",\"1-2\",\"-17\"\r\n"
        );
    }
}
