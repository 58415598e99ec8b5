//! Domain control validation over real HTTP, as CertCentral does it: a registered domain is
//! pending (and names nothing) until its random value is found in DNS (TXT or CNAME at
//! `_dnsauth`, through the configured resolver) or in `fileauth.txt` (on the http-01 port),
//! served here by in-test DNS and HTTP servers. One tenant's validation never counts for
//! another, public suffixes are refused, and validations expire.

mod acme_common;
mod common;

use acme_common::{Responder, serve_dns, serve_http01};
use certkeep_ca::KeyAlgorithm;
use certkeep_server::acme::AcmeSettings;
use common::{NOW, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

async fn start() -> (TestServer, Responder) {
    let responder = Responder::default();
    let dns = serve_dns(responder.clone()).await;
    let http01_port = serve_http01(responder.clone()).await;
    let acme = AcmeSettings { dns_resolver: Some(dns), http01_port, ..Default::default() };
    (TestServer::start_validating(acme).await, responder)
}

async fn call(s: &TestServer, key: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = s.send(method, key, path, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A DV order for `cn`, issued at once when the names are validated.
async fn order(s: &TestServer, key: &str, cn: &str) -> (u16, Value) {
    let csr = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, cn, &[]).unwrap().1;
    let body = json!({"certificate": {"common_name": cn, "csr": csr, "signature_hash": "sha256"},
                      "order_validity": {"years": 1}, "skip_approval": true});
    call(s, key, Method::POST, "/order/certificate/ssl_dv_geotrust", body).await
}

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

/// Registers `name` with `method` as `key`'s user; returns (id, random value).
async fn register(s: &TestServer, key: &str, name: &str, method: &str) -> (i64, String) {
    let (status, v) =
        call(s, key, Method::POST, "/domain", json!({"name": name, "dcv_method": method})).await;
    assert_eq!(status, 201, "{v}");
    (v["id"].as_i64().unwrap(), v["dcv_token"]["token"].as_str().unwrap_or_default().to_owned())
}

async fn validate(s: &TestServer, key: &str, id: i64) -> (u16, Value) {
    call(s, key, Method::PUT, &format!("/domain/{id}/dcv/validate-token"), json!({})).await
}

#[tokio::test]
async fn a_domain_is_pending_and_names_nothing_until_its_txt_record_shows_control() {
    let (s, dns) = start().await;
    let admin = s.fx.admin_key.clone();
    let (status, v) =
        call(&s, &admin, Method::POST, "/domain", json!({"name": "txt.test", "dcv_method": "dns-txt-token"}))
            .await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let token = v["dcv_token"]["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32, "{v}");
    assert!(token.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    assert_eq!(v["dcv_token"]["status"], "pending");
    assert_eq!(v["dcv_token"]["expiration_date"], "2026-07-01T00:00:00+00:00");

    let info = s.json(&format!("/domain/{id}?include_dcv=true")).await;
    assert_eq!(
        (info["status"].as_str(), info["is_pending_validation"].as_bool()),
        (Some("pending"), Some(true))
    );
    assert_eq!(info["dcv_method"], "dns-txt-token");
    assert_eq!(info["dcv_token"]["token"], token.as_str());
    let (status, refused) = order(&s, &admin, "www.txt.test").await;
    assert_eq!((status, code(&refused)), (400, "domain_not_validated"), "{refused}");

    // No record yet, then a record holding something else: still pending.
    let (status, v) = validate(&s, &admin, id).await;
    assert_eq!((status, code(&v)), (400, "invalid_dns_txt"), "{v}");
    dns.txt.lock().unwrap().insert("_dnsauth.txt.test".into(), vec!["not-the-token".into()]);
    assert_eq!(validate(&s, &admin, id).await.0, 400);
    assert_eq!(s.json(&format!("/domain/{id}")).await["status"], "pending");

    dns.txt.lock().unwrap().insert("_dnsauth.txt.test".into(), vec![token.clone()]);
    let (status, v) = validate(&s, &admin, id).await;
    assert_eq!(
        (status, v["status"].as_str(), v["token"].as_str()),
        (200, Some("active"), Some(token.as_str()))
    );
    let info = s.json(&format!("/domain/{id}?include_dcv=true")).await;
    assert_eq!(
        (info["status"].as_str(), info["is_pending_validation"].as_bool()),
        (Some("approved"), Some(false))
    );
    assert_eq!(info["dcv_approval_datetime"], "2026-06-01T00:00:00+00:00");
    // Validations count for 199 days since 2026-03-15 (DigiCert's reuse period).
    assert_eq!(info["dcv_expiration_datetime"], "2026-12-17T00:00:00+00:00");
    assert_eq!(info["dcv_token"]["status"], "active");

    // The validation covers the domain and its subdomains; the audit log has it.
    let (status, issued) = order(&s, &admin, "www.txt.test").await;
    assert_eq!(status, 201, "{issued}");
    let log = s.json("/audit-log?limit=50").await;
    let actions: Vec<&str> =
        log["audit_logs"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"domain.validate") && actions.contains(&"domain.create"), "{actions:?}");
    // A TXT record at the domain itself is found as well (DigiCert looks at both).
    let (id2, token2) = register(&s, &admin, "apex.test", "dns-txt-token").await;
    dns.txt.lock().unwrap().insert("apex.test".into(), vec![token2]);
    assert_eq!(validate(&s, &admin, id2).await.0, 200);
}

#[tokio::test]
async fn cname_and_file_tokens_are_looked_for_where_digicert_puts_them() {
    let (s, dns) = start().await;
    let admin = s.fx.admin_key.clone();
    let (id, token) = register(&s, &admin, "cname.test", "dns-cname-token").await;
    let info = s.json(&format!("/domain/{id}?include_dcv=true")).await;
    assert_eq!(info["dcv_token"]["verification_value"], "dcv.digicert.com");
    let (status, v) = validate(&s, &admin, id).await;
    assert_eq!((status, code(&v)), (400, "invalid_dns_cname"), "{v}");
    dns.cname.lock().unwrap().insert("_dnsauth.cname.test".into(), format!("{token}.dcv.digicert.com"));
    assert_eq!(validate(&s, &admin, id).await.0, 200);

    // http-token keeps `www.` and proves that exact name only.
    let (id, token) = register(&s, &admin, "www.file.test", "http-token").await;
    let info = s.json(&format!("/domain/{id}?include_dcv=true")).await;
    assert_eq!(info["name"], "www.file.test");
    assert_eq!(
        info["dcv_token"]["http_token_url"],
        "http://www.file.test/.well-known/pki-validation/fileauth.txt"
    );
    let (status, v) = validate(&s, &admin, id).await;
    assert_eq!((status, code(&v)), (400, "file_random_value_not_found"), "{v}");
    dns.files.lock().unwrap().insert("www.file.test".into(), format!("{token}\n"));
    assert_eq!(validate(&s, &admin, id).await.0, 200);
    assert_eq!(order(&s, &admin, "www.file.test").await.0, 201);
    let (status, v) = order(&s, &admin, "api.www.file.test").await;
    assert_eq!((status, code(&v)), (400, "domain_not_validated"), "{v}");

    // Other methods: `www.` is dropped, the same method changes nothing, a new method or a
    // new token draws a new random value, and e-mail (certkeep sends none) stays pending.
    let (id, first) = register(&s, &admin, "www.methods.test", "dns-txt-token").await;
    assert_eq!(s.json(&format!("/domain/{id}")).await["name"], "methods.test");
    let same = call(
        &s,
        &admin,
        Method::PUT,
        &format!("/domain/{id}/dcv/method"),
        json!({"dcv_method": "dns-txt-token"}),
    )
    .await;
    assert_eq!(same, (200, json!({})));
    let (status, changed) = call(
        &s,
        &admin,
        Method::PUT,
        &format!("/domain/{id}/dcv/method"),
        json!({"dcv_method": "http-token"}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let second = changed["dcv_token"]["token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let (status, fresh) = call(&s, &admin, Method::POST, &format!("/domain/{id}/dcv/token"), json!({})).await;
    assert_eq!(status, 200, "{fresh}");
    assert!(fresh["token"].as_str().unwrap() != second && fresh["http_token_url"].is_string(), "{fresh}");
    let email =
        call(&s, &admin, Method::PUT, &format!("/domain/{id}/dcv/method"), json!({"dcv_method": "email"}))
            .await;
    assert_eq!(email, (200, json!({})));
    let (status, v) = validate(&s, &admin, id).await;
    assert_eq!((status, code(&v)), (400, "invalid_dcv_method"), "{v}");
    let bad = call(
        &s,
        &admin,
        Method::PUT,
        &format!("/domain/{id}/dcv/method"),
        json!({"dcv_method": "pre-validated"}),
    )
    .await;
    assert_eq!((bad.0, code(&bad.1)), (400, "invalid_dcv_method"));
    // Registering needs administrator rights, as before.
    let view_only = s.fx.view_only_key.clone();
    assert_eq!(
        call(&s, &view_only, Method::PUT, &format!("/domain/{id}/dcv/validate-token"), json!({})).await.0,
        403
    );
}

#[tokio::test]
async fn another_tenant_cannot_validate_or_use_a_domain_without_proving_control() {
    let (s, dns) = start().await;
    let (a, b) = (s.fx.admin_key.clone(), s.fx.other_tenant_key.clone());
    // Tenant A proves control of victim.test.
    let (a_id, a_token) = register(&s, &a, "victim.test", "dns-txt-token").await;
    dns.txt.lock().unwrap().insert("_dnsauth.victim.test".into(), vec![a_token.clone()]);
    assert_eq!(validate(&s, &a, a_id).await.0, 200);

    // Tenant B registers the same name: its own domain, pending, with its own random value.
    let (b_id, b_token) = register(&s, &b, "victim.test", "dns-txt-token").await;
    assert_ne!((b_id, &b_token), (a_id, &a_token));
    let (status, v) = call(&s, &b, Method::GET, &format!("/domain/{b_id}"), json!({})).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("pending")));
    // A's record does not hold B's value: B cannot validate, nor issue for the name.
    let (status, v) = validate(&s, &b, b_id).await;
    assert_eq!((status, code(&v)), (400, "invalid_dns_txt"), "{v}");
    let (status, v) = order(&s, &b, "www.victim.test").await;
    assert_eq!((status, code(&v)), (400, "domain_not_validated"), "{v}");
    // A's domain is not B's to see, check or re-token.
    for (method, path) in [
        (Method::GET, format!("/domain/{a_id}")),
        (Method::PUT, format!("/domain/{a_id}/dcv/validate-token")),
        (Method::POST, format!("/domain/{a_id}/dcv/token")),
        (Method::PUT, format!("/domain/{a_id}/dcv/method")),
    ] {
        let (status, v) = call(&s, &b, method, &path, json!({"dcv_method": "dns-txt-token"})).await;
        assert_eq!((status, code(&v)), (404, "not_found|domain"), "{path}: {v}");
    }
    // A still issues; B's listing holds only its own pending domain.
    assert_eq!(order(&s, &a, "www.victim.test").await.0, 201);
    let (_, listed) = call(&s, &b, Method::GET, "/domain", json!({})).await;
    assert_eq!(listed["domains"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["domains"][0]["status"], "pending");
}

#[tokio::test]
async fn public_suffixes_are_refused_to_tenants_and_the_operator() {
    let (s, _) = start().await;
    for name in ["co.uk", "com", "github.io"] {
        let (status, v) = call(&s, &s.fx.admin_key, Method::POST, "/domain", json!({"name": name})).await;
        assert_eq!((status, code(&v)), (400, "invalid_domain_name"), "{name}: {v}");
        let vouched = certkeep_core::lifecycle::vouch_domain(
            &*s.store,
            NOW,
            certkeep_core::policy::TestNames::Allowed,
            s.fx.account,
            name,
            "test",
        );
        assert!(vouched.is_err(), "{name}");
    }
    let (status, v) = order(&s, &s.fx.admin_key, "www.any-bank.co.uk").await;
    assert_eq!((status, code(&v)), (400, "domain_not_validated"), "{v}");
}

#[tokio::test]
async fn a_validation_expires_after_the_reuse_period_and_the_operator_can_vouch_again() {
    let (s, _) = start().await;
    let admin = s.fx.admin_key.clone();
    // Vouched for 200 days ago: longer than the 199 days that count in June 2026.
    let old = certkeep_core::lifecycle::vouch_domain(
        &*s.store,
        NOW - Duration::days(200),
        certkeep_core::policy::TestNames::Allowed,
        s.fx.account,
        "old.test",
        "test",
    )
    .unwrap();
    let info = s.json(&format!("/domain/{}", old.id)).await;
    assert_eq!(
        (info["status"].as_str(), info["dcv_method"].as_str()),
        (Some("expired"), Some("pre-validated"))
    );
    let (status, v) = order(&s, &admin, "www.old.test").await;
    assert_eq!((status, code(&v)), (400, "domain_not_validated"), "{v}");
    assert_eq!(s.vouch_domain(s.fx.account, "old.test"), old.id);
    assert_eq!(s.json(&format!("/domain/{}", old.id)).await["status"], "approved");
    assert_eq!(order(&s, &admin, "www.old.test").await.0, 201);
}
