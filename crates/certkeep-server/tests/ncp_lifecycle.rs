//! NCP Certificate Manager writes over real HTTP with signed requests: paid issuance, reissue,
//! revoke, downloads, private keys, renewal, orders, lists, recent changes, domains, EAB
//! credentials used by an ACME client, and external certificates; all over the same inventory
//! CertCentral shows, each tenant seeing only its own.

mod common;
mod ncp_common;

use std::io::Read;

use certkeep_ca::{CertificateAuthority, KeyAlgorithm, LeafRequest, Validation};
use common::{NOW, TestServer};
use ncp_common::{Resp, call};
use reqwest::Method;
use serde_json::{Value, json};

const V2: &str = "/api/v2/certificate";

/// Calls as the fixture account (Acme).
async fn acme(s: &TestServer, method: Method, target: &str, body: Option<Value>) -> Resp {
    call(s, method, target, body.as_ref(), (&s.fx.ncp_access_key, &s.fx.ncp_secret_key)).await
}

/// Calls as the other tenant.
async fn other(s: &TestServer, method: Method, target: &str, body: Option<Value>) -> Resp {
    call(s, method, target, body.as_ref(), (&s.fx.other_ncp_access_key, &s.fx.other_ncp_secret_key)).await
}

/// The JSON of a 200 answer, with its `returnCode`.
fn answer(resp: &Resp) -> (String, Value) {
    assert_eq!(resp.0, 200, "{}", resp.2);
    assert_eq!(resp.1["x-ncp-apigw-response-origin"], "ENDPOINT");
    let v: Value = serde_json::from_str(&resp.2).unwrap();
    (v["returnCode"].as_str().unwrap().to_owned(), v)
}

/// Asserts a success and returns the body.
fn ok(resp: &Resp) -> Value {
    let (code, v) = answer(resp);
    assert_eq!(code, "0", "{v}");
    v
}

/// Asserts a service error: HTTP status and `returnCode`.
fn refused(resp: &Resp, status: u16, code: &str) {
    assert_eq!(resp.0, status, "{}", resp.2);
    let v: Value = serde_json::from_str(&resp.2).unwrap();
    assert_eq!(v["returnCode"], code, "{v}");
    assert!(v["returnMessage"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

/// (private key PKCS#8 PEM, CSR PEM).
fn key_and_csr(cn: &str, sans: &[&str]) -> (String, String) {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, cn, &sans).unwrap()
}

/// Registers `name` through NCP (pending until shown), has the operator vouch for it as a
/// private deployment does, and answers the domain as ListDomainValidations then shows it.
async fn register_domain(s: &TestServer, name: &str) -> Value {
    let registered = ok(&acme(
        s,
        Method::POST,
        "/api/v2/domain/domains",
        Some(json!({"dmnAddr": name, "dcvType": "PTXT"})),
    )
    .await);
    let pending = &registered["domainVldList"][0];
    assert_eq!((pending["validState"].as_str(), pending["dcvType"].as_str()), (Some("PENDING"), Some("TXT")));
    assert_eq!(pending["txtId"].as_str().map(str::len), Some(32), "{registered}");
    s.vouch_domain(s.fx.account, name);
    ok(&acme(s, Method::GET, &format!("/api/v2/domain/domains?domainAddress={name}"), None).await)
}

/// Requests an Advanced DV certificate for `cn` (+ `sans`); returns (order, certificate no, key).
async fn issue(s: &TestServer, cn: &str, sans: &[&str], name: &str) -> (i64, i64, String) {
    let (key, csr) = key_and_csr(cn, sans);
    let body = json!({"csr": csr, "certificateType": "NCP_PAID_DV_01", "certificateName": name,
                      "commonName": cn, "dnsName": sans, "validationMethod": "D"});
    let v = ok(&acme(s, Method::POST, &format!("{V2}/requestPaidCertificateIssuance"), Some(body)).await);
    let order: i64 = v["orderId"].as_str().unwrap().parse().unwrap();
    (order, v["certificates"][0]["certificateNo"].as_i64().unwrap(), key)
}

fn certcentral_ids(v: &Value) -> Vec<i64> {
    v["orders"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn an_ncp_request_is_a_signed_inventory_order_that_certcentral_lists() {
    let s = TestServer::start().await;
    // Names must be validated first (the domain policy applies to NCP too).
    let (_, csr) = key_and_csr("www.ncp.test", &["ncp.test"]);
    let body = json!({"csr": csr, "certificateType": "NCP_PAID_DV_01", "commonName": "www.ncp.test",
                      "dnsName": ["ncp.test"]});
    let resp = acme(&s, Method::POST, &format!("{V2}/requestPaidCertificateIssuance"), Some(body)).await;
    refused(&resp, 400, "2000");
    assert!(resp.2.contains("not been validated"), "{}", resp.2);

    let domain = register_domain(&s, "ncp.test").await;
    assert_eq!(domain["domainVldList"][0]["domainAddress"], "ncp.test");
    let (order, cert_no, _) = issue(&s, "www.ncp.test", &["ncp.test"], "web-01").await;

    // NCP's own views of the new order.
    let v = ok(&acme(&s, Method::GET, &format!("{V2}/orders/{order}"), None).await);
    let c = &v["certificates"][0];
    assert_eq!(
        (c["certificateName"].as_str(), c["statusCode"].as_str(), c["certificateType"].as_str()),
        (Some("web-01"), Some("1"), Some("NCP_PAID_DV_01"))
    );
    assert_eq!(c["dnsName"], "www.ncp.test,ncp.test");
    assert_eq!(v["subscriptionYears"], 1);
    // A one-year subscription whose certificate is valid 199 days (DigiCert's cap since 2026-02-24),
    // its last second included: 198 whole days remain.
    assert_eq!(v["remainingDays"], 198);
    let paid =
        ok(&acme(&s, Method::GET, &format!("{V2}/getPaidCertificates?certificateName=www.ncp.test"), None)
            .await);
    assert_eq!(paid["orders"][0]["orderId"], order.to_string());
    let list = ok(&acme(&s, Method::GET, &format!("{V2}/certificates?certificateName=WEB-01"), None).await);
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["sslCertificateList"][0]["certificateNo"], cert_no);
    assert_eq!(list["sslCertificateList"][0]["externalYn"], "N");
    let orders = ok(&acme(&s, Method::GET, &format!("{V2}/orders?page=1&pageSize=100"), None).await);
    let order_text = order.to_string();
    assert!(orders["orders"].as_array().unwrap().iter().any(|o| o["orderId"] == order_text.as_str()));

    // CertCentral sees the same order, issued, placed through the NCP key.
    assert!(certcentral_ids(&s.json("/order/certificate?limit=100").await).contains(&order));
    let info = s.json(&format!("/order/certificate/{order}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["product"]["name_id"], "ssl_dv_geotrust");
    assert_eq!(info["certificate"]["id"], cert_no);
    assert_eq!(info["api_key"]["name"], s.fx.ncp_access_key);
    let domains = s.json("/domain").await;
    assert!(domains["domains"].as_array().unwrap().iter().any(|d| d["name"] == "ncp.test"), "{domains}");
}

/// POSTs to CertCentral's Services API as the fixture administrator.
async fn certcentral_post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let resp = s
        .client
        .post(format!("{}/services/v2{path}", s.base))
        .header("X-DC-DEVKEY", &s.fx.admin_key)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_order_placed_through_certcentral_is_an_ncp_order() {
    let s = TestServer::start().await;
    let (status, _) =
        certcentral_post(&s, "/domain", json!({"name": "cc.test", "dcv_method": "email"})).await;
    assert_eq!(status, 201);
    s.vouch_domain(s.fx.account, "cc.test");
    let (_, csr) = key_and_csr("www.cc.test", &[]);
    let body = json!({
        "certificate": {"common_name": "www.cc.test", "csr": csr, "signature_hash": "sha256"},
        "organization": {"id": s.fx.org_epigyne},
        "order_validity": {"years": 1},
        "skip_approval": true
    });
    let (status, created) = certcentral_post(&s, "/order/certificate/ssl_plus", body).await;
    assert_eq!(status, 201, "{created}");
    let (order, cert_no) = (created["id"].as_i64().unwrap(), created["certificate_id"].as_i64().unwrap());

    let v = ok(&acme(&s, Method::GET, &format!("{V2}/orders/{order}"), None).await);
    assert_eq!(
        (v["certificateType"].as_str(), v["certificates"][0]["certificateNo"].as_i64()),
        (Some("NCP_PAID_OV_01"), Some(cert_no))
    );
    let paid =
        ok(&acme(&s, Method::GET, &format!("{V2}/getPaidCertificates?certificateName=www.cc.test"), None)
            .await);
    assert_eq!(paid["orders"][0]["orderId"], order.to_string());
    let list =
        ok(&acme(&s, Method::GET, &format!("{V2}/certificates?certificateName=www.cc.test"), None).await);
    assert_eq!(list["sslCertificateList"][0]["statusName"], "Normal");
    // NCP writes apply to it: revoke through NCP, seen revoked by CertCentral.
    ok(&acme(&s, Method::POST, &format!("{V2}/revoke"), Some(json!({"orderId": order, "certificateNo": 0})))
        .await);
    assert_eq!(s.json(&format!("/order/certificate/{order}")).await["status"], "revoked");
}

#[tokio::test]
async fn a_certcentral_order_reads_through_ncp_orders_and_lists() {
    let s = TestServer::start().await;
    let info = s.json(&format!("/order/certificate/{}", s.fx.issued)).await;
    let cert_no = info["certificate"]["id"].as_i64().unwrap();
    let v = ok(&acme(&s, Method::GET, &format!("{V2}/orders/{}", s.fx.issued), None).await);
    assert_eq!(v["orderId"], s.fx.issued.to_string());
    assert_eq!(v["certificates"][0]["certificateNo"], cert_no);
    assert_eq!(v["certificateType"], "NCP_PAID_OV_01");
    let list =
        ok(&acme(&s, Method::GET, &format!("{V2}/certificates?certificateName=www.alpha.com"), None).await);
    assert_eq!(list["sslCertificateList"][0]["certificateNo"], cert_no);
    let v1 = ok(&acme(&s, Method::GET, &format!("/api/v1/certificates?certificateNo={cert_no}"), None).await);
    assert_eq!(
        (v1["totalRows"].as_i64(), v1["sslCertificateList"][0]["domainAddress"].as_str()),
        (Some(1), Some("www.alpha.com"))
    );
    // EV, private and other tenants' orders are not NCP orders.
    for order in [s.fx.needs_approval, s.fx.reissued, s.fx.other_tenant_order, 999_999] {
        refused(&acme(&s, Method::GET, &format!("{V2}/orders/{order}"), None).await, 200, "2200");
    }
    // Paging of the flat list is by certificate.
    let all = ok(&acme(&s, Method::GET, &format!("{V2}/certificates"), None).await);
    let total = all["totalCount"].as_u64().unwrap();
    let page = ok(&acme(&s, Method::GET, &format!("{V2}/certificates?page=2&pageSize=2"), None).await);
    assert_eq!(page["totalCount"].as_u64(), Some(total));
    assert_eq!(page["sslCertificateList"].as_array().unwrap().len(), 2);
    assert_eq!(page["sslCertificateList"][0], all["sslCertificateList"][2]);
    // Cloud Basic / Global Edge: certkeep has none.
    let (code, cloud) = answer(&acme(&s, Method::GET, &format!("{V2}/getCertificates?page=1"), None).await);
    assert_eq!((code.as_str(), cloud["totalCount"].as_u64()), ("2200", Some(0)));
    refused(&acme(&s, Method::GET, &format!("{V2}/getCertificates?page=0"), None).await, 400, "2000");
}

#[tokio::test]
async fn keys_downloads_renewal_reissue_and_revoke() {
    let s = TestServer::start().await;
    register_domain(&s, "keys.test").await;
    let (order, cert_no, key) = issue(&s, "keys.test", &[], "keys-01").await;
    let zip_files = |bytes: &[u8]| {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut files = Vec::new();
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            files.push((f.name().unwrap().to_string(), text));
        }
        files
    };
    let download = |no: i64| {
        let s = &s;
        async move {
            let url = format!("{}{V2}/exportCertificate/{no}", s.base);
            let target = format!("{V2}/exportCertificate/{no}");
            let ts = ncp_common::now_ms();
            let resp = s
                .client
                .post(url)
                .header("accept", "application/zip")
                .header("x-ncp-apigw-timestamp", ts.to_string())
                .header("x-ncp-iam-access-key", &s.fx.ncp_access_key)
                .header(
                    "x-ncp-apigw-signature-v2",
                    ncp_common::sign(&s.fx.ncp_secret_key, "POST", &target, ts, &s.fx.ncp_access_key),
                )
                .body(json!({"certificateNo": no, "type": "PEM"}).to_string())
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.headers().get("content-type").cloned(),
                resp.bytes().await.unwrap().to_vec(),
            )
        }
    };

    // Without a registered key: certificate and chain only.
    let (status, ct, bytes) = download(cert_no).await;
    assert_eq!((status, ct.unwrap().to_str().unwrap()), (200, "application/zip"));
    let names: Vec<String> = zip_files(&bytes).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["certificate.pem", "chain.pem"]);

    // A key of another certificate is refused (26040), garbage is 1002, the right key is sealed.
    let (wrong, _) = key_and_csr("keys.test", &[]);
    let body = |k: &str| Some(json!({"certificateNo": cert_no, "privateKey": k}));
    refused(&acme(&s, Method::POST, &format!("{V2}/registPrivateKey"), body(&wrong)).await, 200, "26040");
    refused(&acme(&s, Method::POST, &format!("{V2}/registPrivateKey"), body("nonsense")).await, 200, "1002");
    refused(&other(&s, Method::POST, &format!("{V2}/registPrivateKey"), body(&key)).await, 200, "2200");
    ok(&acme(&s, Method::POST, &format!("{V2}/registPrivateKey"), body(&key)).await);
    let (_, _, bytes) = download(cert_no).await;
    let files = zip_files(&bytes);
    assert_eq!(files[2], ("privateKey.pem".to_owned(), key.clone()));
    assert!(files[1].1.matches("BEGIN CERTIFICATE").count() == 2);
    let metas = s.store.ncp_certificate_meta(s.fx.account).unwrap();
    let sealed =
        metas.iter().find(|m| m.certificate_id == cert_no).unwrap().sealed_private_key.clone().unwrap();
    let line = key.lines().nth(1).unwrap().as_bytes();
    assert!(!sealed.windows(line.len()).any(|w| w == line), "the key is sealed at rest");
    assert!(sealed.len() > key.len(), "sealed: nonce and tag around the key");

    // Renewal setting.
    let renewal = json!({"certificateNo": cert_no, "renewalYn": "Y"});
    ok(&acme(&s, Method::POST, &format!("{V2}/setCertificateRenewal"), Some(renewal)).await);
    let list = ok(&acme(&s, Method::GET, &format!("{V2}/certificates?certificateName=keys-01"), None).await);
    assert_eq!(list["sslCertificateList"][0]["renewalYn"], "Y");
    let bad = json!({"certificateNo": cert_no, "renewalYn": "maybe"});
    refused(&acme(&s, Method::POST, &format!("{V2}/setCertificateRenewal"), Some(bad)).await, 400, "2000");

    // Reissue with a new key: a second certificate on the order, now current in CertCentral.
    let (_, csr) = key_and_csr("keys.test", &["www.keys.test"]);
    let reissue = json!({"csr": csr, "dnsName": ["www.keys.test"]});
    refused(
        &other(&s, Method::POST, &format!("{V2}/{cert_no}/reissue"), Some(reissue.clone())).await,
        200,
        "2200",
    );
    let v = ok(&acme(&s, Method::POST, &format!("{V2}/{cert_no}/reissue"), Some(reissue)).await);
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(
        (certs[1]["issueType"].as_str(), certs[1]["statusCode"].as_str()),
        (Some("REISSUE"), Some("1"))
    );
    assert_eq!(certs[1]["certificateName"], "keys-01");
    let new_no = certs[1]["certificateNo"].as_i64().unwrap();
    assert_eq!(s.json(&format!("/order/certificate/{order}")).await["certificate"]["id"], new_no);

    // Revoke the reissue, then the whole order; CertCentral sees it revoked.
    refused(
        &other(
            &s,
            Method::POST,
            &format!("{V2}/revoke"),
            Some(json!({"orderId": order, "certificateNo": 0})),
        )
        .await,
        200,
        "2200",
    );
    let bad = json!({"orderId": order, "certificateNo": new_no, "revokeType": "keyLost"});
    refused(&acme(&s, Method::POST, &format!("{V2}/revoke"), Some(bad)).await, 400, "2000");
    let one = json!({"orderId": order.to_string(), "certificateNo": new_no, "revokeType": "superseded"});
    ok(&acme(&s, Method::POST, &format!("{V2}/revoke"), Some(one)).await);
    let v = ok(&acme(&s, Method::GET, &format!("{V2}/orders/{order}"), None).await);
    assert_eq!(v["certificates"][1]["statusCode"], "-5");
    assert_eq!(s.json(&format!("/order/certificate/{order}")).await["status"], "revoked");
    // Recent changes see it; a window is required.
    let changes = ok(&acme(&s, Method::GET, &format!("{V2}/recentChanges?minutes=10"), None).await);
    assert!(
        changes["certificates"].as_array().unwrap().iter().any(|c| c["certificateNo"] == new_no),
        "{changes}"
    );
    refused(&acme(&s, Method::GET, &format!("{V2}/recentChanges"), None).await, 400, "2101");
    refused(
        &acme(&s, Method::GET, &format!("{V2}/recentChanges?minutes=10&seconds=5"), None).await,
        400,
        "2101",
    );
}

#[tokio::test]
async fn bad_bodies_and_other_tenants_get_ncp_errors() {
    let s = TestServer::start().await;
    let issuance = format!("{V2}/requestPaidCertificateIssuance");
    for body in [
        json!({}),
        json!({"csr": "x", "certificateType": "NCP_PAID_EV_01", "commonName": "a.test"}),
        json!({"csr": "not a csr", "certificateType": "NCP_PAID_DV_01", "commonName": "a.test"}),
        json!({"csr": 7}),
        json!({"csr": "x", "certificateType": "NCP_PAID_OV_01", "commonName": "a.test"}),
        json!({"csr": "x", "certificateType": "NCP_PAID_DV_01", "commonName": "a.test", "certificateName": "1-bad"}),
    ] {
        refused(&acme(&s, Method::POST, &issuance, Some(body)).await, 400, "2000");
    }
    let names =
        json!({"csr": "x", "certificateType": "NCP_PAID_DV_01", "commonName": "a.test", "dnsName": [1]});
    refused(&acme(&s, Method::POST, &issuance, Some(names)).await, 400, "2201");
    let raw = s
        .client
        .post(format!("{}{issuance}", s.base))
        .body("{not json")
        .header("x-ncp-apigw-timestamp", ncp_common::now_ms().to_string())
        .header("x-ncp-iam-access-key", &s.fx.ncp_access_key)
        .header(
            "x-ncp-apigw-signature-v2",
            ncp_common::sign(
                &s.fx.ncp_secret_key,
                "POST",
                &issuance,
                ncp_common::now_ms(),
                &s.fx.ncp_access_key,
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    // A body over the limit is the gateway's 413.
    let huge = json!({"csr": "A".repeat(3 << 20)});
    let resp = acme(&s, Method::POST, &issuance, Some(huge)).await;
    assert_eq!(resp.0, 413);
    assert_eq!(
        resp.2,
        r#"{"error":{"errorCode":"430","message":"Request Entity Too Large","details":"Request entity too large."}}"#
    );
    // Every route is refused unsigned, by the gateway, before anything happens.
    for (method, path) in [
        (Method::POST, issuance.clone()),
        (Method::GET, format!("{V2}/certificates")),
        (Method::GET, format!("{V2}/getCertificates")),
        (Method::GET, format!("{V2}/orders")),
        (Method::GET, format!("{V2}/orders/1")),
        (Method::POST, format!("{V2}/1/reissue")),
        (Method::POST, format!("{V2}/revoke")),
        (Method::POST, format!("{V2}/exportCertificate/1")),
        (Method::POST, format!("{V2}/setCertificateRenewal")),
        (Method::POST, format!("{V2}/registPrivateKey")),
        (Method::GET, format!("{V2}/recentChanges?minutes=1")),
        (Method::POST, format!("{V2}/withExternal")),
        (Method::GET, "/api/v2/domain/domains".into()),
        (Method::POST, "/api/v2/domain/domains".into()),
        (Method::DELETE, "/api/v2/domain/domains/1".into()),
        (Method::GET, "/api/v2/acme/accounts".into()),
        (Method::POST, "/api/v2/acme/account".into()),
        (Method::POST, "/api/v2/acme/account/1/deactivate".into()),
        (Method::GET, "/api/v1/certificates".into()),
        (Method::POST, "/api/v1/certificate/withExternal".into()),
        (Method::DELETE, "/api/v1/certificate/1".into()),
    ] {
        let resp = ncp_common::send(&s, method.clone(), &path, &[]).await;
        assert_eq!(resp.0, 401, "{method} {path}");
        assert!(resp.2.contains("Authentication information are missing."), "{method} {path}");
    }

    // Another tenant cannot address Acme's certificates, orders or domains.
    let cert_no =
        s.json(&format!("/order/certificate/{}", s.fx.issued)).await["certificate"]["id"].as_i64().unwrap();
    refused(&other(&s, Method::GET, &format!("{V2}/orders/{}", s.fx.issued), None).await, 200, "2200");
    refused(
        &other(&s, Method::GET, &format!("{V2}/exportCertificate/{cert_no}/chain"), None).await,
        200,
        "2200",
    );
    refused(
        &other(&s, Method::POST, &format!("{V2}/exportCertificate/{cert_no}"), Some(json!({}))).await,
        200,
        "2200",
    );
    let renewal = json!({"certificateNo": cert_no, "renewalYn": "Y"});
    refused(
        &other(&s, Method::POST, &format!("{V2}/setCertificateRenewal"), Some(renewal)).await,
        200,
        "2200",
    );
    let revoke = json!({"certificateNo": cert_no});
    refused(&other(&s, Method::POST, &format!("{V2}/revoke"), Some(revoke)).await, 200, "2200");
    refused(&other(&s, Method::DELETE, &format!("/api/v1/certificate/{cert_no}"), None).await, 200, "2200");
    let list = ok(&other(&s, Method::GET, &format!("{V2}/certificates"), None).await);
    assert!(list["sslCertificateList"].as_array().unwrap().iter().all(|c| c["certificateNo"] != cert_no));
    let id = register_domain(&s, "mine.test").await["domainVldList"][0]["dmnId"].as_i64().unwrap();
    refused(&other(&s, Method::DELETE, &format!("/api/v2/domain/domains/{id}"), None).await, 400, "2100");
    let theirs = ok(&other(&s, Method::GET, "/api/v2/domain/domains", None).await);
    assert_eq!(theirs["totalRows"], 0);
}

#[tokio::test]
async fn domains_are_the_inventory_domains() {
    let s = TestServer::start().await;
    let a = register_domain(&s, "one.test").await["domainVldList"][0].clone();
    assert_eq!((a["dcvType"].as_str(), a["validState"].as_str()), (Some("PTXT"), Some("VALID")));
    let b = ok(&acme(
        &s,
        Method::POST,
        "/api/v2/domain/domains",
        Some(json!({"dmnAddr": "two.test", "dcvType": "TXT"})),
    )
    .await);
    assert_eq!(b["domainVldList"][0]["dcvType"], "TXT");
    refused(
        &acme(&s, Method::POST, "/api/v2/domain/domains", Some(json!({"dmnAddr": "one.test"}))).await,
        400,
        "2100",
    );
    refused(
        &acme(&s, Method::POST, "/api/v2/domain/domains", Some(json!({"dmnAddr": "*.x.test"}))).await,
        400,
        "2000",
    );
    refused(
        &acme(&s, Method::POST, "/api/v2/domain/domains", Some(json!({"dmnAddr": "a.test", "dcvType": "X"})))
            .await,
        400,
        "2000",
    );
    let all = ok(&acme(&s, Method::GET, "/api/v2/domain/domains?pageSize=1&page=2", None).await);
    assert_eq!(
        (all["totalRows"].as_i64(), all["domainVldList"][0]["domainAddress"].as_str()),
        (Some(2), Some("two.test"))
    );
    let txt = ok(&acme(&s, Method::GET, "/api/v2/domain/domains?dcvType=TXT", None).await);
    assert_eq!(txt["totalRows"], 1);
    let id = a["dmnId"].as_i64().unwrap();
    ok(&acme(&s, Method::DELETE, &format!("/api/v2/domain/domains/{id}"), None).await);
    refused(&acme(&s, Method::DELETE, &format!("/api/v2/domain/domains/{id}"), None).await, 400, "2100");
    let names: Vec<String> = s.json("/domain").await["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["two.test"]);
}

#[tokio::test]
async fn an_eab_credential_made_through_ncp_registers_an_acme_client() {
    let s = TestServer::start().await;
    let create = |alias: &str| json!({"validationMode": "PRE", "certificateTypeCode": "NPD_01", "validityDays": 198, "alias": alias});
    refused(&acme(&s, Method::POST, "/api/v2/acme/account", Some(create("early"))).await, 400, "2100");
    register_domain(&s, "eab.test").await;
    for bad in [
        json!({"validationMode": "HTTP", "certificateTypeCode": "NPD_01", "validityDays": 1, "alias": "a"}),
        json!({"validationMode": "PRE", "certificateTypeCode": "NPO_01", "validityDays": 1, "alias": "a"}),
        json!({"validationMode": "PRE", "certificateTypeCode": "NPD_01", "validityDays": 0, "alias": "a"}),
        json!({"validationMode": "PRE", "certificateTypeCode": "NPD_01", "validityDays": 9}),
    ] {
        refused(&acme(&s, Method::POST, "/api/v2/acme/account", Some(bad)).await, 400, "2000");
    }
    let created = ok(&acme(&s, Method::POST, "/api/v2/acme/account", Some(create("web"))).await);
    let (kid, hmac) =
        (created["eabKid"].as_str().unwrap().to_owned(), created["eabHmacKey"].as_str().unwrap().to_owned());
    let account_id = created["accountId"].as_i64().unwrap();
    assert_eq!(created["acmeDirectoryUrl"], format!("{}/acme/directory", s.base));

    s.register_with_eab(&kid, &hmac).await.expect("an ACME client registers with the NCP EAB");

    let list = ok(&acme(&s, Method::GET, "/api/v2/acme/accounts", None).await);
    assert_eq!((list["totalRows"].as_i64(), list["totalCount"].as_i64()), (Some(0), Some(1)));
    let a = &list["accounts"][0];
    assert_eq!(
        (a["accountId"].as_i64(), a["alias"].as_str(), a["status"].as_str()),
        (Some(account_id), Some("web"), Some("valid"))
    );
    assert_eq!(a["eabKid"], kid.as_str());
    assert_ne!(a["eabHmacKey"], hmac.as_str(), "the listed key is masked");
    let theirs = ok(&other(&s, Method::GET, "/api/v2/acme/accounts", None).await);
    assert_eq!(theirs["totalCount"], 0);

    refused(
        &other(&s, Method::POST, &format!("/api/v2/acme/account/{account_id}/deactivate"), None).await,
        400,
        "2100",
    );
    let done =
        ok(&acme(&s, Method::POST, &format!("/api/v2/acme/account/{account_id}/deactivate"), None).await);
    assert_eq!(done["status"], "deactivated");
    let list = ok(&acme(&s, Method::GET, "/api/v2/acme/accounts", None).await);
    assert_eq!(
        (list["accounts"][0]["status"].as_str(), list["accounts"][0]["eabActive"].as_bool()),
        (Some("deactivated"), Some(false))
    );
    assert!(s.register_with_eab(&kid, &hmac).await.is_err(), "a deactivated credential binds no new client");
}

#[tokio::test]
async fn external_certificates_are_imported_listed_and_deleted() {
    let s = TestServer::start().await;
    // A certificate from someone else's CA.
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_elsewhere(dir.path());
    let (key, pem) = signed_by(&ca, "ext.example", &["ext.example", "www.ext.example"]);
    let chain = format!(
        "{}{}",
        certkeep_ca::certificate_pem(ca.intermediate_der()),
        certkeep_ca::certificate_pem(ca.root_der())
    );
    let import = |name: &str, key: &str, cert: &str| json!({"certificateName": name, "privateKey": key, "publicKeyCertificate": cert, "certificateChain": chain});
    let target = "/api/v1/certificate/withExternal";
    let (wrong, _) = key_and_csr("ext.example", &[]);
    refused(&acme(&s, Method::POST, target, Some(import("ext-1", &wrong, &pem))).await, 200, "26040");
    refused(&acme(&s, Method::POST, target, Some(import("ext-1", &key, "junk"))).await, 200, "1002");
    refused(&acme(&s, Method::POST, target, Some(import("x", &key, &pem))).await, 400, "2000");
    let v = ok(&acme(&s, Method::POST, target, Some(import("ext-1", &key, &pem))).await);
    let c = &v["sslCertificateList"][0];
    assert_eq!(
        (c["certificateName"].as_str(), c["externalYn"].as_str(), c["statusCode"].as_str()),
        (Some("ext-1"), Some("Y"), Some("1"))
    );
    assert_eq!(c["subDomainAddress"], "www.ext.example");
    let no = c["certificateNo"].as_i64().unwrap();
    refused(&acme(&s, Method::POST, target, Some(import("ext-2", &key, &pem))).await, 400, "2100");

    // Listed by API 1.0 and 2.0, never as a paid certificate; its chain is the one imported.
    let v1 = ok(&acme(&s, Method::GET, "/api/v1/certificates?certificateName=ext-1", None).await);
    assert_eq!(v1["sslCertificateList"][0]["certificateNo"], no);
    let v2 = ok(&acme(&s, Method::GET, &format!("{V2}/certificates?certificateName=ext-1"), None).await);
    assert_eq!(v2["sslCertificateList"][0]["certificateType"], Value::Null);
    let (code, _) = answer(
        &acme(&s, Method::GET, &format!("{V2}/getPaidCertificates?certificateName=ext.example"), None).await,
    );
    assert_eq!(code, "2200");
    let exported = ok(&acme(&s, Method::GET, &format!("{V2}/exportCertificate/{no}/chain"), None).await);
    assert_eq!(exported["certificate"], pem.as_str());
    assert_eq!(exported["subCaCertificate"], certkeep_ca::certificate_pem(ca.intermediate_der()).as_str());
    // Not certkeep's to revoke or reissue, through NCP or CertCentral.
    let revoke = json!({"certificateNo": no, "revokeType": "superseded"});
    refused(&acme(&s, Method::POST, &format!("{V2}/revoke"), Some(revoke)).await, 400, "2100");
    let (_, csr) = key_and_csr("ext.example", &[]);
    refused(
        &acme(&s, Method::POST, &format!("{V2}/{no}/reissue"), Some(json!({"csr": csr}))).await,
        400,
        "2100",
    );
    let cc = s
        .client
        .put(format!("{}/services/v2/certificate/{no}/revoke", s.base))
        .header("X-DC-DEVKEY", &s.fx.admin_key)
        .body(json!({"skip_approval": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(cc.status().as_u16(), 400);
    assert!(cc.text().await.unwrap().contains("not_issued_here"));
    // Not the other tenant's; certkeep's own certificates are not deleted, only revoked.
    refused(
        &other(&s, Method::GET, &format!("/api/v1/certificates?certificateNo={no}"), None).await,
        200,
        "2200",
    );
    let ours =
        s.json(&format!("/order/certificate/{}", s.fx.issued)).await["certificate"]["id"].as_i64().unwrap();
    refused(&acme(&s, Method::DELETE, &format!("/api/v1/certificate/{ours}"), None).await, 200, "1004");
    refused(
        &acme(&s, Method::DELETE, &format!("/api/v1/certificate/{no}?certificateName=ext-9"), None).await,
        200,
        "1004",
    );
    ok(&acme(&s, Method::DELETE, &format!("/api/v1/certificate/{no}?certificateName=ext-1"), None).await);
    refused(
        &acme(&s, Method::GET, &format!("/api/v1/certificates?certificateNo={no}"), None).await,
        200,
        "2200",
    );
    refused(&acme(&s, Method::GET, &format!("{V2}/exportCertificate/{no}/chain"), None).await, 200, "2200");
    // Imported again (API 2.0 path, newer field name): back under its old number and new name.
    let again = json!({"certificateName": "ext-2", "privateKey": key, "certificateBody": pem});
    let v = ok(&acme(&s, Method::POST, &format!("{V2}/withExternal"), Some(again)).await);
    let c = &v["sslCertificateList"][0];
    assert_eq!((c["certificateNo"].as_i64(), c["certificateName"].as_str()), (Some(no), Some("ext-2")));
}

/// Another CA, created in `dir`.
fn ca_elsewhere(dir: &std::path::Path) -> CertificateAuthority {
    CertificateAuthority::create(dir, KeyAlgorithm::EcdsaP256, "Elsewhere", NOW - time::Duration::days(30))
        .unwrap()
}

/// A key and certificate (PEM) for `cn` with `dns` names, issued by `ca`.
fn signed_by(ca: &CertificateAuthority, cn: &str, dns: &[&str]) -> (String, String) {
    let (key, csr) = key_and_csr(cn, dns);
    let public_key = certkeep_ca::parse_csr(&csr).unwrap().public_key;
    let dns: Vec<String> = dns.iter().map(|n| n.to_string()).collect();
    let issued = ca
        .issue(&LeafRequest {
            public_key: &public_key,
            common_name: cn,
            dns_names: &dns,
            organization: None,
            validation: Validation::Dv,
            client_auth: false,
            not_before: NOW - time::Duration::days(1),
            not_after: NOW + time::Duration::days(90),
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
        })
        .unwrap();
    (key, certkeep_ca::certificate_pem(&issued.der))
}

/// certkeep's OCSP responder, asked by openssl for `serial` (hex) under certkeep's intermediate:
/// `good`, `revoked` or `unknown`, from a verified response.
fn ocsp_status(s: &TestServer, serial: &str) -> String {
    let all = s.ocsp(&["-serial".as_ref(), format!("0x{serial}").as_ref()]);
    let line =
        all.lines().find(|l| l.starts_with(&format!("0x{serial}:"))).unwrap_or_else(|| panic!("{all}"));
    line.split(':').nth(1).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_answers_unknown_for_imported_certificates_and_good_for_issued_ones() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, pem) = signed_by(&ca_elsewhere(dir.path()), "ocsp-ext.example", &["ocsp-ext.example"]);
    let import = json!({"certificateName": "ocsp-ext", "privateKey": key, "publicKeyCertificate": pem});
    let v = ok(&acme(&s, Method::POST, "/api/v1/certificate/withExternal", Some(import)).await);
    let imported = v["sslCertificateList"][0]["certSerialNumber"].as_str().unwrap().to_owned();
    let issued = s.json(&format!("/order/certificate/{}", s.fx.issued)).await["certificate"]["serial_number"]
        .as_str()
        .unwrap()
        .to_owned();
    // openssl's client blocks: run it off the runtime the server is on.
    let (imported_status, issued_status) =
        tokio::task::block_in_place(|| (ocsp_status(&s, &imported), ocsp_status(&s, &issued)));
    // certkeep never signed the imported serial (RFC 6960: unknown), but did sign its own.
    assert_eq!(imported_status, "unknown");
    assert_eq!(issued_status, "good");
    // Still registered: importing it again is refused; another tenant's import is its own.
    let again = json!({"certificateName": "ocsp-ext-2", "privateKey": key, "publicKeyCertificate": pem});
    refused(
        &acme(&s, Method::POST, "/api/v1/certificate/withExternal", Some(again.clone())).await,
        400,
        "2100",
    );
    ok(&other(&s, Method::POST, "/api/v1/certificate/withExternal", Some(again)).await);
}

/// A self-signed certificate (PEM) with this serial (hex), and its key (PEM).
fn self_signed_with_serial(serial_hex: &str) -> (String, String) {
    let bytes: Vec<u8> = (0..serial_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&serial_hex[i..i + 2], 16).unwrap())
        .collect();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["squat.example".to_owned()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&bytes));
    (key.serialize_pem(), params.self_signed(&key).unwrap().pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_never_depend_on_another_tenants_certificates() {
    let s = TestServer::start().await;
    let target = "/api/v1/certificate/withExternal";
    let dir = tempfile::tempdir().unwrap();
    let (key, pem) = signed_by(&ca_elsewhere(dir.path()), "shared.example", &["shared.example"]);
    let import =
        |name: &str| json!({"certificateName": name, "privateKey": key, "publicKeyCertificate": pem});
    // The other tenant holds the certificate first; ours is imported as if it did not.
    let theirs = ok(&other(&s, Method::POST, target, Some(import("shared"))).await);
    let ours = ok(&acme(&s, Method::POST, target, Some(import("shared"))).await);
    let (theirs, ours) = (&theirs["sslCertificateList"][0], &ours["sslCertificateList"][0]);
    assert_eq!(ours["certSerialNumber"], theirs["certSerialNumber"]);
    assert_ne!(ours["certificateNo"], theirs["certificateNo"]);
    // Within a tenant, the issuer's serial is taken once.
    refused(&acme(&s, Method::POST, target, Some(import("shared-2"))).await, 400, "2100");
    // The other tenant cannot block the serial of a certificate certkeep issued to us (say, read
    // from a CT log) with a certificate of its own making: its import is its own, and ours stays
    // ours by serial, in CertCentral and OCSP.
    let serial = s.json(&format!("/order/certificate/{}", s.fx.issued)).await["certificate"]["serial_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let (squat_key, squat_pem) = self_signed_with_serial(&serial);
    let squat =
        json!({"certificateName": "squat", "privateKey": squat_key, "publicKeyCertificate": squat_pem});
    let v = ok(&other(&s, Method::POST, target, Some(squat)).await);
    assert_eq!(v["sslCertificateList"][0]["certSerialNumber"], serial.as_str());
    assert_eq!(s.json(&format!("/order/certificate/{serial}")).await["id"], s.fx.issued);
    assert_eq!(tokio::task::block_in_place(|| ocsp_status(&s, &serial)), "good");
}
