//! The checks every ACME POST passes (RFC 8555 §6.2-6.3): content type, flattened JWS,
//! algorithm, exactly one of `jwk` and `kid` as the resource expects, the signature, `url`
//! equal to the request URL, and a fresh nonce; the nonce's use, the account and the objects
//! the request is about read in one store call.

use axum::{
    body::Bytes,
    extract::{FromRequest, OriginalUri, Request},
    http::{StatusCode, header},
};
use certkeep_core::{
    Id, StoreResult,
    acme::{AcmeAccount, AcmeStatus, AcmeTx, steps, transaction},
};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::{
    jws::{Flattened, Header, Jwk, unsupported_algorithm},
    nonce,
    problem::Problem,
    url,
};
use crate::AppState;

/// A POST body as it arrived, with the URL it was sent to.
pub struct Post {
    url: String,
    body: Bytes,
    source: String,
}

impl FromRequest<AppState> for Post {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if content_type.split(';').next().map(str::trim) != Some("application/jose+json") {
            let mut p = Problem::malformed("ACME requests must be sent as application/jose+json.");
            p.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Err(p);
        }
        let path = req
            .extensions()
            .get::<OriginalUri>()
            .map_or(req.uri(), |u| &u.0)
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
        let path = path.strip_prefix("/acme").unwrap_or(&path).to_owned();
        let source = crate::audit::client_address(req.extensions());
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| Problem::malformed("The request body could not be read."))?;
        Ok(Self { url: url(state, &path), body, source })
    }
}

/// Who a request must be signed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// A key in the `jwk` header (newAccount).
    Key,
    /// An account, named by `kid` (most resources).
    Account,
    /// Either (revokeCert: by the account or by the certificate's key).
    Either,
}

/// A verified request.
pub struct Signed {
    /// The request URL (= the JWS `url`).
    pub url: String,
    /// The protected header.
    pub header: Header,
    /// The decoded payload (empty for POST-as-GET).
    pub payload: Vec<u8>,
    /// The key that signed it.
    pub jwk: Jwk,
    /// The account, when signed with `kid`.
    pub account: Option<AcmeAccount>,
    /// The client's address (for the audit log).
    pub source: String,
}

impl Signed {
    /// The signing account (for resources reached with `kid` only).
    pub fn account(&self) -> &AcmeAccount {
        self.account.as_ref().expect("resources signed by an account are verified with Signer::Account")
    }

    /// Whether this is a POST-as-GET (empty payload).
    pub fn is_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| Problem::malformed(format!("The payload is not the expected JSON object: {e}.")))
    }

    /// Refuses anything but POST-as-GET.
    pub fn expect_get(&self) -> Result<(), Problem> {
        if self.is_get() {
            Ok(())
        } else {
            Err(Problem::malformed("This resource is read with POST-as-GET (empty payload)."))
        }
    }
}

/// The account id in an account URL.
pub fn account_id(state: &AppState, kid: &str) -> Option<Id> {
    kid.strip_prefix(&url(state, "/account/"))?.parse().ok()
}

/// Verifies a POST that reads nothing beyond its signer.
pub async fn verify(state: &AppState, post: Post, signer: Signer) -> Result<Signed, Problem> {
    verify_with(state, post, signer, |_, _| Ok(())).await.map(|(signed, ())| signed)
}

/// Verifies a POST and reads what it is about, in one store call: the nonce's use, the signing
/// account and `read`'s objects come from one transaction (`read` is given the account when
/// the request names one that exists and is valid, and runs for key-signed requests with
/// none). The checks then answer in their order: the account, the signature, the `url`, the
/// nonce; so a request refused for its signature has still used its nonce, as at Boulder.
/// `read` must only bring the objects' own states up to date (what any reader would do),
/// never act on the request: it runs before the signature is checked.
pub async fn verify_with<T: Send + 'static>(
    state: &AppState,
    post: Post,
    signer: Signer,
    mut read: impl FnMut(&mut dyn AcmeTx, Option<&AcmeAccount>) -> StoreResult<T> + Send + 'static,
) -> Result<(Signed, T), Problem> {
    let jws = Flattened::parse(&post.body)?;
    let header = jws.header()?;
    if header.alg == "none" || header.alg.starts_with("HS") {
        return Err(unsupported_algorithm(format!("Algorithm {:?} is not accepted.", header.alg)));
    }
    let account_id = match (&header.jwk, &header.kid, signer) {
        (Some(_), Some(_), _) => {
            return Err(Problem::malformed("The JWS header must carry jwk or kid, not both."));
        }
        (None, None, _) => return Err(Problem::malformed("The JWS header carries neither jwk nor kid.")),
        (Some(_), None, Signer::Account) => {
            return Err(Problem::malformed("This resource must be signed by an account (kid), not a jwk."));
        }
        (None, Some(_), Signer::Key) => {
            return Err(Problem::malformed("This resource must be signed with a jwk, not a kid."));
        }
        (Some(_), None, _) => None,
        (None, Some(kid), _) => Some(account_id(state, kid).ok_or_else(|| {
            Problem::account_does_not_exist(format!("{kid:?} is not an account URL of this server."))
        })?),
    };
    let nonce = nonce::opened(state, header.nonce.clone());
    let used = nonce.as_ref().ok().cloned();
    let now = state.clock.now();
    let (opened, found) = state
        .store(move |s| {
            transaction(s.acme(), |tx| {
                let opened = steps::open(tx, used.as_ref().map(|(n, e)| (n.as_str(), *e)), account_id, now)?;
                let signer = opened.account.as_ref().filter(|a| a.status == AcmeStatus::Valid);
                let found = match (account_id, signer) {
                    (Some(_), None) => None,
                    (_, signer) => Some(read(tx, signer)?),
                };
                Ok((opened, found))
            })
        })
        .await?;
    let (jwk, account) = match (&header.jwk, &header.kid) {
        (Some(v), _) => (Jwk::parse(v)?, None),
        (None, kid) => {
            let kid = kid.as_deref().unwrap_or_default();
            let account = opened
                .account
                .ok_or_else(|| Problem::account_does_not_exist(format!("No account {kid}.")))?;
            if account.status != AcmeStatus::Valid {
                return Err(Problem::unauthorized(format!("The account is {}.", account.status)));
            }
            let value: serde_json::Value = serde_json::from_str(&account.jwk)
                .map_err(|_| Problem::internal("A stored account key is unreadable."))?;
            (Jwk::parse(&value)?, Some(account))
        }
    };
    jwk.verify(&header.alg, &jws.signing_input(), &jws.signature()?)?;
    if header.url.as_deref() != Some(post.url.as_str()) {
        return Err(Problem::unauthorized(format!(
            "The JWS url {:?} is not the request URL {:?}.",
            header.url.as_deref().unwrap_or(""),
            post.url
        )));
    }
    nonce?;
    if !opened.nonce_fresh {
        return Err(nonce::unknown());
    }
    let found = found.ok_or_else(|| Problem::internal("The request's objects were not read."))?;
    let payload = jws.payload()?;
    Ok((Signed { url: post.url, header, payload, jwk, account, source: post.source }, found))
}

/// [`verify_with`] for a resource signed by an account: `read` gets that account and the time
/// of the request, and finds nothing when the request names no valid account (the answer is
/// then the account's refusal).
pub async fn verify_for_account<T: Default + Send + 'static>(
    state: &AppState,
    post: Post,
    mut read: impl FnMut(&mut dyn AcmeTx, &AcmeAccount, OffsetDateTime) -> StoreResult<T> + Send + 'static,
) -> Result<(Signed, T), Problem> {
    let now = state.clock.now();
    verify_with(state, post, Signer::Account, move |tx, account| match account {
        Some(a) => read(tx, a, now),
        None => Ok(T::default()),
    })
    .await
}

crate::wire::dialect_path!(
    /// Path parameters whose rejection (an id that is not a number, a segment that is not UTF-8)
    /// answers as ACME does for a resource that does not exist.
    Problem = Problem::not_found("ACME resource")
);
