//! Rendering: the templates (minijinja, HTML auto-escaped), the stylesheet, and the headers
//! every console answer carries (no caching, no framing, a content security policy that allows
//! no script at all).

use std::sync::LazyLock;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use minijinja::{Environment, value::Serde};
use serde::Serialize;

/// The templates, compiled once.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("sign_in.html", include_str!("templates/sign_in.html")),
        ("refusal.html", include_str!("templates/refusal.html")),
        ("pager.html", include_str!("templates/pager.html")),
        ("inventory.html", include_str!("templates/inventory.html")),
        ("expiry.html", include_str!("templates/expiry.html")),
        ("order.html", include_str!("templates/order.html")),
        ("domains.html", include_str!("templates/domains.html")),
        ("contracts.html", include_str!("templates/contracts.html")),
        ("contract_key.html", include_str!("templates/contract_key.html")),
        ("audit.html", include_str!("templates/audit.html")),
        ("webhook.html", include_str!("templates/webhook.html")),
    ] {
        env.add_template(name, source).expect("console templates parse");
    }
    env
});

/// Who is signed in, as the layout shows it (and the CSRF token its sign-out form carries).
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// Login name.
    pub username: String,
    /// `full access` or `view only`.
    pub role: &'static str,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Headers that keep console pages out of caches and frames and forbid script.
fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Template `name` rendered with `context`, as an HTML answer with `status`.
pub fn page(status: StatusCode, name: &str, context: &impl Serialize) -> Response {
    let rendered = TEMPLATES.get_template(name).and_then(|t| t.render(Serde(context)));
    match rendered {
        Ok(html) => protect(
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html)
                .into_response(),
        ),
        Err(e) => {
            tracing::error!(error = %e, template = name, "a console page failed to render");
            protect((StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.\n").into_response())
        }
    }
}

#[derive(Serialize)]
struct Refusal<'a> {
    status: u16,
    message: &'a str,
}

/// A page saying why a request was refused, with `status`.
pub fn refusal(status: StatusCode, message: &str) -> Response {
    page(status, "refusal.html", &Refusal { status: status.as_u16(), message })
}

/// A failure of the store or the CA: logged, and shown without its details.
pub fn failure(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console request failed");
    refusal(StatusCode::SERVICE_UNAVAILABLE, "The inventory is not answering. Try again shortly.")
}

/// `GET /console/style.css`.
pub async fn stylesheet() -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"))],
        include_str!("templates/style.css"),
    )
        .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Links to the pages before and after `page` (from 1) of `total` rows, `per_page` a page.
#[derive(Debug, Clone, Serialize)]
pub struct Pager {
    /// This page.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
    /// The previous page's link.
    pub previous: Option<String>,
    /// The next page's link.
    pub next: Option<String>,
}

impl Pager {
    /// The pager of `page`, with `link` giving a page's address.
    pub fn new(page: u64, total: u64, per_page: u64, link: impl Fn(u64) -> String) -> Self {
        let pages = total.div_ceil(per_page).max(1);
        Pager {
            page,
            pages,
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// The `page` parameter (from 1) of a query string (1 when absent); `None` when it is not a page.
pub fn page_number(value: Option<&str>) -> Option<u64> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Some(1),
        Some(v) => v.parse::<u64>().ok().filter(|p| (1..=1_000_000).contains(p)),
    }
}

/// The refusal of a `page` parameter [`page_number`] did not take.
pub fn bad_page() -> Response {
    refusal(StatusCode::BAD_REQUEST, "The page number must be a whole number from 1.")
}

/// A query string's parameters (the last value of each name wins).
pub fn query_params(raw: Option<String>) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// A date as the console shows it (`2026-06-01`).
pub fn date(t: time::OffsetDateTime) -> String {
    crate::wire::ymd(t)
}

/// An instant as the console shows it (`2026-06-01 10:15:30 UTC`).
pub fn instant(t: time::OffsetDateTime) -> String {
    format!("{} UTC", crate::wire::ymd_hms(t))
}
