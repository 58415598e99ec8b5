//! The operator console under `/console`: server-rendered HTML over the same inventory and
//! lifecycle the API doors use, for people rather than programs. Signing in opens a session
//! kept in the database ([`session`]); every page sees only the signed-in user's scope, every
//! form carries the session's CSRF token, and every action goes through the lifecycle, which
//! audits it. No JavaScript: plain forms and links, one stylesheet.

mod contracts;
mod inventory;
mod orders;
pub mod password;
mod records;
mod session;
mod view;

use axum::{Router, http::Method, middleware};

use crate::AppState;
use crate::routes::{self, Entry, at};
use session::Need;
pub use view::refusal;

/// Pages anyone may load: the sign-in form and the stylesheet.
fn public() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::GET, "/style.css", view::stylesheet),
        at(M::GET, "/sign-in", session::sign_in_page),
        at(M::POST, "/sign-in", session::sign_in),
    ]
}

/// Pages for anyone signed in, view-only users included (signing out is a form too).
fn looking() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::GET, "/", inventory::home),
        at(M::GET, "/inventory", inventory::list),
        at(M::GET, "/inventory.csv", inventory::export),
        at(M::GET, "/expiry", inventory::expiry),
        at(M::GET, "/orders/{order}", orders::show),
        at(M::GET, "/certificates/{certificate}/chain.pem", orders::chain),
        at(M::GET, "/domains", records::domains),
        at(M::GET, "/contracts", contracts::list),
        at(M::GET, "/audit", records::audit),
        at(M::GET, "/webhook", records::webhook),
        at(M::POST, "/sign-out", session::sign_out),
    ]
}

/// Forms that change the inventory: refused to view-only users.
fn acting() -> Vec<Entry<AppState>> {
    vec![
        at(Method::POST, "/orders/{order}/revoke", orders::revoke),
        at(Method::POST, "/orders/{order}/requests/{request}", orders::decide),
        at(Method::POST, "/contracts", contracts::create),
        at(Method::POST, "/contracts/{contract}/regenerate", contracts::regenerate),
    ]
}

/// Every console route, relative to `/console`.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    public().into_iter().chain(looking()).chain(acting()).collect()
}

/// The console's router: the public pages, and the others behind [`session::guard`].
pub fn router(state: AppState) -> Router {
    let guarded = |table, need: Need| {
        routes::router(table)
            .route_layer(middleware::from_fn_with_state((state.clone(), need), session::guard))
    };
    routes::router(public())
        .merge(guarded(looking(), Need::Look))
        .merge(guarded(acting(), Need::Act))
        .with_state(state.clone())
}
