//! The inventory (search, status filter, pages) and the expiry view with its weekly chart.

use std::ops::Bound;

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use certkeep_core::{
    ExpiryOf, OrderFilter, OrderQuery, OrderStatus, OrderSummary, Product, Search, SortField, SortKey,
    TimeRange, days_remaining,
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
        }
    }
}

/// `GET /console`: the inventory.
pub async fn home() -> Response {
    Redirect::to("/console/inventory").into_response()
}

#[derive(Serialize)]
struct InventoryPage<'a> {
    header: Header,
    current: &'static str,
    q: &'a str,
    status: &'a str,
    statuses: Vec<&'static str>,
    total: u64,
    orders: Vec<OrderRow>,
    #[serde(flatten)]
    pager: Pager,
}

/// `GET /console/inventory?q=&status=&page=`: the user's orders, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = view::query_params(raw);
    let q = params.get("q").map_or("", |v| v.trim()).to_owned();
    let status = params.get("status").map_or("", |v| v.trim()).to_owned();
    let page = match view::page_number(params.get("page").map(String::as_str)) {
        Some(p) => p,
        None => return view::bad_page(),
    };
    let mut filters = vec![];
    if !q.is_empty() {
        filters.push(OrderFilter::Search(Search::Contains(q.clone())));
    }
    if !status.is_empty() {
        match STATUSES.into_iter().find(|s| s.as_str() == status) {
            Some(s) => filters.push(OrderFilter::Status(vec![s])),
            None => {
                return view::refusal(StatusCode::BAD_REQUEST, &format!("There is no status {status:?}."));
            }
        }
    }
    let query = OrderQuery {
        filters,
        sort: vec![SortKey { field: SortField::Id, descending: true }],
        offset: (page - 1) * PER_PAGE,
        limit: Some(PER_PAGE),
    };
    let (scope, now) = (signed.session.scope.clone(), state.clock.now());
    let found = match state.store(move |s| s.list_orders(&scope, &query, now)).await {
        Ok(found) => found,
        Err(e) => return view::failure(&e),
    };
    let link = |p: u64| {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("status", &status)
            .append_pair("page", &p.to_string())
            .finish();
        format!("/console/inventory?{query}")
    };
    let pager = Pager::new(page, found.total, PER_PAGE, link);
    view::page(
        StatusCode::OK,
        "inventory.html",
        &InventoryPage {
            header: signed.header(),
            current: "inventory",
            q: &q,
            status: &status,
            statuses: STATUSES.iter().map(|s| s.as_str()).collect(),
            total: found.total,
            orders: found.orders.iter().map(|o| OrderRow::of(o, now)).collect(),
            pager,
        },
    )
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
