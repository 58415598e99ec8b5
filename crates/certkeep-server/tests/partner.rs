//! The Partner Subscriptions API over real HTTP: key types, subaccounts, ACME contracts,
//! SANs, EAB credentials and the contract certificate list of seed 004.

mod common;

use certkeep_core::{OrderStatus, credentials::hash_api_key};
use common::{NOW, TestServer};
use serde_json::{Value, json};
use time::{Duration, macros::datetime};

struct Partner<'a> {
    s: &'a TestServer,
    parent: String,
}

impl Partner<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        key: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req =
            self.s.client.request(method, format!("{}/partner-subscription/api/v1{path}", self.s.base));
        if let Some(key) = key {
            req = req.header("X-PARTNER-APIKEY", key);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        if status != 204 {
            assert_eq!(resp.headers()["content-type"], "application/json");
        }
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn subaccount(&self, name: &str) -> (i64, String) {
        let (status, v) = self
            .call(
                reqwest::Method::POST,
                Some(&self.parent),
                "/account/subaccount",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        (v["account_id"].as_i64().unwrap(), v["api_key"].as_str().unwrap().to_owned())
    }

    async fn contract(&self, key: &str, body: Value) -> Value {
        let (status, v) = self.call(reqwest::Method::POST, Some(key), "/acme", Some(body)).await;
        assert_eq!(status, 201, "{v}");
        v
    }
}

async fn partner(s: &TestServer) -> Partner<'_> {
    let parent = "PARENT-KEY-FOR-TESTS".to_owned();
    s.store.create_partner_key(s.fx.account, &hash_api_key(&parent), NOW).unwrap();
    Partner { s, parent }
}

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn keys_of_the_wrong_type_or_tenant_are_refused() {
    let s = TestServer::start().await;
    let p = partner(&s).await;
    let get = reqwest::Method::GET;
    let (status, v) = p.call(get.clone(), None, "/account/reporting", None).await;
    assert_eq!((status, code(&v)), (403, "access_denied|access_denied_invalid_key"));
    let (status, v) = p.call(get.clone(), Some("nope"), "/account/reporting", None).await;
    assert_eq!((status, code(&v)), (403, "access_denied|access_denied_invalid_key"));
    // A CertCentral key is not a partner key.
    let (status, _) = p.call(get.clone(), Some(&s.fx.admin_key), "/account/reporting", None).await;
    assert_eq!(status, 403);

    let (_, sub_key) = p.subaccount("Customer One").await;
    let (_, other_key) = p.subaccount("Customer Two").await;
    let created =
        p.contract(&sub_key, json!({"product_name_id": "ssl_dv_geotrust", "sans": ["one.test"]})).await;
    let id = created["acme_contract_id"].as_i64().unwrap();
    // Parent keys never operate on contracts.
    for path in [format!("/acme/{id}"), format!("/acme/{id}/certificates"), format!("/acme/{id}/credentials")]
    {
        let (status, v) = p.call(get.clone(), Some(&p.parent), &path, None).await;
        assert_eq!((status, code(&v)), (403, "access_denied|parent_key_not_allowed"), "{path}");
    }
    let (status, v) = p
        .call(
            reqwest::Method::POST,
            Some(&p.parent),
            "/acme",
            Some(json!({"product_name_id": "ssl_dv_geotrust", "sans": ["a.test"]})),
        )
        .await;
    assert_eq!((status, code(&v)), (403, "access_denied|parent_key_not_allowed"));
    // Subaccount keys never manage subaccounts or read reports.
    let (status, _) = p.call(get.clone(), Some(&sub_key), "/account/reporting", None).await;
    assert_eq!(status, 403);
    let (status, _) = p
        .call(reqwest::Method::POST, Some(&sub_key), "/account/subaccount", Some(json!({"name": "x"})))
        .await;
    assert_eq!(status, 403);
    // Another subaccount does not see the contract.
    for path in [format!("/acme/{id}"), format!("/acme/{id}/certificates"), format!("/acme/{id}/credentials")]
    {
        let (status, v) = p.call(get.clone(), Some(&other_key), &path, None).await;
        assert_eq!((status, code(&v)), (404, "not_found|acme_contract"), "{path}");
    }
    let (status, v) = p.call(get.clone(), Some(&sub_key), "/acme/abc", None).await;
    assert_eq!((status, code(&v)), (404, "not_found|acme_contract"));
    let (status, v) = p.call(get, Some(&sub_key), "/nothing/here", None).await;
    assert_eq!((status, code(&v)), (404, "not_found|route"));

    // The refused writes are in the audit log with the key and the client address; reads not.
    let query = certkeep_core::audit::AuditQuery { limit: 10, ..Default::default() };
    let refused: Vec<_> = s
        .store
        .audit_events(None, &query)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.event)
        .filter(|e| e.action == "partner.auth")
        .map(|e| (e.object, e.account_id.is_some(), e.refused, e.source))
        .collect();
    let local = "127.0.0.1".to_owned();
    assert_eq!(
        refused,
        [
            ("POST /partner-subscription/api/v1/account/subaccount".into(), true, true, local.clone()),
            ("POST /partner-subscription/api/v1/acme".into(), true, true, local),
        ]
    );
}

#[tokio::test]
async fn contract_lifecycle_sans_and_credentials() {
    let s = TestServer::start().await;
    let p = partner(&s).await;
    let (account_id, key) = p.subaccount("Customer").await;
    let created = p
        .contract(
            &key,
            json!({"product_name_id": "wildcard_dv_geotrust", "sans": ["Example.com", "*.example.com"]}),
        )
        .await;
    let id = created["acme_contract_id"].as_i64().unwrap();
    assert_eq!(created["account_id"], account_id);
    assert_eq!(created["sans"], json!(["example.com", "*.example.com"]));
    assert_eq!(created["acme_directory_url"], format!("{}/acme/directory", s.base));
    assert_eq!(created["eab_set"]["key_id"].as_str().unwrap().len(), 43);
    assert_eq!(created["created_at"], "2026-06-01T00:00:00Z");
    assert_eq!(created["valid_till"], "2027-06-01T00:00:00Z");
    assert_eq!(created["organization"], Value::Null);
    assert_eq!(created["date_canceled"], Value::Null);

    let (status, v) = p.call(reqwest::Method::GET, Some(&key), &format!("/acme/{id}"), None).await;
    assert_eq!(status, 200);
    assert!(v.get("eab_set").is_none(), "secrets are shown once");
    let (status, v) = p
        .call(reqwest::Method::PATCH, Some(&key), &format!("/acme/{id}"), Some(json!({"auto_renew": true})))
        .await;
    assert_eq!((status, v["auto_renew"].as_bool()), (200, Some(true)));
    let (status, v) = p
        .call(reqwest::Method::PUT, Some(&key), &format!("/acme/{id}"), Some(json!({"auto_renew": true})))
        .await;
    assert_eq!((status, code(&v)), (400, "missing_param|sans"), "PUT replaces everything");
    let (status, v) = p
        .call(
            reqwest::Method::PUT,
            Some(&key),
            &format!("/acme/{id}"),
            Some(json!({"sans": ["example.com"], "auto_renew": false})),
        )
        .await;
    assert_eq!((status, v["sans"].clone()), (200, json!(["example.com"])));
    let (status, v) = p
        .call(
            reqwest::Method::PUT,
            Some(&key),
            &format!("/acme/{id}/sans"),
            Some(json!({"sans": ["www.example.com"]})),
        )
        .await;
    assert_eq!((status, v["sans"].clone()), (200, json!(["example.com", "www.example.com"])));
    let (status, v) = p
        .call(
            reqwest::Method::DELETE,
            Some(&key),
            &format!("/acme/{id}/sans"),
            Some(json!({"sans": ["example.com"]})),
        )
        .await;
    assert_eq!((status, v["sans"].clone()), (200, json!(["www.example.com"])));
    let (status, v) = p
        .call(
            reqwest::Method::DELETE,
            Some(&key),
            &format!("/acme/{id}/sans"),
            Some(json!({"sans": ["www.example.com"]})),
        )
        .await;
    assert_eq!((status, code(&v)), (400, "invalid_sans"), "the last SAN stays");
    let (status, v) = p
        .call(
            reqwest::Method::PUT,
            Some(&key),
            &format!("/acme/{id}/sans"),
            Some(json!({"sans": ["bad name"]})),
        )
        .await;
    assert_eq!((status, code(&v)), (400, "invalid_sans"));

    // Credentials: regenerate with and without revoking the old set.
    let first_kid = created["eab_set"]["key_id"].as_str().unwrap().to_owned();
    let (status, v) = p
        .call(
            reqwest::Method::POST,
            Some(&key),
            &format!("/acme/{id}/credentials/regenerate"),
            Some(json!({"revoke_existing": false})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (_, list) = p.call(reqwest::Method::GET, Some(&key), &format!("/acme/{id}/credentials"), None).await;
    let statuses: Vec<&str> =
        list["credentials"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "active"]);
    assert_eq!(list["credentials"][1]["kid_hint"], &first_kid[..4]);
    assert_eq!(list["credentials"][0]["created_at"], "2026-06-01 00:00:00");
    let (status, _) =
        p.call(reqwest::Method::POST, Some(&key), &format!("/acme/{id}/credentials/regenerate"), None).await;
    assert_eq!(status, 201);
    let (_, list) = p.call(reqwest::Method::GET, Some(&key), &format!("/acme/{id}/credentials"), None).await;
    let statuses: Vec<&str> =
        list["credentials"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "revoked", "revoked"], "revoke_existing defaults to true");
    assert!(s.store.find_eab(&first_kid).unwrap().is_some_and(|(c, _)| !c.active));
    // Opening and regenerating are audited with the partner key and the key id, never an HMAC key.
    let query = certkeep_core::audit::AuditQuery { limit: 20, ..Default::default() };
    let events: Vec<_> = s
        .store
        .audit_events(Some(account_id), &query)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.event)
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.object == format!("acme_contract:{id}"))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        ["acme_contract.eab_regenerate", "acme_contract.eab_regenerate", "acme_contract.create"]
    );
    let created_event = events.iter().find(|e| e.action == "acme_contract.create").unwrap();
    assert!(created_event.detail.contains(&first_kid) && created_event.api_key_id.is_some());
    let hmac = created["eab_set"]["hmac_key"].as_str().unwrap();
    assert!(events.iter().all(|e| !e.detail.contains(hmac)));

    // Reporting lists the subaccount's contracts for the parent.
    let (status, report) = p.call(reqwest::Method::GET, Some(&p.parent), "/account/reporting", None).await;
    assert_eq!(status, 200);
    assert_eq!(report["accounts"][0]["account_id"], account_id);
    assert_eq!(report["accounts"][0]["acme"][0]["acme_contract_id"], id);

    // Cancel within 30 days: 204, credentials revoked, further changes refused.
    let (status, _) = p.call(reqwest::Method::DELETE, Some(&key), &format!("/acme/{id}"), None).await;
    assert_eq!(status, 204);
    let (_, v) = p.call(reqwest::Method::GET, Some(&key), &format!("/acme/{id}"), None).await;
    assert_eq!(v["date_canceled"], "2026-06-01T00:00:00Z");
    let (_, list) = p.call(reqwest::Method::GET, Some(&key), &format!("/acme/{id}/credentials"), None).await;
    assert!(list["credentials"].as_array().unwrap().iter().all(|c| c["status"] == "revoked"));
    let (status, v) = p
        .call(reqwest::Method::PATCH, Some(&key), &format!("/acme/{id}"), Some(json!({"auto_renew": false})))
        .await;
    assert_eq!((status, code(&v)), (400, "contract_canceled"));
}

#[tokio::test]
async fn contract_creation_errors() {
    let s = TestServer::start().await;
    let p = partner(&s).await;
    let (_, key) = p.subaccount("Customer").await;
    for (body, status, expected) in [
        (json!({"sans": ["a.test"]}), 400, "missing_param|product_name_id"),
        (json!({"product_name_id": "nope", "sans": ["a.test"]}), 404, "not_found|product"),
        (json!({"product_name_id": "ssl_dv_geotrust"}), 400, "missing_param|sans"),
        (
            json!({"product_name_id": "ssl_dv_geotrust", "sans": ["*.a.test"]}),
            400,
            "invalid_sans|wildcard_not_allowed",
        ),
        (
            json!({"product_name_id": "ssl_dv_geotrust", "sans": ["a.test"], "validity_years": 9}),
            400,
            "invalid_validity",
        ),
        (json!({"product_name_id": "ssl_basic", "sans": ["a.test"]}), 400, "missing_param|organization"),
        (json!({"product_name_id": 5}), 400, "bad_request_format"),
    ] {
        let (got, v) = p.call(reqwest::Method::POST, Some(&key), "/acme", Some(body.clone())).await;
        assert_eq!((got, code(&v)), (status, expected), "{body}");
    }
    // OV contracts carry their organization.
    let v = p
        .contract(&key, json!({"product_name_id": "ssl_basic", "sans": ["a.test"], "organization": {"name": "Acme", "city": "Oslo", "country": "NO"}}))
        .await;
    assert!(v["organization"]["id"].as_i64().is_some());
    assert_eq!(v["is_organization_validated"], true);
}

#[tokio::test]
async fn contract_certificates_match_seed_004() {
    let s = TestServer::start().await;
    let p = partner(&s).await;
    let (_, key) = p.subaccount("Customer").await;
    let created = p
        .contract(
            &key,
            json!({"product_name_id": "wildcard_dv_geotrust", "sans": ["example.com", "*.example.com"]}),
        )
        .await;
    let id = created["acme_contract_id"].as_i64().unwrap();
    let path = format!("/acme/{id}/certificates");
    let resp = s
        .client
        .get(format!("{}/partner-subscription/api/v1{path}", s.base))
        .header("X-PARTNER-APIKEY", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), r#"{"certificates":[]}"#);

    let contract = s.store.contract(None, id).unwrap().unwrap();
    let t = datetime!(2026-05-01 12:00 UTC);
    let issued = s.insert_contract_order(
        &contract,
        ("example.com", &["www.example.com"]),
        OrderStatus::Issued,
        t,
        Some(75),
    );
    let pending = s.insert_contract_order(&contract, ("api.example.com", &[]), OrderStatus::Pending, t, None);
    let old = t - Duration::days(400);
    let expired =
        s.insert_contract_order(&contract, ("old.example.com", &[]), OrderStatus::Issued, old, Some(90));
    let revoked =
        s.insert_contract_order(&contract, ("bad.example.com", &[]), OrderStatus::Revoked, t, Some(90));
    let _ = (issued, pending, expired, revoked);

    let (status, v) = p.call(reqwest::Method::GET, Some(&key), &path, None).await;
    assert_eq!(status, 200);
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 4);
    let first = &certs[0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["domain", "status", "expiration_date", "serial_number", "sans"]);
    assert_eq!(first["domain"], "example.com");
    assert_eq!(first["status"], "issued");
    assert_eq!(first["expiration_date"], "2026-07-15T12:00:00Z");
    assert_eq!(first["serial_number"].as_str().unwrap().len(), 32);
    assert_eq!(first["sans"], json!(["example.com", "www.example.com"]));
    assert_eq!(
        (certs[1]["status"].as_str(), certs[1]["expiration_date"].clone(), certs[1]["serial_number"].clone()),
        (Some("pending"), Value::Null, Value::Null)
    );
    // The contract does not renew itself: an expired certificate was not renewed.
    assert_eq!(certs[2]["status"], "not_renewed");
    assert_eq!(certs[3]["status"], "revoked");
    // The same orders are CertCentral orders of the subaccount.
    let info = s.store.find_order(
        &certkeep_core::Scope { account_id: contract.account_id, containers: None },
        &certkeep_core::OrderRef::Id(issued),
    );
    assert_eq!(info.unwrap().unwrap().certificate.serial_number.as_deref(), first["serial_number"].as_str());
}
