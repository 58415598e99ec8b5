//! Signing in and out, and the guard in front of every other page. A session is a random
//! token in a cookie (`Secure; HttpOnly; SameSite=Strict; Path=/console`) whose SHA-256 names
//! a row in the database, so every replica accepts it and signing out ends it everywhere.
//! Each session has its own CSRF token, which every form carries and the guard checks on
//! every POST; the sign-in form, before any session, is protected the same way by a
//! short-lived cookie it must echo (double submit).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use certkeep_core::{
    AccessRole, ApiKeyRole, ConsoleSession, NewConsoleSession,
    credentials::{hash_api_key, hex_upper, random_bytes},
    lifecycle::{Actor, AuditEvent},
};
use serde::Serialize;
use time::Duration;

use super::{password, view};
use crate::{
    AppState,
    audit::{Caller, client_address, refused_write},
};

/// The session cookie.
const COOKIE: &str = "certkeep_console";
/// The sign-in form's own cookie, echoed by the form.
const SIGN_IN_COOKIE: &str = "certkeep_console_sign_in";
/// How long a session lasts from sign-in.
const SESSION: Duration = Duration::hours(8);
/// Sign-in attempts per client address: 10 in any 5 minutes, counted in the database so that
/// replicas share the count.
const SIGN_IN_LIMIT: (u32, u64) = (10, 300);
/// The largest form the console reads.
const FORM_LIMIT: usize = 64 * 1024;
/// The audit action of requests refused here.
const REFUSED: &str = "console.auth";

/// What a guarded route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A session (and, on POST, its CSRF token).
    Look,
    /// That, and a role that may change things.
    Act,
}

/// The signed-in user of a request, put in its extensions by [`guard`].
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session.
    pub session: ConsoleSession,
    /// The user as the audit log records them.
    pub actor: Actor,
    token_hash: Vec<u8>,
}

impl SignedIn {
    /// Whether the user may change things (not a view-only sign-in).
    pub fn may_act(&self) -> bool {
        self.session.role.can_write()
    }

    /// Administrators who may act (opening ACME contracts and rotating their credentials).
    pub fn administers(&self) -> bool {
        self.may_act() && self.session.access_role == AccessRole::Administrator
    }

    /// Administrators who see the whole account with their full rights (the audit log's readers,
    /// as in the CertCentral door).
    pub fn sees_whole_account(&self) -> bool {
        self.session.access_role == AccessRole::Administrator
            && self.session.role == ApiKeyRole::Inherit
            && self.session.scope.containers.is_none()
    }

    /// What every page's layout shows about the user.
    pub fn header(&self) -> view::Header {
        view::Header {
            username: self.session.username.clone(),
            role: if self.may_act() { "full access" } else { "view only" },
            csrf: self.session.csrf_token.clone(),
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| v.len() <= 128)
}

/// A `Set-Cookie` value for the console's path with every protective attribute.
fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    let cookie =
        format!("{name}={value}; Path=/console; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict");
    HeaderValue::from_str(&cookie).expect("cookie values are hex")
}

fn same(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A new random token: 32 bytes, upper-case hex.
fn token() -> String {
    hex_upper(&random_bytes::<32>())
}

/// The field `name` of a URL-encoded form.
fn field(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Lets a request through with its [`SignedIn`] user, or refuses it: no session (a page is
/// sent to the sign-in form), a POST without the session's CSRF token, or a view-only user's
/// action. Refused POSTs are audited.
pub async fn guard(State((state, need)): State<(AppState, Need)>, request: Request, next: Next) -> Response {
    let token_hash = cookie(request.headers(), COOKIE).map(hash_api_key);
    let found = match token_hash.clone() {
        Some(hash) => {
            let now = state.clock.now();
            state.store(move |s| s.console_session(&hash, now)).await.map(|s| s.zip(token_hash))
        }
        None => Ok(None),
    };
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    let (session, token_hash) = match found {
        Ok(Some(found)) => found,
        Ok(None) if reading => return Redirect::to("/console/sign-in").into_response(),
        Ok(None) => {
            refused_write(&state, &request, Caller::default(), REFUSED, "no console session").await;
            return view::refusal(StatusCode::FORBIDDEN, "Sign in first.");
        }
        Err(e) => return view::failure(&e),
    };
    let caller = Caller {
        account_id: Some(session.scope.account_id),
        user_id: Some(session.user_id),
        api_key_id: None,
    };
    let request = if reading {
        request
    } else {
        let (parts, body) = request.into_parts();
        let Ok(form) = to_bytes(body, FORM_LIMIT).await else {
            return view::refusal(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
        };
        let sent = field(&form, "csrf");
        let request = Request::from_parts(parts, Body::from(form));
        if !sent.is_some_and(|t| same(&t, &session.csrf_token)) {
            refused_write(&state, &request, caller, REFUSED, "missing or wrong CSRF token").await;
            return view::refusal(StatusCode::FORBIDDEN, "This form was not sent from your console session.");
        }
        if need == Need::Act && !session.role.can_write() {
            refused_write(&state, &request, caller, REFUSED, "view-only console user").await;
            return view::refusal(
                StatusCode::FORBIDDEN,
                "Your sign-in is view only: it cannot change anything.",
            );
        }
        request
    };
    let actor = Actor {
        user_id: session.user_id,
        api_key_id: None,
        api_key: None,
        may_skip_approval: session.role.may_skip_approval(session.access_role),
        source: client_address(request.extensions()),
    };
    let mut request = request;
    request.extensions_mut().insert(SignedIn { session, actor, token_hash });
    next.run(request).await
}

#[derive(Serialize)]
struct SignInPage<'a> {
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// The sign-in form, with a fresh token in its cookie and in the form.
fn sign_in_form(status: StatusCode, username: &str, error: Option<&str>) -> Response {
    let csrf = token();
    let mut response = view::page(status, "sign_in.html", &SignInPage { csrf: &csrf, username, error });
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, &csrf, 600));
    response
}

/// `GET /console/sign-in`.
pub async fn sign_in_page() -> Response {
    sign_in_form(StatusCode::OK, "", None)
}

/// `POST /console/sign-in`: user name and password; opens a session and goes to the inventory.
pub async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let source = client_address(request.extensions());
    let echoed = cookie(request.headers(), SIGN_IN_COOKIE).map(str::to_owned);
    let (parts, body) = request.into_parts();
    let Ok(form) = to_bytes(body, FORM_LIMIT).await else {
        return view::refusal(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let (sent, username, password) =
        (field(&form, "csrf"), field(&form, "username"), field(&form, "password"));
    let request = Request::from_parts(parts, Body::from(form));
    if !echoed.zip(sent).is_some_and(|(a, b)| same(&a, &b)) {
        refused_write(&state, &request, Caller::default(), "console.sign-in", "missing or wrong CSRF token")
            .await;
        return sign_in_form(
            StatusCode::FORBIDDEN,
            "",
            Some("The sign-in form had expired. Please try again."),
        );
    }
    let (Some(username), Some(password)) = (username, password) else {
        return sign_in_form(StatusCode::BAD_REQUEST, "", Some("Enter your user name and password."));
    };
    let now = state.clock.now();
    let caller = format!("console:sign-in:{source}");
    let name = username.clone();
    let checked = state
        .store(move |s| {
            if !s.count_request(&caller, &[SIGN_IN_LIMIT], now)? {
                return Ok(None);
            }
            let login = s.console_login(&name)?;
            let valid = password::verify(&password, login.as_ref().map(|l| l.password_hash.as_str()));
            Ok(Some(login.filter(|_| valid)))
        })
        .await;
    let login = match checked {
        Ok(Some(Some(login))) => login,
        Ok(Some(None)) => {
            refused_write(
                &state,
                &request,
                Caller::default(),
                "console.sign-in",
                "wrong user name or password",
            )
            .await;
            return sign_in_form(StatusCode::UNAUTHORIZED, &username, Some("Wrong user name or password."));
        }
        Ok(None) => {
            return sign_in_form(
                StatusCode::TOO_MANY_REQUESTS,
                &username,
                Some("Too many sign-in attempts from your address. Wait a few minutes."),
            );
        }
        Err(e) => return view::failure(&e),
    };
    let (session_token, csrf_token) = (token(), token());
    let new = NewConsoleSession {
        token_hash: hash_api_key(&session_token),
        user_id: login.user_id,
        csrf_token,
        created_at: now,
        expires_at: now + SESSION,
    };
    let hash = new.token_hash.clone();
    let opened = state
        .store(move |s| {
            s.create_console_session(&new)?;
            let session = s.console_session(&hash, now)?;
            if let Some(session) = &session {
                s.record_audit(&event(session, "console.sign-in", source, now))?;
            }
            Ok(session)
        })
        .await;
    match opened {
        Ok(Some(_)) => {
            let mut response = Redirect::to("/console/inventory").into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, set_cookie(COOKIE, &session_token, SESSION.whole_seconds()));
            headers.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", 0));
            response
        }
        Ok(None) => view::refusal(StatusCode::CONFLICT, "The session could not be opened."),
        Err(e) => view::failure(&e),
    }
}

/// A successful sign-in or sign-out, for the audit log.
fn event(session: &ConsoleSession, action: &str, source: String, at: time::OffsetDateTime) -> AuditEvent {
    AuditEvent {
        account_id: Some(session.scope.account_id),
        user_id: Some(session.user_id),
        api_key_id: None,
        action: action.into(),
        object: format!("user:{}", session.user_id),
        detail: String::new(),
        source,
        at,
        refused: false,
    }
}

/// `POST /console/sign-out`: deletes the session (everywhere) and clears the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    axum::Extension(signed): axum::Extension<SignedIn>,
) -> Response {
    let now = state.clock.now();
    let SignedIn { session, actor, token_hash } = signed;
    let ended = state
        .store(move |s| {
            s.delete_console_session(&token_hash)?;
            s.record_audit(&event(&session, "console.sign-out", actor.source, now))
        })
        .await;
    if let Err(e) = ended {
        return view::failure(&e);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, "", 0));
    response
}
