//! `certkeep report expiring`: the issued orders whose certificates expire within N days, read
//! from the store, as aligned columns, JSON lines or CSV.

use std::io::Write;

use certkeep_core::{Id, Store};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object per order.
    Json,
    /// A header line and one comma-separated line per order.
    Csv,
}

const COLUMNS: [&str; 7] =
    ["account_id", "order_id", "container_id", "common_name", "product", "valid_till", "days_left"];

/// Writes the issued orders of `account_id` (every tenant's without one) whose certificates
/// expire from `now` to `days` days later, soonest first.
pub fn expiring(
    store: &dyn Store,
    now: OffsetDateTime,
    days: u32,
    account_id: Option<Id>,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), String> {
    let till = now + Duration::days(days.into());
    let orders = store.expiring_orders(account_id, now, till).map_err(|e| e.to_string())?;
    let io = |e: std::io::Error| e.to_string();
    if format == Format::Csv {
        writeln!(out, "{}", COLUMNS.join(",")).map_err(io)?;
    }
    for (account, o) in &orders {
        let Some(valid_till) = o.certificate.valid_till else { continue };
        let at = valid_till.format(&Rfc3339).map_err(|e| e.to_string())?;
        let days_left = (valid_till - now).whole_days();
        let name = &o.certificate.common_name;
        let line = match format {
            Format::Json => serde_json::json!({
                "account_id": account, "order_id": o.id, "container_id": o.container.id,
                "common_name": name, "product": o.product_name_id, "valid_till": at, "days_left": days_left,
            })
            .to_string(),
            Format::Csv => [
                account.to_string(),
                o.id.to_string(),
                o.container.id.to_string(),
                csv_field(name),
                csv_field(&o.product_name_id),
                at,
                days_left.to_string(),
            ]
            .join(","),
            Format::Table => format!(
                "account={account} order={} container={} {days_left:>4} days  {at}  {} {name}",
                o.id, o.container.id, o.product_name_id
            ),
        };
        writeln!(out, "{line}").map_err(io)?;
    }
    Ok(())
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}
