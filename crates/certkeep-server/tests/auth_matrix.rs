//! The authentication matrix, generated from the router's own route table
//! ([`certkeep_server::routes`]): every route of every front door is called with no
//! credentials, a bad credential, another tenant's credential, a view-only key (writes) and a
//! parent partner key (contract routes). Each must answer with its dialect's own denial, and
//! another tenant's object must look exactly like a missing one and never show its data.

mod acme_common;
mod common;

use std::collections::HashMap;

use acme_common::{AcmeServer, RawKey, SANS};
use aws_lc_rs::hmac;
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use certkeep_core::{credentials::hash_api_key, partner::AcmeContract};
use certkeep_server::{FrontDoor, Route, routes};
use common::{NOW, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// Routes anyone may call, by design: ACME's directory, nonces and renewal info (RFC 8555
/// §7.1, RFC 9773), CRL/OCSP/CA certificates, and the health check.
const PUBLIC: [(&str, &str); 12] = [
    ("GET", "/acme/directory"),
    ("GET", "/acme/directory/"),
    ("GET", "/acme/new-nonce"),
    ("HEAD", "/acme/new-nonce"),
    ("GET", "/acme/renewal-info/{id}"),
    ("GET", "/pki/crl"),
    ("POST", "/pki/ocsp"),
    ("GET", "/pki/ocsp/{request}"),
    ("GET", "/pki/intermediate.crt"),
    ("GET", "/pki/root.crt"),
    ("GET", "/pki/root.crl"),
    ("GET", "/healthz"),
];

fn is_public(r: &Route) -> bool {
    PUBLIC.contains(&(r.method.as_str(), r.path.as_str()))
}

fn door(d: FrontDoor) -> Vec<Route> {
    routes().into_iter().filter(|r| r.door == d).collect()
}

/// `path` with each `{param}` replaced from `values` (unknown parameters fail the test).
fn fill(path: &str, values: &HashMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        let name = &rest[open + 1..close];
        out.push_str(&rest[..open]);
        out.push_str(values.get(name).unwrap_or_else(|| panic!("no value for {{{name}}} in {path}")));
        rest = &rest[close + 1..];
    }
    out + rest
}

/// Whether the path names a tenant's object (its parameters identify inventory rows).
fn names_object(path: &str) -> bool {
    ["{order}", "{certificate}", "{request}", "{contract}", "{id}", "{webhook}"]
        .iter()
        .any(|p| path.contains(p))
        && path != "/services/v2/order/certificate/{order}" // POST: {order} is a product name
}

struct Resp {
    status: u16,
    content_type: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// CertCentral's and the Partner API's `errors[0].code`.
    fn code(&self) -> String {
        self.json()["errors"][0]["code"].as_str().unwrap_or_default().to_owned()
    }
}

async fn call(client: &reqwest::Client, method: &Method, url: &str, headers: &[(&str, String)]) -> Resp {
    let mut req = client.request(method.clone(), url);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    if *method != Method::GET && *method != Method::HEAD {
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
            req = req.header("content-type", "application/json");
        }
        req = req.body("{}");
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type =
        resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    Resp { status, content_type, body: resp.text().await.unwrap() }
}

/// Asserts that `body` mentions none of `secrets`.
fn assert_no_leak(what: &str, body: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!body.contains(secret.as_str()), "{what} shows another tenant's {secret:?}: {body}");
    }
}

#[test]
fn every_route_is_in_the_matrix_and_the_public_list_is_current() {
    let all = routes();
    assert!(all.len() > 50, "{} routes", all.len());
    for (method, path) in PUBLIC {
        assert!(
            all.iter().any(|r| r.method == method && r.path == path),
            "stale public route {method} {path}"
        );
    }
    // Every non-public route belongs to a door whose matrix test below walks all its routes.
    for r in all.iter().filter(|r| !is_public(r)) {
        assert!(
            matches!(
                r.door,
                FrontDoor::CertCentral
                    | FrontDoor::Partner
                    | FrontDoor::Ncp
                    | FrontDoor::Acme
                    | FrontDoor::Ops
                    | FrontDoor::Console
            ),
            "{r:?} is neither public nor authenticated"
        );
    }
}

/// Console pages anyone may load: the sign-in form (and its POST, which takes a password, not
/// a session) and the stylesheet.
const CONSOLE_PUBLIC: [(&str, &str); 3] =
    [("GET", "/console/style.css"), ("GET", "/console/sign-in"), ("POST", "/console/sign-in")];

#[tokio::test]
async fn console_routes() {
    let s = TestServer::start().await;
    let routes = door(FrontDoor::Console);
    for (method, path) in CONSOLE_PUBLIC {
        assert!(routes.iter().any(|r| r.method == method && r.path == path), "stale {method} {path}");
    }
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let values = HashMap::from([
        ("order", s.fx.issued.to_string()),
        ("certificate", "1".to_owned()),
        ("request", "1".to_owned()),
        ("contract", "1".to_owned()),
    ]);
    let secrets = vec!["www.alpha.com".to_owned()];
    for r in routes.iter().filter(|r| !CONSOLE_PUBLIC.contains(&(r.method.as_str(), r.path.as_str()))) {
        let url = format!("{}{}", s.base, fill(&r.path, &values));
        let what = format!("{} {}", r.method, r.path);
        // No session, a made-up one, another door's credential: a page goes to the sign-in
        // form, a form is refused, and nothing is shown.
        for headers in [
            vec![],
            vec![("Cookie", format!("certkeep_console={}", "A".repeat(64)))],
            vec![("X-DC-DEVKEY", s.fx.admin_key.clone())],
        ] {
            let resp = call(&client, &r.method, &url, &headers).await;
            if r.method == Method::GET {
                assert_eq!(resp.status, 303, "{what}");
            } else {
                assert_eq!(resp.status, 403, "{what}");
                assert!(resp.content_type.starts_with("text/html"), "{what}");
            }
            assert_no_leak(&what, &resp.body, &secrets);
        }
    }
    assert_eq!(s.json(&format!("/order/certificate/{}", s.fx.issued)).await["status"], "issued");
}

#[tokio::test]
async fn operations_routes() {
    let s = TestServer::start().await;
    let routes: Vec<Route> = door(FrontDoor::Ops).into_iter().filter(|r| !is_public(r)).collect();
    assert_eq!(routes.len(), 1, "{routes:?}");
    for r in &routes {
        let url = format!("{}{}", s.base, r.path);
        let what = format!("{} {}", r.method, r.path);
        // No token, a wrong one, another door's credential: refused, and nothing shown.
        for headers in [
            vec![],
            vec![("Authorization", "Bearer not-the-token".to_owned())],
            vec![("X-DC-DEVKEY", s.fx.admin_key.clone())],
        ] {
            let resp = call(&s.client, &r.method, &url, &headers).await;
            assert_eq!(resp.status, 401, "{what}");
            assert!(!resp.body.contains("certkeep_"), "{what}");
        }
        let resp = call(
            &s.client,
            &r.method,
            &url,
            &[("Authorization", format!("Bearer {}", common::METRICS_TOKEN))],
        )
        .await;
        assert_eq!(resp.status, 200, "{what}");
    }
}

#[tokio::test]
async fn certcentral_routes() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let issued = s.json(&format!("/order/certificate/{}", fx.issued)).await;
    let requests = s.json("/request").await;
    let orders = s.json("/order/certificate").await;
    let mut secrets: Vec<String> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["certificate"]["common_name"].as_str().unwrap().to_owned())
        .collect();
    secrets.push(issued["certificate"]["serial_number"].as_str().unwrap().to_owned());
    let domain = s.vouch_domain(fx.account, "matrix.example.com");
    let hook = json!({"endpoint": "https://127.0.0.1:9/hook", "secret": "s".repeat(32), "events": ["order_rejected"]});
    let (status, created) = s.send(Method::POST, &fx.admin_key, "/webhook", hook).await;
    assert_eq!(status, 201, "{created}");
    let webhook = serde_json::from_str::<Value>(&created).unwrap()["webhook_id"].to_string();
    let ours = HashMap::from([
        ("webhook", webhook),
        ("order", fx.issued.to_string()),
        ("domain", domain.to_string()),
        ("certificate", issued["certificate"]["id"].to_string()),
        ("request", requests["requests"][0]["id"].to_string()),
        ("format", "pem".to_owned()),
        ("platform", "45".to_owned()),
        ("product", "ssl_plus".to_owned()),
    ]);
    let mut missing = ours.clone();
    for k in ["order", "certificate", "request", "domain", "webhook"] {
        missing.insert(k, "987654321".to_owned());
    }
    let snapshot = || async {
        let o = [fx.issued, fx.pending, fx.needs_approval, fx.with_duplicates];
        let mut v = vec![s.json("/request").await];
        for id in o {
            v.push(s.json(&format!("/order/certificate/{id}")).await);
        }
        v
    };
    let before = snapshot().await;
    let key = |k: &str| vec![("X-DC-DEVKEY", k.to_owned())];
    let routes = door(FrontDoor::CertCentral);
    assert!(routes.len() >= 30);
    for r in &routes {
        let (url, absent) =
            (format!("{}{}", s.base, fill(&r.path, &ours)), format!("{}{}", s.base, fill(&r.path, &missing)));
        let what = format!("{} {}", r.method, r.path);
        // Two copies of the key, whichever is good, are refused: never resolved to one of them.
        let twice = |a: &str, b: &str| [key(a), key(b)].concat();
        for headers in [
            vec![],
            key("not-a-key"),
            key(&"x".repeat(300)),
            twice(&fx.admin_key, &fx.admin_key),
            twice(&fx.admin_key, "not-a-key"),
            twice("not-a-key", &fx.admin_key),
        ] {
            let resp = call(&s.client, &r.method, &url, &headers).await;
            assert_eq!(
                (resp.status, resp.code().as_str()),
                (403, "access_denied|access_denied_invalid_key"),
                "{what}"
            );
            assert_eq!(resp.content_type, "application/json", "{what}");
        }
        if r.method != Method::GET {
            let resp = call(&s.client, &r.method, &url, &key(&fx.view_only_key)).await;
            assert_eq!(
                (resp.status, resp.code().as_str()),
                (403, "access_denied|missing_permission"),
                "{what}"
            );
        }
        let theirs = call(&s.client, &r.method, &url, &key(&fx.other_tenant_key)).await;
        assert!(theirs.status < 500, "{what}: {}", theirs.body);
        assert_no_leak(&what, &theirs.body, &secrets);
        if names_object(&r.path) {
            let nothing = call(&s.client, &r.method, &absent, &key(&fx.other_tenant_key)).await;
            assert_eq!(
                (theirs.status, theirs.code()),
                (nothing.status, nothing.code()),
                "{what}: {}",
                theirs.body
            );
            if r.method == Method::GET {
                assert_eq!(theirs.status, 404, "{what}");
            }
        }
    }
    assert_eq!(snapshot().await, before, "no denied request changed anything");
}

#[tokio::test]
async fn partner_routes() {
    let s = TestServer::start().await;
    let parent = "PARENT-KEY-FOR-THE-MATRIX".to_owned();
    s.store.create_partner_key(s.fx.account, &hash_api_key(&parent), NOW).unwrap();
    let other_parent = "OTHER-PARENT-KEY-FOR-THE-MATRIX".to_owned();
    s.store.create_partner_key(s.fx.other_account, &hash_api_key(&other_parent), NOW).unwrap();
    let base = format!("{}/partner-subscription/api/v1", s.base);
    let key = |k: &str| vec![("X-PARTNER-APIKEY", k.to_owned())];
    let post = |k: &str, path: &str, body: Value| {
        let req = s.client.post(format!("{base}{path}")).header("X-PARTNER-APIKEY", k).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 201);
            resp.json::<Value>().await.unwrap()
        }
    };
    let sub = post(&parent, "/account/subaccount", json!({"name": "Matrix Customer"})).await;
    let sub_key = sub["api_key"].as_str().unwrap().to_owned();
    let other_sub = post(&other_parent, "/account/subaccount", json!({"name": "Other Customer"})).await;
    let other_sub_key = other_sub["api_key"].as_str().unwrap().to_owned();
    let contract =
        post(&sub_key, "/acme", json!({"product_name_id": "ssl_dv_geotrust", "sans": ["matrix.test"]})).await;
    let id = contract["acme_contract_id"].to_string();
    let secrets = vec![
        "matrix.test".to_owned(),
        "Matrix Customer".to_owned(),
        contract["eab_set"]["key_id"].as_str().unwrap().to_owned(),
    ];
    let read = || async {
        let resp = call(&s.client, &Method::GET, &format!("{base}/acme/{id}"), &key(&sub_key)).await;
        let creds =
            call(&s.client, &Method::GET, &format!("{base}/acme/{id}/credentials"), &key(&sub_key)).await;
        (resp.body, creds.body)
    };
    let before = read().await;
    let (ours, missing) =
        (HashMap::from([("contract", id.clone())]), HashMap::from([("contract", "987654".into())]));
    for r in door(FrontDoor::Partner) {
        let what = format!("{} {}", r.method, r.path);
        let url = format!("{}{}", s.base, fill(&r.path, &ours));
        let good = if r.path.contains("/acme") { &sub_key } else { &parent };
        for headers in [
            vec![],
            key("not-a-key"),
            key(&s.fx.admin_key),
            [key(good), key(good)].concat(),
            [key(good), key("not-a-key")].concat(),
        ] {
            let resp = call(&s.client, &r.method, &url, &headers).await;
            assert_eq!(
                (resp.status, resp.code().as_str()),
                (403, "access_denied|access_denied_invalid_key"),
                "{what}"
            );
        }
        let contract_route = r.path.contains("/acme");
        let (wrong_kind, code) = if contract_route {
            (&parent, "access_denied|parent_key_not_allowed")
        } else {
            (&sub_key, "access_denied|subaccount_key_not_allowed")
        };
        let resp = call(&s.client, &r.method, &url, &key(wrong_kind)).await;
        assert_eq!((resp.status, resp.code().as_str()), (403, code), "{what}");
        let stranger = if contract_route { &other_sub_key } else { &other_parent };
        let theirs = call(&s.client, &r.method, &url, &key(stranger)).await;
        assert!(theirs.status < 500, "{what}: {}", theirs.body);
        assert_no_leak(&what, &theirs.body, &secrets);
        if names_object(&r.path) {
            let absent = format!("{}{}", s.base, fill(&r.path, &missing));
            let nothing = call(&s.client, &r.method, &absent, &key(stranger)).await;
            assert_eq!((theirs.status, theirs.code()), (nothing.status, nothing.code()), "{what}");
            assert_eq!((theirs.status, theirs.code().as_str()), (404, "not_found|acme_contract"), "{what}");
        }
    }
    assert_eq!(read().await, before, "no denied request changed the contract");
}

/// NCP's signature headers for `method target` at the server's clock.
fn ncp_headers(method: &str, target: &str, access: &str, secret: &str) -> Vec<(&'static str, String)> {
    let ts = (NOW.unix_timestamp_nanos() / 1_000_000).to_string();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let sig = STANDARD.encode(hmac::sign(&key, format!("{method} {target}\n{ts}\n{access}").as_bytes()));
    vec![
        ("x-ncp-apigw-timestamp", ts),
        ("x-ncp-iam-access-key", access.to_owned()),
        ("x-ncp-apigw-signature-v2", sig),
    ]
}

#[tokio::test]
async fn ncp_routes() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let issued = s.json(&format!("/order/certificate/{}", fx.issued)).await;
    let secrets = vec![
        issued["certificate"]["common_name"].as_str().unwrap().to_owned(),
        issued["certificate"]["serial_number"].as_str().unwrap().to_owned(),
    ];
    let domains = s.json("/domain").await;
    let domain = domains["domains"][0]["id"].as_i64().map_or("1".to_owned(), |id| id.to_string());
    // NCP ACME accounts (`{account}`) are contracts; the fixture's tenant has none, so any number
    // is as missing for it as for the other tenant.
    let ours = HashMap::from([
        ("certificate", issued["certificate"]["id"].to_string()),
        ("order", fx.issued.to_string()),
        ("domain", domain),
        ("account", "424242".to_owned()),
    ]);
    let missing = HashMap::from([
        ("certificate", "987654321".to_owned()),
        ("order", "987654321".to_owned()),
        ("domain", "987654321".to_owned()),
        ("account", "987654321".to_owned()),
    ]);
    for r in door(FrontDoor::Ncp) {
        let what = format!("{} {}", r.method, r.path);
        let target = fill(&r.path, &ours);
        let url = format!("{}{target}", s.base);
        let mut forged = ncp_headers(r.method.as_str(), &target, &fx.ncp_access_key, "wrong secret");
        let mut unknown = ncp_headers(r.method.as_str(), &target, "NOSUCHKEY", &fx.ncp_secret_key);
        let mut stale = ncp_headers(r.method.as_str(), &target, &fx.ncp_access_key, &fx.ncp_secret_key);
        stale[0].1 = "1000".into();
        // A good signature with any of its headers sent twice.
        let good = ncp_headers(r.method.as_str(), &target, &fx.ncp_access_key, &fx.ncp_secret_key);
        let doubled = (0..good.len()).map(|i| [good.clone(), vec![good[i].clone()]].concat());
        for headers in
            [vec![], std::mem::take(&mut forged), std::mem::take(&mut unknown), std::mem::take(&mut stale)]
                .into_iter()
                .chain(doubled)
        {
            let resp = call(&s.client, &r.method, &url, &headers).await;
            assert_eq!(resp.status, 401, "{what}: {}", resp.body);
            assert_eq!(resp.json()["error"]["errorCode"], "200", "{what}");
            assert_eq!(resp.content_type, "application/json;charset=UTF-8", "{what}");
        }
        let theirs_headers =
            ncp_headers(r.method.as_str(), &target, &fx.other_ncp_access_key, &fx.other_ncp_secret_key);
        let theirs = call(&s.client, &r.method, &url, &theirs_headers).await;
        assert!(theirs.status < 500, "{what}: {}", theirs.body);
        assert_no_leak(&what, &theirs.body, &secrets);
        if names_object(&r.path) {
            let absent_target = fill(&r.path, &missing);
            let headers = ncp_headers(
                r.method.as_str(),
                &absent_target,
                &fx.other_ncp_access_key,
                &fx.other_ncp_secret_key,
            );
            let nothing = call(&s.client, &r.method, &format!("{}{absent_target}", s.base), &headers).await;
            assert_eq!((theirs.status, theirs.json()), (nothing.status, nothing.json()), "{what}");
            // NCP's own "no such certificate": returnCode 2200 (a documented service error: HTTP 200).
            assert_eq!((theirs.status, theirs.json()["returnCode"].as_str()), (200, Some("2200")), "{what}");
        }
    }
}

/// An ACME account of a second tenant: its own account, contract and EAB credential.
async fn stranger_account(server: &AcmeServer) -> (RawKey, String) {
    let now = time::OffsetDateTime::now_utc();
    let (account_id, root) = server.store.create_account("Stranger", now).unwrap();
    let mut contract = AcmeContract {
        id: 0,
        account_id,
        container_id: root,
        user_id: server.contract.user_id,
        sans: vec!["stranger.test".into()],
        ..server.contract.clone()
    };
    let (kid, mac) = ("stranger-kid".to_owned(), b"stranger-mac-key-0123456789abcdef".to_vec());
    let sealed = certkeep_core::partner::seal_hmac_key(&server.sealing_key, &kid, &mac);
    contract.id = server.store.create_contract(&contract, &kid, &sealed, now).unwrap().0;
    let key = RawKey::generate();
    let url = server.url("/new-account");
    let protected = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": kid, "url": url}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(key.jwk().to_string());
    let tag =
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &mac), format!("{protected}.{payload}").as_bytes());
    let eab = json!({"protected": protected, "payload": payload, "signature": URL_SAFE_NO_PAD.encode(tag)});
    let body = key.sign(
        json!({"alg": "ES256", "jwk": key.jwk(), "nonce": server.nonce().await, "url": url}),
        Some(&json!({"termsOfServiceAgreed": true, "externalAccountBinding": eab})),
    );
    let (status, headers, v) = server.post(&url, &body).await;
    assert_eq!(status, 201, "{v}");
    (key, headers["location"].to_str().unwrap().to_owned())
}

/// The DER of the first PEM block in `pem`.
fn pem_body(pem: &str) -> Vec<u8> {
    certkeep_ca::decode_base64(pem.split("-----").nth(2).unwrap()).unwrap()
}

/// POSTs a JWS signed by `key` as `kid`.
async fn acme_post(
    server: &AcmeServer,
    key: &RawKey,
    kid: &str,
    url: &str,
    payload: Option<Value>,
) -> (u16, Value) {
    let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
    let (status, headers, v) = server.post(url, &key.sign(h, payload.as_ref())).await;
    if status >= 400 {
        assert_eq!(headers["content-type"], "application/problem+json", "{url}: {v}");
    }
    (status, v)
}

#[tokio::test]
async fn acme_routes() {
    let server = AcmeServer::start_with(true, None).await;
    // Our account, with an order whose certificate is issued.
    let key = RawKey::generate();
    let new_account = server.url("/new-account");
    let payload = json!({"termsOfServiceAgreed": true, "externalAccountBinding": server.eab(&key.jwk(), &new_account, None)});
    let h = json!({"alg": "ES256", "jwk": key.jwk(), "nonce": server.nonce().await, "url": new_account});
    let (_, headers, _) = server.post(&new_account, &key.sign(h, Some(&payload))).await;
    let kid = headers["location"].to_str().unwrap().to_owned();
    let names = json!({"identifiers": [{"type": "dns", "value": SANS[0]}]});
    let (status, order) = acme_post(&server, &key, &kid, &server.url("/new-order"), Some(names)).await;
    assert_eq!(status, 201, "{order}");
    let authz = order["authorizations"][0].as_str().unwrap().to_owned();
    let (_, authz_v) = acme_post(&server, &key, &kid, &authz, None).await;
    let challenge = authz_v["challenges"][0]["url"].as_str().unwrap().to_owned();
    acme_post(&server, &key, &kid, &challenge, Some(json!({}))).await;
    let order_url = order["finalize"].as_str().unwrap().trim_end_matches("/finalize").to_owned();
    for _ in 0..100 {
        if acme_post(&server, &key, &kid, &order_url, None).await.1["status"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, csr_pem) = certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, SANS[0], &[]).unwrap();
    let der = pem_body(&csr_pem);
    let finalize = order["finalize"].as_str().unwrap().to_owned();
    let csr = json!({"csr": URL_SAFE_NO_PAD.encode(der)});
    let (status, done) = acme_post(&server, &key, &kid, &finalize, Some(csr.clone())).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("valid")), "{done}");
    let cert_url = done["certificate"].as_str().unwrap().to_owned();
    let id_of = |url: &str| url.rsplit('/').next().unwrap().to_owned();
    let id_for = |path: &str| -> String {
        let id = match path {
            p if p.starts_with("/acme/account/") => id_of(&kid),
            p if p.starts_with("/acme/order/") => id_of(finalize.trim_end_matches("/finalize")),
            p if p.starts_with("/acme/authz/") => id_of(&authz),
            p if p.starts_with("/acme/challenge/") => id_of(&challenge),
            p if p.starts_with("/acme/certificate/") => id_of(&cert_url),
            _ => "1".into(),
        };
        fill(path, &HashMap::from([("id", id)]))
    };
    let (stranger, stranger_kid) = stranger_account(&server).await;
    let forger = RawKey::generate();
    for r in door(FrontDoor::Acme).into_iter().filter(|r| !is_public(r)) {
        assert_eq!(r.method, Method::POST, "every non-public ACME resource is a signed POST: {r:?}");
        let what = format!("{} {}", r.method, r.path);
        let url = format!("{}{}", server.base, id_for(&r.path));
        // No credentials at all: not a JWS.
        let resp =
            call(&server.client, &r.method, &url, &[("content-type", "application/jose+json".into())]).await;
        assert_eq!((resp.status, resp.content_type.as_str()), (400, "application/problem+json"), "{what}");
        assert_eq!(resp.json()["type"], "urn:ietf:params:acme:error:malformed", "{what}");
        // Our account's kid, signed by another key.
        let (status, v) = acme_post(&server, &forger, &kid, &url, None).await;
        assert!(status == 400 || status == 403, "{what}: {v}");
        assert!(
            ["malformed", "unauthorized"]
                .iter()
                .any(|k| v["type"] == format!("urn:ietf:params:acme:error:{k}")),
            "{what}: {v}"
        );
        // An account that does not exist.
        let ghost = server.url("/account/987654");
        let (status, v) = acme_post(&server, &forger, &ghost, &url, None).await;
        assert!(status == 400 || status == 403, "{what}: {v}");
        if names_object(&r.path) {
            // Another tenant's account reading our objects.
            let payload = r.path.ends_with("/finalize").then(|| csr.clone());
            let (status, v) = acme_post(&server, &stranger, &stranger_kid, &url, payload).await;
            assert!(status == 403 || status == 404, "{what}: {status} {v}");
            assert!(v["type"].as_str().unwrap().starts_with("urn:ietf:params:acme:error:"), "{what}: {v}");
            assert!(!v.to_string().contains(SANS[0]), "{what} shows our names: {v}");
        }
    }
    // The stranger cannot revoke our certificate either.
    let cert = {
        let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": cert_url});
        server
            .client
            .post(&cert_url)
            .header("content-type", "application/jose+json")
            .body(key.sign(h, None).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let leaf = pem_body(&cert);
    let revoke = server.url("/revoke-cert");
    let (status, v) = acme_post(
        &server,
        &stranger,
        &stranger_kid,
        &revoke,
        Some(json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf)})),
    )
    .await;
    assert_eq!((status, v["type"].as_str()), (403, Some("urn:ietf:params:acme:error:unauthorized")), "{v}");
    let (status, order_now) = acme_post(&server, &key, &kid, &finalize.replace("/finalize", ""), None).await;
    assert_eq!((status, order_now["status"].as_str()), (200, Some("valid")), "{order_now}");
}
