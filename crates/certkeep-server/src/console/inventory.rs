//! The inventory (search, status filter, pages) and the expiry view with its weekly chart.

use std::{collections::HashMap, ops::Bound};

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use certkeep_core::{
    Door, ExpiryOf, Id, OrderFilter, OrderQuery, OrderStatus, OrderSummary, PRODUCTS, Product, Search,
    SortField, SortKey, TimeRange, days_remaining,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::session::SignedIn;
use super::view::{self, Header, Pager};
use crate::AppState;

/// Orders per inventory page.
const PER_PAGE: u64 = 25;
/// Weeks the expiry chart covers.
const WEEKS: usize = 26;
/// The statuses the inventory filters by.
const STATUSES: [OrderStatus; 8] = [
    OrderStatus::Issued,
    OrderStatus::Expired,
    OrderStatus::Pending,
    OrderStatus::NeedsApproval,
    OrderStatus::ReissuePending,
    OrderStatus::Revoked,
    OrderStatus::Rejected,
    OrderStatus::Canceled,
];

/// An order as the console's lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRow {
    id: i64,
    common_name: String,
    status: &'static str,
    product: &'static str,
    container: String,
    valid_till: String,
    days_left: Option<i64>,
    door: &'static str,
}

impl OrderRow {
    /// The row of `order` at `now` (its status as callers see it then).
    pub fn of(order: &OrderSummary, now: OffsetDateTime) -> Self {
        let till = order.certificate.valid_till;
        OrderRow {
            id: order.id,
            common_name: order.certificate.common_name.clone(),
            status: order.status.effective(till, now).as_str(),
            product: Product::find(&order.product_name_id).map_or("imported", |p| p.name),
            container: order.container.name.clone(),
            valid_till: till.map(view::date).unwrap_or_default(),
            days_left: till.map(|t| days_remaining(t, now)),
            door: door_name(order.door),
        }
    }
}

/// A door as people name it.
fn door_name(door: Door) -> &'static str {
    match door {
        Door::CertCentral => "CertCentral",
        Door::Acme => "ACME",
        Door::Ncp => "NCP",
        Door::Imported => "imported",
    }
}

/// `GET /console`: the inventory.
pub async fn home() -> Response {
    Redirect::to("/console/inventory").into_response()
}

/// The columns the inventory sorts by: (parameter, field).
const SORTS: [(&str, SortField); 6] = [
    ("id", SortField::Id),
    ("common_name", SortField::CommonName),
    ("status", SortField::Status),
    ("product", SortField::ProductNameId),
    ("container", SortField::ContainerId),
    ("valid_till", SortField::ValidTill),
];
/// The expiry windows the inventory filters by, in days from now.
const WINDOWS: [i64; 5] = [7, 30, 60, 90, 180];

/// The inventory's filters and sort as its query string gives them, every value checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct Filters {
    q: String,
    status: String,
    container: String,
    product: String,
    door: String,
    expires: String,
    sort: String,
    dir: String,
}

impl Filters {
    /// The filters of `params`, or the refusal of the first value that names nothing.
    fn parse(params: &HashMap<String, String>) -> Result<Self, String> {
        let get = |name: &str| params.get(name).map_or("", |v| v.trim()).to_owned();
        let f = Filters {
            q: get("q"),
            status: get("status"),
            container: get("container"),
            product: get("product"),
            door: get("door"),
            expires: get("expires"),
            sort: get("sort"),
            dir: get("dir"),
        };
        let known = |value: &str, ok: bool, what: &str| {
            if value.is_empty() || ok { Ok(()) } else { Err(format!("There is no {what} {value:?}.")) }
        };
        known(&f.status, STATUSES.iter().any(|s| s.as_str() == f.status), "status")?;
        known(&f.container, f.container.parse::<Id>().is_ok(), "container")?;
        known(&f.product, Product::find(&f.product).is_some(), "product")?;
        known(&f.door, Door::parse(&f.door).is_some(), "door")?;
        known(&f.expires, f.window().is_some(), "expiry window")?;
        known(&f.sort, SORTS.iter().any(|(name, _)| *name == f.sort), "column to sort by")?;
        known(&f.dir, ["asc", "desc"].contains(&f.dir.as_str()), "sort direction")?;
        Ok(f)
    }

    /// The expiry window in days, when one is chosen.
    fn window(&self) -> Option<i64> {
        WINDOWS.into_iter().find(|w| w.to_string() == self.expires)
    }

    /// The column sorted by and whether downwards (newest orders first when none is chosen).
    fn sorting(&self) -> (&str, bool) {
        match self.sort.as_str() {
            "" => ("id", self.dir != "asc"),
            column => (column, self.dir == "desc"),
        }
    }

    /// The store's query for these filters at `now` (without a page window).
    fn query(&self, now: OffsetDateTime) -> OrderQuery {
        let mut filters = vec![];
        if !self.q.is_empty() {
            filters.push(OrderFilter::Search(Search::Contains(self.q.clone())));
        }
        if let Some(s) = STATUSES.into_iter().find(|s| s.as_str() == self.status) {
            filters.push(OrderFilter::Status(vec![s]));
        }
        if let Ok(id) = self.container.parse::<Id>() {
            filters.push(OrderFilter::ContainerId(vec![id]));
        }
        if let Some(p) = Product::find(&self.product) {
            filters.push(OrderFilter::ProductNameId(vec![p.name_id.to_owned()]));
        }
        if let Some(d) = Door::parse(&self.door) {
            filters.push(OrderFilter::Door(vec![d]));
        }
        if let Some(days) = self.window() {
            filters.push(OrderFilter::ValidTill(TimeRange {
                start: Bound::Excluded(now),
                end: Bound::Included(now + Duration::days(days)),
            }));
        }
        let (column, descending) = self.sorting();
        let field = SORTS.iter().find(|(name, _)| *name == column).map_or(SortField::Id, |(_, f)| *f);
        OrderQuery { filters, sort: vec![SortKey { field, descending }], offset: 0, limit: None }
    }

    /// These filters as a query string, with `changes` (name, value) applied over them.
    fn link(&self, changes: &[(&str, &str)]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("status", &self.status),
            ("container", &self.container),
            ("product", &self.product),
            ("door", &self.door),
            ("expires", &self.expires),
            ("sort", &self.sort),
            ("dir", &self.dir),
        ] {
            let value = changes.iter().find(|(n, _)| *n == name).map_or(value.as_str(), |(_, v)| v);
            if !value.is_empty() {
                out.append_pair(name, value);
            }
        }
        out.finish()
    }
}

/// A sortable column's heading: its link sorts by it, upwards first, and again the other way.
#[derive(Serialize)]
struct Column {
    name: &'static str,
    label: &'static str,
    link: String,
    /// `ascending` or `descending` when the list is sorted by this column (for `aria-sort`).
    sorted: Option<&'static str>,
}

fn columns(f: &Filters) -> Vec<Column> {
    let labels = ["Order", "Common name", "Status", "Product", "Container", "Expires"];
    let (current, descending) = f.sorting();
    SORTS
        .iter()
        .zip(labels)
        .map(|((name, _), label)| {
            let sorted = (*name == current).then_some(if descending { "descending" } else { "ascending" });
            let dir = if sorted == Some("ascending") { "desc" } else { "asc" };
            Column {
                name,
                label,
                link: format!("/console/inventory?{}", f.link(&[("sort", name), ("dir", dir)])),
                sorted,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct InventoryPage {
    header: Header,
    current: &'static str,
    filters: Filters,
    statuses: Vec<&'static str>,
    containers: Vec<Choice>,
    products: Vec<Choice>,
    doors: Vec<Choice>,
    windows: Vec<i64>,
    columns: Vec<Column>,
    export: String,
    total: u64,
    orders: Vec<OrderRow>,
    #[serde(flatten)]
    pager: Pager,
}

/// `GET /console/inventory?q=&status=&container=&product=&door=&expires=&sort=&dir=&page=`:
/// the user's orders, filtered and sorted (newest first unless told otherwise), a page at a time.
pub async fn list(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = view::query_params(raw);
    let filters = match Filters::parse(&params) {
        Ok(f) => f,
        Err(message) => return view::refusal(StatusCode::BAD_REQUEST, &message),
    };
    let page = match view::page_number(params.get("page").map(String::as_str)) {
        Some(p) => p,
        None => return view::bad_page(),
    };
    let (scope, now) = (signed.session.scope.clone(), state.clock.now());
    let query = OrderQuery { offset: (page - 1) * PER_PAGE, limit: Some(PER_PAGE), ..filters.query(now) };
    let found =
        state.store(move |s| Ok((s.list_orders(&scope, &query, now)?, s.list_containers(&scope)?))).await;
    let (found, containers) = match found {
        Ok(found) => found,
        Err(e) => return view::failure(&e),
    };
    let link = |p: u64| format!("/console/inventory?{}", filters.link(&[("page", &p.to_string())]));
    let pager = Pager::new(page, found.total, PER_PAGE, link);
    view::page(
        StatusCode::OK,
        "inventory.html",
        &InventoryPage {
            header: signed.header(),
            current: "inventory",
            statuses: STATUSES.iter().map(|s| s.as_str()).collect(),
            containers: containers
                .iter()
                .map(|c| Choice { value: c.container.id.to_string(), label: c.container.name.clone() })
                .collect(),
            products: PRODUCTS
                .iter()
                .map(|p| Choice { value: p.name_id.to_owned(), label: p.name.to_owned() })
                .collect(),
            doors: Door::ALL
                .iter()
                .map(|d| Choice { value: d.as_str().to_owned(), label: door_name(*d).to_owned() })
                .collect(),
            windows: WINDOWS.to_vec(),
            columns: columns(&filters),
            export: format!("/console/inventory.csv?{}", filters.link(&[])),
            total: found.total,
            orders: found.orders.iter().map(|o| OrderRow::of(o, now)).collect(),
            pager,
            filters,
        },
    )
}

/// `GET /console/inventory.csv` with the inventory's filters and sort: every matching order as
/// CertCentral's CSV order report, streamed.
pub async fn export(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let filters = match Filters::parse(&view::query_params(raw)) {
        Ok(f) => f,
        Err(message) => return view::refusal(StatusCode::BAD_REQUEST, &message),
    };
    let query = filters.query(state.clock.now());
    let scope = signed.session.scope.clone();
    match crate::certcentral::csv::stream(state, scope, query).await {
        Ok(mut response) => {
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"certkeep-inventory.csv\""),
            );
            response
        }
        Err(e) => view::failure(&e),
    }
}

/// One week's bar of the expiry chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
struct Bar {
    week: String,
    count: u64,
    x: u32,
    y: u32,
    h: u32,
    /// Whether the week's date is written under the axis (every fourth week).
    label: bool,
}

/// The expiry chart, laid out in SVG user units.
#[derive(Debug, Clone, Serialize, PartialEq)]
struct Chart {
    width: u32,
    height: u32,
    left: u32,
    base: u32,
    bar: u32,
    max: u64,
    total: u64,
    start: String,
    bars: Vec<Bar>,
}

impl Chart {
    /// Bars for `counts` (one per week from `start`), scaled so the highest fills the plot.
    fn new(start: OffsetDateTime, counts: &[u64]) -> Self {
        const LEFT: u32 = 4;
        const BAR: u32 = 20;
        const GAP: u32 = 4;
        const PLOT: u32 = 180;
        const TOP: u32 = 20;
        let max = counts.iter().copied().max().unwrap_or(0);
        let bars = counts
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                // A week with any expiry gets at least a sliver, so it never looks empty.
                let h = if max == 0 { 0 } else { ((count * u64::from(PLOT)).div_ceil(max)) as u32 };
                Bar {
                    week: view::date(start + Duration::weeks(i as i64)),
                    count,
                    x: LEFT + i as u32 * (BAR + GAP),
                    y: TOP + PLOT - h,
                    h,
                    label: i % 4 == 0,
                }
            })
            .collect();
        Chart {
            width: LEFT + counts.len() as u32 * (BAR + GAP) + 60,
            height: TOP + PLOT + 24,
            left: LEFT,
            base: TOP + PLOT,
            bar: BAR,
            max,
            total: counts.iter().sum(),
            start: view::date(start),
            bars,
        }
    }
}

#[derive(Serialize)]
struct ExpiryPage {
    header: Header,
    current: &'static str,
    chart: Chart,
    soon: Vec<OrderRow>,
}

/// `GET /console/expiry`: issued certificates expiring per week for 26 weeks (one aggregate
/// query), and the orders expiring within 30 days, soonest first.
pub async fn expiry(State(state): State<AppState>, Extension(signed): Extension<SignedIn>) -> Response {
    let (scope, now) = (signed.session.scope.clone(), state.clock.now());
    let edges: Vec<OffsetDateTime> = (0..=WEEKS as i64).map(|w| now + Duration::weeks(w)).collect();
    let soon = OrderQuery {
        filters: vec![
            OrderFilter::Status(vec![OrderStatus::Issued]),
            OrderFilter::ValidTill(TimeRange {
                start: Bound::Excluded(now),
                end: Bound::Excluded(now + Duration::days(30)),
            }),
        ],
        sort: vec![SortKey { field: SortField::ValidTill, descending: false }],
        offset: 0,
        limit: Some(100),
    };
    let found = state
        .store(move |s| {
            let counts = s.count_expiring(Some(&scope), ExpiryOf::Orders, &edges)?;
            Ok((counts, s.list_orders(&scope, &soon, now)?))
        })
        .await;
    let (counts, soon) = match found {
        Ok(found) => found,
        Err(e) => return view::failure(&e),
    };
    let mut weeks = [0u64; WEEKS];
    for c in counts.iter().filter(|c| c.status == OrderStatus::Issued.as_str()) {
        if let Some(week) = weeks.get_mut(c.window) {
            *week += c.count;
        }
    }
    view::page(
        StatusCode::OK,
        "expiry.html",
        &ExpiryPage {
            header: signed.header(),
            current: "expiry",
            chart: Chart::new(now, &weeks),
            soon: soon.orders.iter().map(|o| OrderRow::of(o, now)).collect(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_scales_to_its_busiest_week_and_labels_every_fourth() {
        let start = time::macros::datetime!(2026-06-01 0:00 UTC);
        let mut counts = [0u64; WEEKS];
        counts[0] = 4;
        counts[1] = 1;
        counts[25] = 2;
        let chart = Chart::new(start, &counts);
        assert_eq!((chart.max, chart.total, chart.bars.len()), (4, 7, WEEKS));
        assert_eq!(chart.bars[0].h, 180, "the busiest week fills the plot");
        assert_eq!(chart.bars[1].h, 45);
        assert_eq!(chart.bars[2].h, 0);
        assert_eq!(chart.bars[0].y + chart.bars[0].h, chart.base, "bars stand on the axis");
        assert_eq!(chart.bars[25].week, "2026-11-23");
        assert!(chart.bars[4].label && !chart.bars[5].label);
        assert!(chart.bars.last().unwrap().x + chart.bar < chart.width);
        assert!(Chart::new(start, &[0; WEEKS]).bars.iter().all(|b| b.h == 0));
    }
}
