//! ACME over real HTTP: instant-acme for the happy paths (with http-01 and dns-01 really
//! validated against in-test servers), a hand-rolled JWS client for the error paths.

mod acme_common;
mod pkilint;

use std::time::Duration;

use acme_common::{AcmeServer, RawKey, last_id};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use certkeep_ca::KeyAlgorithm;
use hyper_util::{client::legacy::Client as HyperClient, rt::TokioExecutor};
use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, ExternalAccountKey, Identifier,
    NewAccount, NewOrder, Order, OrderStatus, RetryPolicy, RevocationReason, RevocationRequest,
};
use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};

fn retry() -> RetryPolicy {
    RetryPolicy::new().initial_delay(Duration::from_millis(50)).timeout(Duration::from_secs(20))
}

async fn account(server: &AcmeServer) -> Account {
    let http = HyperClient::builder(TokioExecutor::new()).build_http();
    let (account, _) = Account::builder_with_http(Box::new(http))
        .create(
            &NewAccount {
                contact: &["mailto:ops@acme.test"],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            server.directory.clone(),
            Some(&ExternalAccountKey::new(server.eab_kid.clone(), &server.eab_hmac)),
        )
        .await
        .expect("account with EAB");
    account
}

/// (private key PEM, CSR DER) for the names.
fn csr(names: &[&str]) -> (String, Vec<u8>) {
    let dns: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let (key, pem) = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, names[0], &dns).unwrap();
    (key, pem_der(&pem))
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    certkeep_ca::decode_base64(&body).unwrap()
}

/// Answers every pending authorization with `kind`, serving the key authorization (or, with
/// `wrong`, something else) from the in-test servers.
async fn answer(server: &AcmeServer, order: &mut Order, kind: ChallengeType, wrong: bool) {
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.unwrap();
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let Identifier::Dns(name) = authz.identifier().identifier.clone() else { unreachable!() };
        let mut challenge = authz.challenge(kind.clone()).expect("challenge offered");
        let key_authorization = challenge.key_authorization();
        match kind {
            ChallengeType::Http01 => {
                let body = if wrong {
                    "not-the-key-authorization".into()
                } else {
                    key_authorization.as_str().to_owned()
                };
                server.responder.http.lock().unwrap().insert(challenge.token.clone(), body);
            }
            ChallengeType::Dns01 => {
                server
                    .responder
                    .txt
                    .lock()
                    .unwrap()
                    .entry(format!("_acme-challenge.{name}"))
                    .or_default()
                    .push(key_authorization.dns_value());
            }
            _ => unreachable!(),
        }
        challenge.set_ready().await.unwrap();
    }
}

#[tokio::test]
async fn directory_and_nonces() {
    let server = AcmeServer::start().await;
    for path in ["/directory", "/directory/"] {
        let res = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let d: Value = res.json().await.unwrap();
        for (key, path) in [
            ("newNonce", "/new-nonce"),
            ("newAccount", "/new-account"),
            ("newOrder", "/new-order"),
            ("revokeCert", "/revoke-cert"),
            ("keyChange", "/key-change"),
            ("renewalInfo", "/renewal-info"),
        ] {
            assert_eq!(d[key], server.url(path), "{key}");
        }
        assert_eq!(d["meta"]["externalAccountRequired"], true);
    }
    let head = server.client.head(server.url("/new-nonce")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let get = server.client.get(server.url("/new-nonce")).send().await.unwrap();
    assert_eq!(get.status(), 204);
    let (a, b) = (head.headers()["replay-nonce"].clone(), get.headers()["replay-nonce"].clone());
    assert_ne!(a, b);
    assert_eq!(get.headers()["cache-control"], "no-store");
    let missing = server.client.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/problem+json");
    assert!(missing.headers().contains_key("replay-nonce"));
}

#[tokio::test]
async fn http01_issue_download_ari_revoke_and_certcentral() {
    let server = AcmeServer::start().await;
    let account = account(&server).await;
    let ids = [Identifier::Dns("acme.test".into()), Identifier::Dns("www.acme.test".into())];
    let mut order = account.new_order(&NewOrder::new(&ids)).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Pending);
    answer(&server, &mut order, ChallengeType::Http01, false).await;
    assert_eq!(order.poll_ready(&retry()).await.unwrap(), OrderStatus::Ready);
    let (_, der) = csr(&["acme.test", "www.acme.test"]);
    order.finalize_csr(&der).await.unwrap();
    let chain = order.poll_certificate(&retry()).await.unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");

    // The chain verifies against the CA root with openssl.
    let dir = tempfile::tempdir().unwrap();
    let (leaf_pem, rest) = chain.split_at(chain.find("-----END CERTIFICATE-----").unwrap() + 26);
    std::fs::write(dir.path().join("leaf.pem"), leaf_pem).unwrap();
    std::fs::write(dir.path().join("chain.pem"), rest.trim_start()).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(server.ca_dir.join("root.crt.pem"))
        .arg("-untrusted")
        .arg(dir.path().join("chain.pem"))
        .arg(dir.path().join("leaf.pem"))
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // CertCentral sees the order, placed through the directory URL as an acme_url key.
    let list = server.certcentral("/order/certificate").await;
    let orders = list["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    let id = orders[0]["id"].as_i64().unwrap();
    let info = server.certcentral(&format!("/order/certificate/{id}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["api_key"]["key_type"], "acme_url");
    assert_eq!(info["api_key"]["name"], server.directory);
    let contract_orders = server.store.contract_orders(server.contract.id).unwrap();
    assert_eq!(contract_orders.len(), 1);

    // ARI: the last third of the validity.
    let leaf = CertificateDer::from(pem_der(leaf_pem));
    let cert_id = CertificateIdentifier::try_from(&leaf).unwrap();
    let (info, _) = account.renewal_info(&cert_id).await.unwrap();
    assert!(info.suggested_window.start < info.suggested_window.end);
    assert!(info.suggested_window.start > time::OffsetDateTime::now_utc() + time::Duration::days(30));

    // Revocation by the account; a second one is alreadyRevoked.
    account
        .revoke(&RevocationRequest { certificate: &leaf, reason: Some(RevocationReason::Superseded) })
        .await
        .unwrap();
    let again = account.revoke(&RevocationRequest { certificate: &leaf, reason: None }).await.unwrap_err();
    assert!(again.to_string().contains("alreadyRevoked"), "{again}");
    let info = server.certcentral(&format!("/order/certificate/{id}")).await;
    assert_eq!(info["status"], "revoked");
    let (revoked, _) = account.renewal_info(&cert_id).await.unwrap();
    assert!(revoked.suggested_window.start <= time::OffsetDateTime::now_utc());
}

#[tokio::test]
async fn dns01_wildcard() {
    let server = AcmeServer::start().await;
    let account = account(&server).await;
    let ids = [Identifier::Dns("*.acme.test".into())];
    let mut order = account.new_order(&NewOrder::new(&ids)).await.unwrap();
    {
        let mut authzs = order.authorizations();
        let mut authz = authzs.next().await.unwrap().unwrap();
        assert!(authz.challenge(ChallengeType::Http01).is_none(), "wildcards get dns-01 only");
    }
    answer(&server, &mut order, ChallengeType::Dns01, false).await;
    assert_eq!(order.poll_ready(&retry()).await.unwrap(), OrderStatus::Ready);
    let (_, der) = csr(&["*.acme.test"]);
    order.finalize_csr(&der).await.unwrap();
    assert!(order.poll_certificate(&retry()).await.unwrap().contains("BEGIN CERTIFICATE"));
}

#[tokio::test]
async fn a_validation_cut_off_by_a_crash_is_resumed() {
    let server = AcmeServer::start_with(true, None).await;
    let account = account(&server).await;
    let mut order = account.new_order(&NewOrder::new(&[Identifier::Dns("acme.test".into())])).await.unwrap();
    let acme = server.store.acme();
    let found = acme.acme_order(last_id(order.url())).unwrap().unwrap();
    let authz = acme.acme_authz(found.authz_ids[0]).unwrap().unwrap();
    let challenge = authz.challenges[0].id;
    // A process claimed the validation two minutes ago and died before recording an outcome.
    let then = time::OffsetDateTime::now_utc() - time::Duration::minutes(2);
    assert!(acme.start_acme_challenge(challenge, then, then).unwrap());
    assert_eq!(order.refresh().await.unwrap().status, OrderStatus::Pending);
    assert_eq!(certkeep_server::acme::resume_once(&server.state).await.unwrap(), 1);
    assert_eq!(order.poll_ready(&retry()).await.unwrap(), OrderStatus::Ready);
    // A validation that is still within its deadline is left to the process running it.
    let mut other =
        account.new_order(&NewOrder::new(&[Identifier::Dns("www.acme.test".into())])).await.unwrap();
    let found = acme.acme_order(last_id(other.url())).unwrap().unwrap();
    let authz = acme.acme_authz(found.authz_ids[0]).unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    assert!(
        acme.start_acme_challenge(authz.challenges[0].id, now, now - time::Duration::minutes(1)).unwrap()
    );
    assert_eq!(certkeep_server::acme::resume_once(&server.state).await.unwrap(), 0);
    assert_eq!(other.refresh().await.unwrap().status, OrderStatus::Pending);
    // One whose authorization was deactivated meanwhile is closed, not validated.
    let id = authz.challenges[0].id;
    assert!(acme.start_acme_challenge(id, then, now + time::Duration::minutes(1)).unwrap());
    acme.set_acme_authz_status(authz.id, certkeep_core::acme::AcmeStatus::Deactivated).unwrap();
    assert_eq!(certkeep_server::acme::resume_once(&server.state).await.unwrap(), 0);
    let closed = acme.acme_challenge(id).unwrap().unwrap();
    assert_eq!(closed.status, certkeep_core::acme::AcmeStatus::Invalid);
    assert_eq!(
        acme.acme_authz(authz.id).unwrap().unwrap().status,
        certkeep_core::acme::AcmeStatus::Deactivated
    );
}

#[tokio::test]
async fn wrong_key_authorization_invalidates_the_order() {
    let server = AcmeServer::start().await;
    let account = account(&server).await;
    let mut order = account.new_order(&NewOrder::new(&[Identifier::Dns("acme.test".into())])).await.unwrap();
    answer(&server, &mut order, ChallengeType::Http01, true).await;
    assert_eq!(order.poll_ready(&retry()).await.unwrap(), OrderStatus::Invalid);
    let mut authzs = order.authorizations();
    let authz = authzs.next().await.unwrap().unwrap();
    assert_eq!(authz.status, AuthorizationStatus::Invalid);
    let challenge = authz.challenges.iter().find(|c| c.r#type == ChallengeType::Http01).unwrap();
    let error = challenge.error.as_ref().unwrap();
    assert_eq!(error.r#type.as_deref(), Some("urn:ietf:params:acme:error:incorrectResponse"));
}

#[tokio::test]
async fn key_rollover_contacts_orders_list_and_deactivation() {
    let server = AcmeServer::start().await;
    let mut account = account(&server).await;
    account.update_contacts(&["mailto:new@acme.test"]).await.unwrap();
    let order = account.new_order(&NewOrder::new(&[Identifier::Dns("acme.test".into())])).await.unwrap();
    let order_url = order.url().to_owned();
    let _credentials = account.update_key().await.unwrap();
    // The new key works.
    let again = account.order(order_url.clone()).await.unwrap();
    assert_eq!(again.url(), order_url);
    let stored = server.store.acme().acme_account(last_id(account.id())).unwrap().unwrap();
    assert_eq!(stored.contacts, ["mailto:new@acme.test"]);
    account.deactivate().await.unwrap();
    let stored = server.store.acme().acme_account(stored.id).unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "deactivated");
}

/// A raw account: (key, account URL).
async fn raw_account(server: &AcmeServer) -> (RawKey, String) {
    let key = RawKey::generate();
    let url = server.url("/new-account");
    let payload =
        json!({"termsOfServiceAgreed": true, "externalAccountBinding": server.eab(&key.jwk(), &url, None)});
    let body = key.sign(
        json!({"alg": "ES256", "jwk": key.jwk(), "nonce": server.nonce().await, "url": url}),
        Some(&payload),
    );
    let (status, headers, v) = server.post(&url, &body).await;
    assert_eq!(status, 201, "{v}");
    (key, headers["location"].to_str().unwrap().to_owned())
}

fn problem(resp: &(u16, reqwest::header::HeaderMap, Value), status: u16, kind: &str) {
    assert_eq!(resp.0, status, "{}", resp.2);
    assert_eq!(resp.1["content-type"], "application/problem+json");
    assert_eq!(resp.2["type"], format!("urn:ietf:params:acme:error:{kind}"), "{}", resp.2);
    assert!(resp.1.contains_key("replay-nonce"));
}

#[tokio::test]
async fn account_creation_errors() {
    let server = AcmeServer::start().await;
    let url = server.url("/new-account");
    let key = RawKey::generate();
    let header = |nonce: String| json!({"alg": "ES256", "jwk": key.jwk(), "nonce": nonce, "url": url});

    // No EAB.
    let r = server.post(&url, &key.sign(header(server.nonce().await), Some(&json!({})))).await;
    problem(&r, 400, "externalAccountRequired");
    // Wrong MAC.
    let p = json!({"externalAccountBinding": server.eab(&key.jwk(), &url, Some(b"not the key"))});
    problem(&server.post(&url, &key.sign(header(server.nonce().await), Some(&p))).await, 403, "unauthorized");
    let query = certkeep_core::audit::AuditQuery { limit: 1, ..Default::default() };
    let refused =
        &certkeep_core::OperationsStore::audit_events(&*server.store, None, &query).unwrap().records[0].event;
    assert_eq!((refused.action.as_str(), refused.refused), ("acme.eab", true));
    assert_eq!(
        (refused.detail.as_str(), refused.source.as_str()),
        ("The external account binding MAC is wrong.", "127.0.0.1")
    );
    // EAB over another URL.
    let p = json!({"externalAccountBinding": server.eab(&key.jwk(), "http://elsewhere/new-account", None)});
    let r = server.post(&url, &key.sign(header(server.nonce().await), Some(&p))).await;
    problem(&r, 400, "malformed");
    assert_eq!(r.2["detail"], "the 'url' field in external account binding differs from outer JWS");
    // EAB binding another key.
    let p = json!({"externalAccountBinding": server.eab(&RawKey::generate().jwk(), &url, None)});
    problem(&server.post(&url, &key.sign(header(server.nonce().await), Some(&p))).await, 400, "malformed");
    // onlyReturnExisting for an unknown key.
    let p = json!({"onlyReturnExisting": true});
    problem(
        &server.post(&url, &key.sign(header(server.nonce().await), Some(&p))).await,
        400,
        "accountDoesNotExist",
    );
    // A nonce is good once: replaying the same request is badNonce, and its fresh nonce works.
    let good = key.sign(
        header(server.nonce().await),
        Some(&json!({"externalAccountBinding": server.eab(&key.jwk(), &url, None)})),
    );
    let created = server.post(&url, &good).await;
    assert_eq!(created.0, 201, "{}", created.2);
    let replay = server.post(&url, &good).await;
    problem(&replay, 400, "badNonce");
    let fresh = replay.1["replay-nonce"].to_str().unwrap().to_owned();
    let existing =
        server.post(&url, &key.sign(header(fresh), Some(&json!({"onlyReturnExisting": true})))).await;
    assert_eq!(existing.0, 200);
    assert_eq!(existing.1["location"], created.1["location"]);
    // Revoked EAB credentials bind nothing.
    server.store.revoke_eab_credentials(server.contract.id, None).unwrap();
    let other = RawKey::generate();
    let p = json!({"externalAccountBinding": server.eab(&other.jwk(), &url, None)});
    let h = json!({"alg": "ES256", "jwk": other.jwk(), "nonce": server.nonce().await, "url": url});
    let r = server.post(&url, &other.sign(h, Some(&p))).await;
    problem(&r, 403, "unauthorized");
    assert!(r.2["detail"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn jws_checks() {
    let server = AcmeServer::start().await;
    let (key, kid) = raw_account(&server).await;
    let url = server.url("/new-order");
    let payload = json!({"identifiers": [{"type": "dns", "value": "acme.test"}]});
    // Wrong url.
    let h =
        json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": server.url("/new-account")});
    problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 403, "unauthorized");
    // jwk where a kid is required, kid where a jwk is required, both.
    let h = json!({"alg": "ES256", "jwk": key.jwk(), "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "malformed");
    let acct = server.url("/new-account");
    let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": acct});
    problem(&server.post(&acct, &key.sign(h, Some(&json!({})))).await, 400, "malformed");
    let h = json!({"alg": "ES256", "kid": kid, "jwk": key.jwk(), "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "malformed");
    // Unknown account, bad algorithm, bad signature, missing nonce, garbage.
    let h = json!({"alg": "ES256", "kid": server.url("/account/999999"), "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "accountDoesNotExist");
    for alg in ["none", "HS256", "RS256"] {
        let h = json!({"alg": alg, "kid": kid, "nonce": server.nonce().await, "url": url});
        problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "badSignatureAlgorithm");
    }
    let other = RawKey::generate();
    let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &other.sign(h, Some(&payload))).await, 400, "malformed");
    let h = json!({"alg": "ES256", "kid": kid, "url": url});
    problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "badNonce");
    let h = json!({"alg": "ES256", "kid": kid, "nonce": "made-up", "url": url});
    problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "badNonce");
    for garbage in [json!("x"), json!({"protected": "!!", "payload": "", "signature": ""}), json!({})] {
        problem(&server.post(&url, &garbage).await, 400, "malformed");
    }
    let wrong_type =
        server.client.post(&url).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(wrong_type.status(), 415);
}

#[tokio::test]
async fn critical_extensions_and_unencoded_payloads_are_malformed() {
    let server = AcmeServer::start().await;
    let (key, kid) = raw_account(&server).await;
    let url = server.url("/new-order");
    let payload = json!({"identifiers": [{"type": "dns", "value": "acme.test"}]});
    // RFC 7515 §4.1.11: an extension named critical that the server does not understand; RFC
    // 8555 §6.2 forbids RFC 7797's unencoded payloads, critical or not.
    for extra in [
        json!({"crit": ["exp"], "exp": 1}),
        json!({"crit": []}),
        json!({"crit": ["b64"], "b64": false}),
        json!({"b64": true}),
    ] {
        let mut h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
        h.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        problem(&server.post(&url, &key.sign(h, Some(&payload))).await, 400, "malformed");
    }
    // The same request without them is served.
    let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
    assert_eq!(server.post(&url, &key.sign(h, Some(&payload))).await.0, 201);
}

#[tokio::test]
async fn order_errors() {
    let server = AcmeServer::start().await;
    let (key, kid) = raw_account(&server).await;
    let post = |url: String, payload: Option<Value>| {
        let (key, kid, server) = (&key, &kid, &server);
        async move {
            let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
            server.post(&url, &key.sign(h, payload.as_ref())).await
        }
    };
    let new_order = server.url("/new-order");
    for name in ["example.com", "a.b.acme.test", "not a name"] {
        let r = post(new_order.clone(), Some(json!({"identifiers": [{"type": "dns", "value": name}]}))).await;
        problem(&r, 400, "rejectedIdentifier");
    }
    let r =
        post(new_order.clone(), Some(json!({"identifiers": [{"type": "ip", "value": "127.0.0.1"}]}))).await;
    problem(&r, 400, "unsupportedIdentifier");
    let r =
        post(new_order.clone(), Some(json!({"identifiers": [{"type": "dns", "value": "acme.test"}]}))).await;
    assert_eq!(r.0, 201, "{}", r.2);
    let (order_url, finalize) =
        (r.1["location"].to_str().unwrap().to_owned(), r.2["finalize"].as_str().unwrap().to_owned());
    let csr_for = |names: &[&str]| json!({"csr": URL_SAFE_NO_PAD.encode(csr(names).1)});
    // Finalize before the authorizations are valid.
    problem(&post(finalize.clone(), Some(csr_for(&["acme.test"]))).await, 403, "orderNotReady");
    // Let the order become ready (dns-01 via the in-test DNS server).
    let authz_url = r.2["authorizations"][0].as_str().unwrap().to_owned();
    let authz = post(authz_url.clone(), None).await.2;
    let challenge =
        authz["challenges"].as_array().unwrap().iter().find(|c| c["type"] == "dns-01").unwrap().clone();
    let thumbprint = {
        let jwk = key.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()))
    };
    let key_authorization = format!("{}.{thumbprint}", challenge["token"].as_str().unwrap());
    let digest = URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes()));
    server.responder.txt.lock().unwrap().insert("_acme-challenge.acme.test".into(), vec![digest]);
    let started = post(challenge["url"].as_str().unwrap().to_owned(), Some(json!({}))).await;
    assert_eq!(started.0, 200, "{}", started.2);
    assert!(started.1["link"].to_str().unwrap().contains("rel=\"up\""));
    assert_eq!(started.2["status"], "processing");
    assert_eq!(started.1["retry-after"], "1");
    let mut status = Value::Null;
    for _ in 0..100 {
        status = post(order_url.clone(), None).await.2["status"].clone();
        if status != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "ready");
    // CSR for other names, then garbage: badCSR, and the order stays ready.
    problem(&post(finalize.clone(), Some(csr_for(&["acme.test", "www.acme.test"]))).await, 400, "badCSR");
    problem(&post(finalize.clone(), Some(json!({"csr": "AAAA"}))).await, 400, "badCSR");
    assert_eq!(post(order_url.clone(), None).await.2["status"], "ready");
    // Reading with a payload is refused; another account cannot read the order.
    problem(&post(order_url.clone(), Some(json!({}))).await, 400, "malformed");
    let (other, other_kid) = raw_account_with_new_key(&server).await;
    let h = json!({"alg": "ES256", "kid": other_kid, "nonce": server.nonce().await, "url": order_url});
    problem(&server.post(&order_url, &other.sign(h, None)).await, 403, "unauthorized");
    // Two finalizes at once: one issues, the other is refused and leaves the order valid.
    let (a, b) = tokio::join!(
        post(finalize.clone(), Some(csr_for(&["acme.test"]))),
        post(finalize.clone(), Some(csr_for(&["acme.test"])))
    );
    let (done, lost) = if a.0 == 200 { (a, b) } else { (b, a) };
    assert_eq!(done.2["status"], "valid", "{}", done.2);
    problem(&lost, 403, "orderNotReady");
    let order = post(order_url.clone(), None).await.2;
    assert_eq!((&order["status"], &order["certificate"]), (&json!("valid"), &done.2["certificate"]));
    let orders_url = server.url(&format!("/account/{}/orders", last_id(&kid)));
    let list = post(orders_url.clone(), None).await;
    assert_eq!(list.2["orders"], json!([order_url]));

    // The valid authorization is reused by the account's next order for the name, which is
    // ready at once; another account's order gets its own pending one.
    let one = json!({"identifiers": [{"type": "dns", "value": "acme.test"}]});
    let again = post(new_order.clone(), Some(one.clone())).await;
    assert_eq!(again.0, 201, "{}", again.2);
    assert_eq!(again.2["status"], "ready", "{}", again.2);
    assert_eq!(again.2["authorizations"], json!([authz_url]));
    let h = json!({"alg": "ES256", "kid": other_kid, "nonce": server.nonce().await, "url": new_order});
    let others = server.post(&new_order, &other.sign(h, Some(&one))).await;
    assert_eq!(others.2["status"], "pending", "{}", others.2);
    assert_ne!(others.2["authorizations"], json!([authz_url]));
    // A wildcard order does not reuse the name's authorization.
    let wildcard = json!({"identifiers": [{"type": "dns", "value": "*.acme.test"}]});
    assert_eq!(post(new_order.clone(), Some(wildcard)).await.2["status"], "pending");

    // The orders list pages by 100 with Link rel="next".
    for _ in 0..99 {
        assert_eq!(post(new_order.clone(), Some(one.clone())).await.0, 201);
    }
    let first = post(orders_url.clone(), None).await;
    assert_eq!(first.2["orders"].as_array().unwrap().len(), 100);
    assert_eq!(first.2["orders"][0], order_url);
    let link =
        first.1.get_all("link").iter().map(|v| v.to_str().unwrap()).find(|l| l.ends_with("rel=\"next\""));
    let next = link.expect("a next link").trim_start_matches('<').split('>').next().unwrap().to_owned();
    let second = post(next, None).await;
    assert_eq!(second.0, 200, "{}", second.2);
    assert_eq!(second.2["orders"].as_array().unwrap().len(), 2);
    assert!(!second.1.get_all("link").iter().any(|l| l.to_str().unwrap().contains("rel=\"next\"")));
    problem(&post(format!("{orders_url}?cursor=x"), None).await, 400, "malformed");
}

/// An order made and validated while test names were allowed, finalized through a replica
/// (behind the same public URL, on the same store) that no longer allows them: the inventory
/// refuses the name, and the order records `rejectedIdentifier`, not `badCSR`.
#[tokio::test]
async fn a_name_the_inventory_refuses_at_finalize_is_a_rejected_identifier() {
    let server = AcmeServer::start_with(true, None).await;
    let (key, kid) = raw_account(&server).await;
    // Signs for `url` (the public URL) and sends to `to`.
    let post = |url: &str, to: &str, payload: Option<Value>| {
        let (key, kid, server) = (&key, &kid, &server);
        let (url, to) = (url.to_owned(), to.to_owned());
        async move {
            let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
            server.post(&to, &key.sign(h, payload.as_ref())).await
        }
    };
    let new_order = server.url("/new-order");
    let ids = json!({"identifiers": [{"type": "dns", "value": "acme.test"}]});
    let created = post(&new_order, &new_order, Some(ids)).await;
    assert_eq!(created.0, 201, "{}", created.2);
    let order_url = created.1["location"].to_str().unwrap().to_owned();
    let authz_url = created.2["authorizations"][0].as_str().unwrap();
    let authz = post(authz_url, authz_url, None).await.2;
    let challenge = authz["challenges"][0]["url"].as_str().unwrap();
    assert_eq!(post(challenge, challenge, Some(json!({}))).await.0, 200);
    let mut status = Value::Null;
    for _ in 0..100 {
        status = post(&order_url, &order_url, None).await.2["status"].clone();
        if status == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "ready");

    let strict = certkeep_server::AppState {
        issuance: certkeep_core::policy::IssuanceSettings {
            test_names: certkeep_core::policy::TestNames::Refused,
            ..server.state.issuance
        },
        ..server.state.clone()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let replica = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(certkeep_server::serve(listener, certkeep_server::app(strict), std::future::pending()));
    let finalize = created.2["finalize"].as_str().unwrap();
    let csr = json!({"csr": URL_SAFE_NO_PAD.encode(csr(&["acme.test"]).1)});
    let refused = post(finalize, &finalize.replace(&server.base, &replica), Some(csr)).await;
    assert_eq!((refused.0, &refused.2["status"]), (200, &json!("invalid")), "{}", refused.2);
    let error = &refused.2["error"];
    assert_eq!(error["type"], "urn:ietf:params:acme:error:rejectedIdentifier", "{error}");
    assert!(error["detail"].as_str().unwrap().contains("acme.test is an internal name"), "{error}");
    // The order says so through every replica, and no certificate was issued.
    let order = post(&order_url, &order_url, None).await.2;
    assert_eq!((&order["status"], &order["error"]), (&json!("invalid"), error));
    assert!(order.get("certificate").is_none(), "{order}");
}

async fn raw_account_with_new_key(server: &AcmeServer) -> (RawKey, String) {
    raw_account(server).await
}

#[tokio::test]
async fn revoke_by_certificate_key() {
    let server = AcmeServer::start_with(true, None).await;
    let account = account(&server).await;
    let mut order = account.new_order(&NewOrder::new(&[Identifier::Dns("acme.test".into())])).await.unwrap();
    answer(&server, &mut order, ChallengeType::Http01, true).await;
    assert_eq!(order.poll_ready(&retry()).await.unwrap(), OrderStatus::Ready, "always-valid mode");
    let (key_pem, der) = csr(&["acme.test"]);
    order.finalize_csr(&der).await.unwrap();
    let chain = order.poll_certificate(&retry()).await.unwrap();
    let leaf = pem_der(&chain[..chain.find("-----END CERTIFICATE-----").unwrap() + 25]);
    let url = server.url("/revoke-cert");
    let payload = json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf), "reason": 1});
    // A stranger's key may not revoke it.
    let stranger = RawKey::generate();
    let h = json!({"alg": "ES256", "jwk": stranger.jwk(), "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &stranger.sign(h, Some(&payload))).await, 403, "unauthorized");
    // An unknown reason code.
    let cert_key = RawKey::from_pkcs8(&pem_der(&key_pem));
    let bad = json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf), "reason": 6});
    let h = json!({"alg": "ES256", "jwk": cert_key.jwk(), "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &cert_key.sign(h, Some(&bad))).await, 400, "badRevocationReason");
    let h = json!({"alg": "ES256", "jwk": cert_key.jwk(), "nonce": server.nonce().await, "url": url});
    let r = server.post(&url, &cert_key.sign(h, Some(&payload))).await;
    assert_eq!(r.0, 200, "{}", r.2);
    let h = json!({"alg": "ES256", "jwk": cert_key.jwk(), "nonce": server.nonce().await, "url": url});
    problem(&server.post(&url, &cert_key.sign(h, Some(&payload))).await, 400, "alreadyRevoked");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acme_leaf_passes_pkilint() {
    let server = AcmeServer::start_with(true, None).await;
    let account = account(&server).await;
    let ids = [Identifier::Dns("acme.example.org".into())];
    let mut order = account.new_order(&NewOrder::new(&ids)).await.unwrap();
    answer(&server, &mut order, ChallengeType::Http01, false).await;
    assert_eq!(order.poll_ready(&retry()).await.unwrap(), OrderStatus::Ready);
    order.finalize_csr(&csr(&["acme.example.org"]).1).await.unwrap();
    let chain = order.poll_certificate(&retry()).await.unwrap();
    let leaf = pem_der(&chain[..chain.find("-----END CERTIFICATE-----").unwrap() + 25]);
    let documents = [("ACME leaf".to_owned(), "lint_cabf_serverauth_cert", vec!["-d"], leaf)];
    tokio::task::block_in_place(|| pkilint::assert_clean(&documents));
}

/// The store calls (each one a hop to a blocking thread) the server has made, from its
/// `/metrics`: the `_count` of the store call histogram, over queries and transactions.
async fn store_calls(server: &AcmeServer, metrics: &str) -> u64 {
    let text = server.client.get(metrics).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("certkeep_store_call_duration_seconds_count{"))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum()
}

/// One issuance for two names, request by request, and the store calls each request makes:
/// what bounds the server's CPU per issuance. A scrape's own call is counted by the next one.
#[tokio::test]
async fn each_acme_request_of_an_issuance_makes_a_bounded_number_of_store_calls() {
    let server = AcmeServer::start_with(true, None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = format!("http://{}/metrics", listener.local_addr().unwrap());
    let ops = certkeep_server::metrics_app(server.state.clone());
    tokio::spawn(certkeep_server::serve(listener, ops, std::future::pending()));
    let mut counted = store_calls(&server, &metrics).await;
    let mut calls = Vec::new();
    let mut note = async |request: &'static str| {
        let now = store_calls(&server, &metrics).await;
        calls.push((request, now - counted - 1));
        counted = now;
    };

    let (key, kid) = raw_account(&server).await;
    note("new-account").await;
    let post = |url: String, payload: Option<Value>| {
        let (key, kid, server) = (&key, &kid, &server);
        async move {
            let h = json!({"alg": "ES256", "kid": kid, "nonce": server.nonce().await, "url": url});
            server.post(&url, &key.sign(h, payload.as_ref())).await
        }
    };
    let names = ["acme.test", "www.acme.test"];
    let ids: Vec<Value> = names.iter().map(|n| json!({"type": "dns", "value": n})).collect();
    let created = post(server.url("/new-order"), Some(json!({"identifiers": ids}))).await;
    assert_eq!(created.0, 201, "{}", created.2);
    note("new-order").await;
    let order_url = created.1["location"].to_str().unwrap().to_owned();
    for authz_url in created.2["authorizations"].as_array().unwrap() {
        let authz = post(authz_url.as_str().unwrap().to_owned(), None).await;
        assert_eq!(authz.0, 200, "{}", authz.2);
        note("authz").await;
        let challenge = authz.2["challenges"][0]["url"].as_str().unwrap().to_owned();
        let started = post(challenge, Some(json!({}))).await;
        assert_eq!(started.2["status"], "processing", "{}", started.2);
        // The validation runs off the request path (at once: always valid), so its writes are
        // counted with the response's, once it is done.
        let id = last_id(authz_url.as_str().unwrap());
        for _ in 0..200 {
            if server.store.acme().acme_authz(id).unwrap().unwrap().status.as_str() == "valid" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        note("challenge and its validation").await;
    }
    let ready = post(order_url.clone(), None).await;
    assert_eq!(ready.2["status"], "ready", "{}", ready.2);
    note("order").await;
    let csr = json!({"csr": URL_SAFE_NO_PAD.encode(csr(&names).1)});
    let finalized = post(created.2["finalize"].as_str().unwrap().to_owned(), Some(csr)).await;
    assert_eq!(finalized.2["status"], "valid", "{}", finalized.2);
    note("finalize").await;
    let chain = post(finalized.2["certificate"].as_str().unwrap().to_owned(), None).await;
    assert_eq!(chain.0, 200);
    note("certificate").await;

    // Each POST reads its nonce, account and object in one call; one that changes something
    // writes in a second (new-order, the claim of a challenge, finalize's issuing transaction).
    // A validation records its outcome in one write.
    // (Before: 4, 9, 3, 8, 3, 9, 5, 8, 5.)
    let expected = [
        ("new-account", 4),
        ("new-order", 2),
        ("authz", 1),
        ("challenge and its validation", 3),
        ("authz", 1),
        ("challenge and its validation", 3),
        ("order", 1),
        ("finalize", 2),
        ("certificate", 1),
    ];
    assert_eq!(calls, expected);
}
