//! CertCentral's list syntax: `filters[prop]=value`, `filters[prop][0]=a&filters[prop][1]=b`,
//! ranges `a...b`, comparisons `>`/`>=`/`<`/`<=`, `%25` contains-search, `sort=-a,b`,
//! `offset`, `limit` (at most 1000). Keys and values may arrive raw or percent-encoded.

use std::{collections::BTreeMap, ops::Bound};

use certkeep_core::{
    Id, OrderFilter, OrderQuery, OrderStatus, Origin, Search, SortField, SortKey, TimeRange,
};
use time::{
    Date, Duration, OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339,
    macros::format_description,
};

use crate::digicert::ApiError;

/// Largest page the list endpoints return.
pub const MAX_LIMIT: u64 = 1000;

/// Most filter values one list request may carry, all filters together: each is a bound SQL
/// parameter, and the engines take a few tens of thousands at most.
pub const MAX_FILTER_VALUES: usize = 1000;

/// A parsed list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// The inventory query. `limit` is `None` when the client sent none (or 0).
    pub query: OrderQuery,
    /// The limit as the client sent it (echoed in `page.limit`; 0 when absent).
    pub requested_limit: u64,
}

/// Parses a raw query string. `max_limit` caps `limit` (`None`: uncapped, for CSV exports).
pub fn parse_list(raw: &str, max_limit: Option<u64>) -> Result<ListParams, ApiError> {
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut query = OrderQuery::default();
    let mut requested_limit = 0;
    let mut values = 0;
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        if let Some(rest) = key.strip_prefix("filters[") {
            // filters[name] or filters[name][n]
            let name = rest.split(']').next().unwrap_or_default();
            // No inventory text holds a NUL (PostgreSQL text cannot): refused on both engines.
            if value.contains('\0') {
                return Err(invalid_value(name, &value));
            }
            values += 1;
            if values > MAX_FILTER_VALUES {
                return Err(ApiError::bad_request(
                    format!("invalid_filter_value|{name}"),
                    format!("A list takes at most {MAX_FILTER_VALUES} filter values."),
                ));
            }
            filters.entry(name.to_owned()).or_default().push(value.into_owned());
            continue;
        }
        match &*key {
            "sort" => query.sort = parse_sort(&value)?,
            "offset" => {
                query.offset = value.trim().parse().map_err(|_| {
                    ApiError::bad_request("invalid_offset", "offset must be a non-negative integer.")
                })?
            }
            "limit" => {
                let limit: u64 = value.trim().parse().map_err(|_| invalid_limit(max_limit))?;
                if max_limit.is_some_and(|max| limit > max) {
                    return Err(invalid_limit(max_limit));
                }
                requested_limit = limit;
            }
            _ => {}
        }
    }
    query.limit = match (requested_limit, max_limit) {
        (0, max) => max,
        (n, _) => Some(n),
    };
    for (name, values) in filters {
        query.filters.push(parse_filter(&name, &values)?);
    }
    Ok(ListParams { query, requested_limit })
}

fn invalid_limit(max: Option<u64>) -> ApiError {
    let message = match max {
        Some(max) => format!("limit must be an integer from 0 to {max}."),
        None => "limit must be a non-negative integer.".to_owned(),
    };
    ApiError::bad_request("invalid_limit", message)
}

fn invalid_value(name: &str, value: &str) -> ApiError {
    ApiError::bad_request(
        format!("invalid_filter_value|{name}"),
        format!("The value {value:?} is not valid for filters[{name}]."),
    )
}

fn parse_filter(name: &str, values: &[String]) -> Result<OrderFilter, ApiError> {
    let ids = || -> Result<Vec<Id>, ApiError> {
        values.iter().map(|v| v.trim().parse::<Id>().map_err(|_| invalid_value(name, v))).collect()
    };
    let texts = || -> Result<Vec<String>, ApiError> {
        values
            .iter()
            .map(|v| {
                let v = v.trim();
                if v.is_empty() { Err(invalid_value(name, v)) } else { Ok(v.to_owned()) }
            })
            .collect()
    };
    let single = || -> Result<&str, ApiError> {
        match values {
            [one] => Ok(one.trim()),
            _ => Err(ApiError::bad_request(
                format!("invalid_filter_value|{name}"),
                format!("filters[{name}] takes one value."),
            )),
        }
    };
    let boolean = || -> Result<bool, ApiError> {
        match single()? {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            other => Err(invalid_value(name, other)),
        }
    };
    Ok(match name {
        "id" => OrderFilter::Id(ids()?),
        "status" => OrderFilter::Status(
            values
                .iter()
                .map(|v| OrderStatus::parse(&v.trim().to_lowercase()).ok_or_else(|| invalid_value(name, v)))
                .collect::<Result<_, _>>()?,
        ),
        "organization_id" => OrderFilter::OrganizationId(ids()?),
        "product_name_id" => OrderFilter::ProductNameId(texts()?),
        "valid_till" => {
            OrderFilter::ValidTill(parse_range(single()?).ok_or_else(|| invalid_value(name, &values[0]))?)
        }
        "user_id" => OrderFilter::UserId(ids()?),
        "common_name" => OrderFilter::CommonName(texts()?),
        "domain_name" => OrderFilter::DomainName(texts()?),
        "date_created" => {
            OrderFilter::DateCreated(parse_range(single()?).ok_or_else(|| invalid_value(name, &values[0]))?)
        }
        "container_id" => OrderFilter::ContainerId(ids()?),
        "metadata_id" => OrderFilter::MetadataId(ids()?),
        "is_renewed" => OrderFilter::IsRenewed(boolean()?),
        "disable_renewal_notifications" => OrderFilter::DisableRenewalNotifications(boolean()?),
        "email" => OrderFilter::Email(texts()?),
        "certificate_id" => OrderFilter::CertificateId(ids()?),
        "origin" => OrderFilter::Origin(
            values
                .iter()
                .map(|v| Origin::parse(&v.trim().to_lowercase()).ok_or_else(|| invalid_value(name, v)))
                .collect::<Result<_, _>>()?,
        ),
        "serial_number" => OrderFilter::SerialNumber(texts()?),
        "search" => {
            let term = single()?;
            match term.strip_prefix('%') {
                Some(contains) if !contains.is_empty() => {
                    OrderFilter::Search(Search::Contains(contains.to_owned()))
                }
                Some(_) => return Err(invalid_value(name, term)),
                None if term.is_empty() => return Err(invalid_value(name, term)),
                None => OrderFilter::Search(Search::Exact(term.to_owned())),
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                format!("invalid_filter|{name}"),
                format!("filters[{name}] is not a supported filter."),
            ));
        }
    })
}

/// Parses `sort`. A field named twice is refused (the second could not change the order), which
/// bounds the keys to the sortable fields before they reach SQL.
fn parse_sort(value: &str) -> Result<Vec<SortKey>, ApiError> {
    let mut keys: Vec<SortKey> = Vec::new();
    for key in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let key = parse_sort_key(key)?;
        if keys.iter().any(|k| k.field == key.field) {
            return Err(ApiError::bad_request(
                "invalid_sort|repeated",
                "Each field may appear in sort once.".to_owned(),
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

fn parse_sort_key(key: &str) -> Result<SortKey, ApiError> {
    let (descending, name) = match key.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, key),
    };
    let field = match name {
        "id" | "order_id" => SortField::Id,
        "date_created" => SortField::DateCreated,
        "status" => SortField::Status,
        "common_name" => SortField::CommonName,
        "valid_till" => SortField::ValidTill,
        "product_name_id" => SortField::ProductNameId,
        "organization_id" => SortField::OrganizationId,
        "container_id" => SortField::ContainerId,
        "user_id" => SortField::UserId,
        "email" => SortField::Email,
        "is_renewed" => SortField::IsRenewed,
        _ => {
            return Err(ApiError::bad_request(
                format!("invalid_sort|{name}"),
                format!("Results cannot be sorted by {name:?}."),
            ));
        }
    };
    Ok(SortKey { field, descending })
}

/// One end of a range: an instant, and whether the client gave only a date.
pub fn parse_instant(s: &str) -> Option<(OffsetDateTime, bool)> {
    let s = s.trim();
    // A raw `+` in an offset arrives decoded as a space.
    if let Ok(t) = OffsetDateTime::parse(&s.replace(' ', "+"), &Rfc3339) {
        return Some((t, false));
    }
    // `yyyy-MM-dd HH:mm:ss` (a `+` separator arrives decoded as a space) or `yyyy-MM-ddTHH:mm:ss`.
    let spaced = s.replacen('T', " ", 1);
    if let Ok(t) = PrimitiveDateTime::parse(
        &spaced,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    ) {
        return Some((t.assume_utc(), false));
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| (d.midnight().assume_utc(), true))
}

/// The instant just after `s` ends: the next midnight for a date, else the instant itself.
fn end_of(t: OffsetDateTime, date_only: bool) -> Bound<OffsetDateTime> {
    if date_only { Bound::Excluded(t + Duration::days(1)) } else { Bound::Included(t) }
}

/// Parses `a...b`, `>a`, `>=a`, `<a`, `<=a` or a single value. A date alone stands for the
/// whole day (UTC): `2024-01-01` matches that day, `>2024-01-01` starts the day after.
pub fn parse_range(s: &str) -> Option<TimeRange> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once("...") {
        let (start, _) = parse_instant(a)?;
        let (end, end_date) = parse_instant(b)?;
        return Some(TimeRange { start: Bound::Included(start), end: end_of(end, end_date) });
    }
    let unbounded = Bound::Unbounded;
    if let Some(rest) = s.strip_prefix(">=") {
        let (t, _) = parse_instant(rest)?;
        return Some(TimeRange { start: Bound::Included(t), end: unbounded });
    }
    if let Some(rest) = s.strip_prefix('>') {
        let (t, date) = parse_instant(rest)?;
        let start = if date { Bound::Included(t + Duration::days(1)) } else { Bound::Excluded(t) };
        return Some(TimeRange { start, end: unbounded });
    }
    if let Some(rest) = s.strip_prefix("<=") {
        let (t, date) = parse_instant(rest)?;
        return Some(TimeRange { start: unbounded, end: end_of(t, date) });
    }
    if let Some(rest) = s.strip_prefix('<') {
        let (t, _) = parse_instant(rest)?;
        return Some(TimeRange { start: unbounded, end: Bound::Excluded(t) });
    }
    let (t, date) = parse_instant(s)?;
    Some(TimeRange { start: Bound::Included(t), end: end_of(t, date) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn filters(raw: &str) -> Vec<OrderFilter> {
        parse_list(raw, Some(MAX_LIMIT)).unwrap().query.filters
    }

    #[test]
    fn encoded_and_raw_keys_agree() {
        assert_eq!(filters("filters%5Bstatus%5D=issued"), filters("filters[status]=issued"));
        assert_eq!(filters("filters[status]=issued"), vec![OrderFilter::Status(vec![OrderStatus::Issued])]);
    }

    #[test]
    fn a_nul_in_a_filter_value_is_refused() {
        let e = parse_list("filters[search]=%25a%00b", Some(MAX_LIMIT)).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn multi_value_filters() {
        assert_eq!(
            filters("filters[status][0]=issued&filters[status][1]=pending"),
            vec![OrderFilter::Status(vec![OrderStatus::Issued, OrderStatus::Pending])]
        );
    }

    #[test]
    fn search_contains_needs_encoded_percent() {
        assert_eq!(
            filters("filters[search]=%25exam"),
            vec![OrderFilter::Search(Search::Contains("exam".into()))]
        );
        assert_eq!(
            filters("filters[search]=example.com"),
            vec![OrderFilter::Search(Search::Exact("example.com".into()))]
        );
        assert!(parse_list("filters[search]=%25", Some(MAX_LIMIT)).is_err());
    }

    #[test]
    fn ranges() {
        let day = |raw| parse_range(raw).unwrap();
        assert_eq!(
            day("2024-01-01...2024-01-31"),
            TimeRange {
                start: Bound::Included(datetime!(2024-01-01 0:00 UTC)),
                end: Bound::Excluded(datetime!(2024-02-01 0:00 UTC))
            }
        );
        assert_eq!(day(">2024-01-01").start, Bound::Included(datetime!(2024-01-02 0:00 UTC)));
        assert_eq!(day("<2024-01-01").end, Bound::Excluded(datetime!(2024-01-01 0:00 UTC)));
        assert_eq!(day("<=2024-01-01").end, Bound::Excluded(datetime!(2024-01-02 0:00 UTC)));
        assert_eq!(day(">=2024-01-01 10:00:00").start, Bound::Included(datetime!(2024-01-01 10:00 UTC)));
        assert_eq!(
            day("2024-01-01T10:00:00+02:00...2024-01-02 00:00:00").end,
            Bound::Included(datetime!(2024-01-02 0:00 UTC))
        );
        assert!(parse_range("yesterday").is_none());
        assert!(parse_range("2024-13-01").is_none());
        // `+` between date and time arrives as a space once decoded
        assert_eq!(
            filters("filters[date_created]=2024-01-01+10:00:00...2024-01-02+10:00:00"),
            vec![OrderFilter::DateCreated(TimeRange {
                start: Bound::Included(datetime!(2024-01-01 10:00 UTC)),
                end: Bound::Included(datetime!(2024-01-02 10:00 UTC))
            })]
        );
    }

    #[test]
    fn sort_and_window() {
        let p = parse_list("sort=-date_created,common_name&offset=20&limit=5", Some(MAX_LIMIT)).unwrap();
        assert_eq!(
            p.query.sort,
            vec![
                SortKey { field: SortField::DateCreated, descending: true },
                SortKey { field: SortField::CommonName, descending: false }
            ]
        );
        assert_eq!((p.query.offset, p.query.limit, p.requested_limit), (20, Some(5), 5));
        let p = parse_list("", Some(MAX_LIMIT)).unwrap();
        assert_eq!((p.query.limit, p.requested_limit), (Some(MAX_LIMIT), 0));
        let p = parse_list("limit=0", None).unwrap();
        assert_eq!(p.query.limit, None);
    }

    #[test]
    fn errors_have_codes() {
        let code = |raw| parse_list(raw, Some(MAX_LIMIT)).unwrap_err().code;
        assert_eq!(code("limit=1001"), "invalid_limit");
        assert_eq!(code("limit=-1"), "invalid_limit");
        assert_eq!(code("offset=abc"), "invalid_offset");
        assert_eq!(code("sort=price"), "invalid_sort|price");
        assert_eq!(code("sort=id,-date_created,order_id"), "invalid_sort|repeated");
        let many = (0..=MAX_FILTER_VALUES).map(|i| format!("filters[id][{i}]={i}")).collect::<Vec<_>>();
        assert_eq!(parse_list(&many.join("&"), None).unwrap_err().code, "invalid_filter_value|id");
        assert!(parse_list(&many[1..].join("&"), Some(MAX_LIMIT)).is_ok());
        assert_eq!(code("filters[color]=red"), "invalid_filter|color");
        assert_eq!(code("filters[status]=lost"), "invalid_filter_value|status");
        assert_eq!(code("filters[id]=1%27%20OR%201=1"), "invalid_filter_value|id");
        assert_eq!(code("filters[id]=99999999999999999999999"), "invalid_filter_value|id");
        assert_eq!(code("filters[is_renewed]=maybe"), "invalid_filter_value|is_renewed");
        assert_eq!(code("filters[valid_till]=soon"), "invalid_filter_value|valid_till");
    }
}
