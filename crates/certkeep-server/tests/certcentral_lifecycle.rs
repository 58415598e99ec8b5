//! The certificate lifecycle over CertCentral's API: order, approve, reject, cancel, download
//! in every format, duplicate, reissue; checked with openssl where it matters.

mod common;

use std::{io::Read, path::Path, process::Command};

use certkeep_ca::KeyAlgorithm;
use common::{NOW, TestServer, assert_error};
use serde_json::{Value, json};
use time::macros::datetime;

impl TestServer {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.send(reqwest::Method::POST, &self.fx.admin_key.clone(), path, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn put(&self, path: &str, body: Value) -> (u16, String) {
        self.send(reqwest::Method::PUT, &self.fx.admin_key.clone(), path, body).await
    }

    async fn download(&self, path: &str, accept: Option<&str>) -> (u16, String, Vec<u8>) {
        let mut req = self
            .client
            .get(format!("{}/services/v2{path}", self.base))
            .header("X-DC-DEVKEY", &self.fx.admin_key);
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct =
            resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, ct, resp.bytes().await.unwrap().to_vec())
    }

    /// Registers `name` (pending) and has the operator vouch for it, as a private deployment
    /// does: certificates may then name it.
    async fn register_domain(&self, name: &str) {
        let (status, body) = self.post("/domain", json!({"name": name, "dcv_method": "email"})).await;
        assert_eq!(status, 201, "{body}");
        self.vouch_domain(self.fx.account, name);
    }

    async fn order_count(&self) -> u64 {
        self.json("/order/certificate?limit=1").await["page"]["total"].as_u64().unwrap()
    }
}

fn csr(cn: &str, sans: &[&str]) -> String {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, cn, &sans).unwrap().1
}

fn order_body(cn: &str, sans: &[&str], org: i64, skip: bool) -> Value {
    json!({
        "certificate": {"common_name": cn, "dns_names": sans, "csr": csr(cn, sans), "signature_hash": "sha256",
                        "server_platform": {"id": 45}},
        "organization": {"id": org},
        "order_validity": {"years": 1},
        "skip_approval": skip,
        "comments": "for the lifecycle test"
    })
}

fn pem_blocks(text: &str) -> usize {
    text.matches("-----BEGIN CERTIFICATE-----").count()
}

/// `openssl verify` of a leaf against the test CA, at the fixture's clock.
fn openssl_verify(s: &TestServer, dir: &Path, leaf_pem: &str) -> String {
    let leaf = dir.join("leaf.pem");
    std::fs::write(&leaf, leaf_pem).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-attime", &NOW.unix_timestamp().to_string(), "-CAfile"])
        .arg(s.ca_dir.join("root.crt.pem"))
        .arg("-untrusted")
        .arg(s.ca_dir.join("intermediate.crt.pem"))
        .arg(&leaf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            assert!(
                text.starts_with("-----BEGIN CERTIFICATE-----")
                    && text.ends_with("-----END CERTIFICATE-----\n")
            );
            f.name().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn order_with_skip_approval_issues_at_once_and_downloads_in_every_format() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    s.register_domain("lifecycle.test").await;
    let (status, created) = s
        .post(
            "/order/certificate/ssl_plus",
            order_body("www.lifecycle.test", &["api.lifecycle.test"], s.fx.org_epigyne, true),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["requests"][0]["status"], "approved");
    let order_id = created["id"].as_i64().unwrap();
    let cert_id = created["certificate_id"].as_i64().unwrap();
    let chain = created["certificate_chain"].as_array().unwrap();
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[0]["subject_common_name"], "www.lifecycle.test");
    assert_eq!(chain[2]["subject_common_name"], "Test Root CA");
    assert!(openssl_verify(&s, dir.path(), chain[0]["pem"].as_str().unwrap()).contains(": OK"));

    let info = s.json(&format!("/order/certificate/{order_id}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["certificate"]["id"], cert_id);
    assert_eq!(info["certificate"]["dns_names"], json!(["api.lifecycle.test"]));
    // A one-year plan whose first certificate is valid 199 days (its last second included),
    // DigiCert's cap since 2026-02-24.
    assert_eq!(info["certificate"]["valid_till"], "2026-12-16");
    assert_eq!(info["order_valid_till"], "2027-06-01");
    assert_eq!(info["api_key"]["key_type"], "api_key");
    assert_eq!(info["user"]["id"], s.fx.admin_user);
    assert_eq!(info["requests"][0]["status"], "approved");

    // Every format, by certificate and by order.
    for (format, ct, blocks) in [
        ("pem_all", "application/x-pem-file", 3),
        ("pem_noroot", "application/x-pem-file", 2),
        ("pem_nointermediate", "application/x-pem-file", 1),
    ] {
        let (status, got_ct, body) =
            s.download(&format!("/certificate/{cert_id}/download/format/{format}"), None).await;
        assert_eq!((status, got_ct.as_str()), (200, ct), "{format}");
        let text = String::from_utf8(body).unwrap();
        assert_eq!(pem_blocks(&text), blocks, "{format}");
        assert!(text.ends_with("-----END CERTIFICATE-----\n") && !text.ends_with("\n\n"), "{format}");
        assert!(text.starts_with(chain[0]["pem"].as_str().unwrap()), "{format}: leaf first");
        assert!(openssl_verify(&s, dir.path(), &text).contains(": OK"));
    }
    for format in ["p7b", "cer"] {
        let (status, ct, body) =
            s.download(&format!("/certificate/{cert_id}/download/format/{format}"), None).await;
        assert_eq!((status, ct.as_str()), (200, "application/x-pkcs7-certificates"));
        let p7 = dir.path().join("bundle.p7b");
        std::fs::write(&p7, &body).unwrap();
        let out = Command::new("openssl")
            .args(["pkcs7", "-print_certs", "-noout", "-in"])
            .arg(&p7)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).matches("subject=").count(), 3, "{format}");
    }
    for (format, files) in [("default", 3), ("default_pem", 3), ("default_cer", 3), ("apache", 2)] {
        let (status, ct, body) =
            s.download(&format!("/certificate/{cert_id}/download/format/{format}"), None).await;
        assert_eq!((status, ct.as_str()), (200, "application/zip"), "{format}");
        assert_eq!(zip_names(&body).len(), files, "{format}");
    }
    // certmesh asks for pem_all as a ZIP of .pem files, leaf first.
    let (_, ct, body) =
        s.download(&format!("/certificate/{cert_id}/download/format/pem_all"), Some("application/zip")).await;
    assert_eq!(ct, "application/zip");
    assert_eq!(zip_names(&body), ["www_lifecycle_test.pem", "IntermediateCA.pem", "TrustedRoot.pem"]);
    // The platform download follows the certificate's platform (nginx: leaf and chain).
    let (_, ct, body) = s.download(&format!("/certificate/{cert_id}/download/platform"), None).await;
    assert_eq!((ct.as_str(), pem_blocks(&String::from_utf8(body).unwrap())), ("application/x-pem-file", 2));
    let (_, _, body) = s.download(&format!("/certificate/{cert_id}/download/platform/29"), None).await;
    assert_eq!(pem_blocks(&String::from_utf8(body).unwrap()), 3);
    let (_, _, body) =
        s.download(&format!("/certificate/download/order/{order_id}/format/pem_all"), None).await;
    assert_eq!(pem_blocks(&String::from_utf8(body).unwrap()), 3);
    let (_, ct, _) = s.download(&format!("/certificate/download/order/{order_id}"), None).await;
    assert_eq!(ct, "application/zip");
    // By serial number too.
    let serial = info["certificate"]["serial_number"].as_str().unwrap();
    let (status, _, _) = s.download(&format!("/certificate/{serial}/download/format/pem_all"), None).await;
    assert_eq!(status, 200);
    let (status, _, body) = s.download(&format!("/certificate/{cert_id}/download/format/pdf"), None).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));

    let chain = s.json(&format!("/certificate/{cert_id}/chain")).await;
    assert_eq!(chain["intermediates"].as_array().unwrap().len(), 3);
    let described = s.json(&format!("/certificate/{cert_id}")).await;
    assert_eq!(
        (described["order_id"].as_i64(), described["status"].as_str()),
        (Some(order_id), Some("issued"))
    );
    // Another tenant cannot download it.
    let resp = s
        .get(Some(&s.fx.other_tenant_key.clone()), &format!("/certificate/{cert_id}/download/format/pem_all"))
        .await;
    assert_error(&resp, 404, "not_found|certificate");
}

#[tokio::test]
async fn approval_rejection_and_cancellation() {
    let s = TestServer::start().await;
    s.register_domain("approve.test").await;
    let key = s.fx.admin_key.clone();
    let (status, created) = s
        .post("/order/certificate/ssl_plus", order_body("a.approve.test", &[], s.fx.org_epigyne, false))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["requests"][0]["status"], "pending");
    assert!(created.get("certificate_id").is_none());
    let order_id = created["id"].as_i64().unwrap();
    let request_id = created["requests"][0]["id"].as_i64().unwrap();
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "needs_approval");

    let pending = s.json("/request?filters[status]=pending").await;
    assert!(pending["requests"].as_array().unwrap().iter().any(|r| r["id"] == request_id), "{pending}");
    let req = s.json(&format!("/request/{request_id}")).await;
    assert_eq!((req["type"].as_str(), req["order"]["id"].as_i64()), (Some("new_request"), Some(order_id)));
    assert_eq!(req["comments"], "for the lifecycle test");

    // A view-only key cannot approve; an unknown status is refused.
    let (status, body) = s
        .send(
            reqwest::Method::PUT,
            &s.fx.view_only_key.clone(),
            &format!("/request/{request_id}/status"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = s.put(&format!("/request/{request_id}/status"), json!({"status": "maybe"})).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = s
        .put(
            &format!("/request/{request_id}/status"),
            json!({"status": "approved", "processor_comment": "ok"}),
        )
        .await;
    assert_eq!((status, body.as_str()), (204, ""));
    let info = s.json(&format!("/order/certificate/{order_id}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["certificate"]["serial_number"].as_str().unwrap().len(), 32);
    let (status, body) = s.put(&format!("/request/{request_id}/status"), json!({"status": "approved"})).await;
    assert_eq!(status, 400);
    assert!(body.contains("request_already_processed"), "{body}");

    // Reject.
    let (_, created) = s
        .post("/order/certificate/ssl_plus", order_body("b.approve.test", &[], s.fx.org_epigyne, false))
        .await;
    let (order_id, request_id) =
        (created["id"].as_i64().unwrap(), created["requests"][0]["id"].as_i64().unwrap());
    assert_eq!(s.put(&format!("/request/{request_id}/status"), json!({"status": "rejected"})).await.0, 204);
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "rejected");

    // Cancel (upper case as Lemur sends it); a second cancel is refused.
    let (_, created) = s
        .post("/order/certificate/ssl_plus", order_body("c.approve.test", &[], s.fx.org_epigyne, false))
        .await;
    let order_id = created["id"].as_i64().unwrap();
    let (status, body) = s
        .put(
            &format!("/order/certificate/{order_id}/status"),
            json!({"status": "CANCELED", "note": "no longer needed"}),
        )
        .await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "canceled");
    let (status, body) =
        s.put(&format!("/order/certificate/{order_id}/status"), json!({"status": "canceled"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) =
        s.put(&format!("/order/certificate/{order_id}/status"), json!({"status": "issued"})).await;
    assert_eq!(status, 400);

    // Status changes see all three.
    let changes = s.json("/order/certificate/status-changes?minutes=60").await;
    assert!(changes["orders"].as_array().unwrap().len() >= 3, "{changes}");
    let resp = s.get(Some(&key), "/order/certificate/status-changes?minutes=20000").await;
    assert_error(&resp, 400, "time_frame_too_long");
}

#[tokio::test]
async fn duplicates_and_reissues() {
    let s = TestServer::start().await;
    s.register_domain("dup.test").await;
    let (_, created) = s
        .post(
            "/order/certificate/ssl_multi_domain",
            order_body("www.dup.test", &["api.dup.test"], s.fx.org_epigyne, true),
        )
        .await;
    let order_id = created["id"].as_i64().unwrap();
    let first_serial =
        s.json(&format!("/order/certificate/{order_id}")).await["certificate"]["serial_number"].clone();

    // Duplicate, issued at once, for a subset of the names.
    let body = json!({"certificate": {"common_name": "api.dup.test", "csr": csr("api.dup.test", &[]), "dns_names": []}, "skip_approval": true});
    let (status, dup) = s.post(&format!("/order/certificate/{order_id}/duplicate"), body).await;
    assert_eq!(status, 201, "{dup}");
    assert_eq!(dup["id"], order_id);
    assert_eq!(dup["certificate_chain"].as_array().unwrap().len(), 3);
    let dups = s.json(&format!("/order/certificate/{order_id}/duplicate")).await;
    assert_eq!(dups["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(dups["certificates"][0]["common_name"], "api.dup.test");
    assert_eq!(
        s.json(&format!("/order/certificate/{order_id}")).await["certificate"]["serial_number"],
        first_serial
    );
    // A duplicate cannot add names.
    let body = json!({"certificate": {"common_name": "new.dup.test", "csr": csr("new.dup.test", &[])}, "skip_approval": true});
    let (status, err) = s.post(&format!("/order/certificate/{order_id}/duplicate"), body).await;
    assert_eq!(status, 400);
    assert_eq!(err["errors"][0]["code"], "invalid_dns_names|not_on_order");

    // Reissue with approval: reissue_pending, then issued with a new current certificate.
    let body = json!({"certificate": {"common_name": "www.dup.test", "dns_names": ["api.dup.test", "cdn.dup.test"], "csr": csr("www.dup.test", &[])}});
    let (status, reissue) = s.post(&format!("/order/certificate/{order_id}/reissue"), body).await;
    assert_eq!(status, 201, "{reissue}");
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "reissue_pending");
    let request_id = reissue["requests"][0]["id"].as_i64().unwrap();
    assert_eq!(s.put(&format!("/request/{request_id}/status"), json!({"status": "approved"})).await.0, 204);
    let info = s.json(&format!("/order/certificate/{order_id}")).await;
    assert_eq!(info["status"], "issued");
    assert_ne!(info["certificate"]["serial_number"], first_serial);
    assert_eq!(info["certificate"]["dns_names"], json!(["api.dup.test", "cdn.dup.test"]));
    // The new name is searchable; the reissue is listed.
    assert_eq!(s.ids("/order/certificate?filters[domain_name]=cdn.dup.test").await, vec![order_id]);
    assert_eq!(
        s.json(&format!("/order/certificate/{order_id}/reissue")).await["certificates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Lookup by the new serial; the old one no longer names the order.
    let serial = info["certificate"]["serial_number"].as_str().unwrap();
    assert_eq!(s.json(&format!("/order/certificate/{serial}")).await["id"], order_id);
}

#[tokio::test]
async fn invalid_orders_get_clear_errors_and_store_nothing() {
    let s = TestServer::start().await;
    s.register_domain("bad.test").await;
    let before = s.order_count().await;
    let org = s.fx.org_epigyne;
    let good = csr("www.bad.test", &[]);
    // Flip one byte inside the signature (the end of the DER).
    let tampered = tamper(&good);
    let weak = openssl_csr("rsa:1024", "www.bad.test");
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": "garbage"}, "organization": {"id": org}}),
            400,
            "csr_invalid_cannot_parse",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": &good[..good.len() / 2]}, "organization": {"id": org}}),
            400,
            "csr_invalid_cannot_parse",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": tampered}, "organization": {"id": org}}),
            400,
            "csr_invalid_signature",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": weak}, "organization": {"id": org}}),
            400,
            "csr_invalid_key_size",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "other.bad.test", "csr": good}, "organization": {"id": org}}),
            400,
            "csr_names_mismatch",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "*.bad.test", "csr": csr("*.bad.test", &[])}, "organization": {"id": org}}),
            400,
            "invalid_dns_names|wildcard_not_allowed",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.unregistered.test", "csr": csr("www.unregistered.test", &[])}, "organization": {"id": org}}),
            400,
            "domain_not_validated",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": good}}),
            400,
            "missing_param|organization",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": good}, "organization": {"id": 999999}}),
            404,
            "not_found|organization",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": good}, "organization": {"id": org}, "order_validity": {"years": 7}}),
            400,
            "invalid_validity|too_long",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test"}, "organization": {"id": org}}),
            400,
            "missing_param|certificate.csr",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"csr": good}, "organization": {"id": org}}),
            400,
            "missing_param|certificate.common_name",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "www.bad.test", "csr": good, "signature_hash": "md5"}, "organization": {"id": org}}),
            400,
            "invalid_signature_hash",
        ),
        (
            "ssl_plus",
            json!({"certificate": {"common_name": "bad name", "csr": good}, "organization": {"id": org}}),
            400,
            "invalid_common_name",
        ),
        (
            "ssl_dv_geotrust",
            json!({"certificate": {"common_name": "www.bad.test", "dns_names": ["a.bad.test", "b.bad.test"], "csr": good}}),
            400,
            "invalid_dns_names|too_many",
        ),
        (
            "ssl_fancy",
            json!({"certificate": {"common_name": "www.bad.test", "csr": good}}),
            404,
            "not_found|product",
        ),
    ];
    for (product, body, status, code) in cases {
        let (got, err) = s.post(&format!("/order/certificate/{product}"), body).await;
        assert_eq!((got, err["errors"][0]["code"].as_str()), (status, Some(code)), "{err}");
    }
    // Bodies that are not JSON, or JSON of the wrong shape.
    for raw in ["{", "[1,2]", "\"x\"", "{\"certificate\": 5}"] {
        let resp = s
            .client
            .post(format!("{}/services/v2/order/certificate/ssl_plus", s.base))
            .header("X-DC-DEVKEY", &s.fx.admin_key)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{raw}");
        assert!(resp.text().await.unwrap().contains("bad_request_format"));
    }
    assert_eq!(s.order_count().await, before, "nothing was stored");
}

#[tokio::test]
async fn concurrent_orders_never_share_ids_or_serials() {
    let s = std::sync::Arc::new(TestServer::start().await);
    s.register_domain("many.test").await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let cn = format!("host{i}.many.test");
                let (status, created) =
                    s.post("/order/certificate/ssl_plus", order_body(&cn, &[], s.fx.org_epigyne, true)).await;
                assert_eq!(status, 201, "{created}");
                created["id"].as_i64().unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let mut serials = Vec::new();
    for id in &ids {
        serials.push(
            s.json(&format!("/order/certificate/{id}")).await["certificate"]["serial_number"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids.sort();
    ids.dedup();
    serials.sort();
    serials.dedup();
    assert_eq!((ids.len(), serials.len()), (24, 24));
}

fn openssl_csr(key: &str, cn: &str) -> String {
    openssl_csr_with(key, &[], cn)
}

/// The CSR with one bit of its signature flipped (converted with openssl, which does not verify).
fn tamper(pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (pem_path, der_path) = (dir.path().join("csr.pem"), dir.path().join("csr.der"));
    std::fs::write(&pem_path, pem).unwrap();
    let ok = Command::new("openssl")
        .args(["req", "-outform", "DER", "-in"])
        .arg(&pem_path)
        .arg("-out")
        .arg(&der_path)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut der = std::fs::read(&der_path).unwrap();
    let n = der.len() - 3;
    der[n] ^= 0x01;
    std::fs::write(&der_path, der).unwrap();
    let out = Command::new("openssl").args(["req", "-inform", "DER", "-in"]).arg(&der_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_the_crl_and_ocsp_at_once() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    s.register_domain("revoke.test").await;
    let (_, created) = s
        .post("/order/certificate/ssl_plus", order_body("www.revoke.test", &[], s.fx.org_epigyne, true))
        .await;
    let (order_id, cert_id) = (created["id"].as_i64().unwrap(), created["certificate_id"].as_i64().unwrap());
    let leaf_pem = created["certificate_chain"][0]["pem"].as_str().unwrap().to_owned();
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, &leaf_pem).unwrap();
    // The leaf names where its revocation status lives.
    let text = Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&leaf).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("{}/pki/crl", s.base)), "{text}");
    assert!(text.contains(&format!("OCSP - URI:{}/pki/ocsp", s.base)), "{text}");

    let ocsp = |expect: &'static str| {
        let all = s.ocsp(&["-cert".as_ref(), leaf.as_os_str()]);
        assert!(all.contains(&format!("leaf.pem: {expect}")), "{all}");
    };
    // openssl's client blocks: run it off the runtime the server is on.
    let check = |expect| {
        let ocsp = &ocsp;
        tokio::task::block_in_place(|| ocsp(expect))
    };
    check("good");

    // Unknown reasons are refused; camelCase (Venafi) and snake_case (certmesh) both work.
    let (status, body) = s.put(&format!("/certificate/{cert_id}/revoke"), json!({"reason": "bored"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_revocation_reason"));
    let (status, body) = s
        .put(
            &format!("/certificate/{cert_id}/revoke"),
            json!({"reason": "keyCompromise", "comment": "leaked", "skip_approval": true}),
        )
        .await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "revoked");
    check("revoked");

    let resp = s.client.get(format!("{}/pki/crl", s.base)).send().await.unwrap();
    let status = resp.status().as_u16();
    let crl = resp.bytes().await.unwrap();
    assert_eq!(status, 200);
    let crl_path = dir.path().join("crl.der");
    std::fs::write(&crl_path, &crl).unwrap();
    let out = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&crl_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let serial = s.json(&format!("/order/certificate/{order_id}")).await["certificate"]["serial_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&serial), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    let crl_pem = dir.path().join("crl.pem");
    let ok = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-in"])
        .arg(&crl_path)
        .arg("-out")
        .arg(&crl_pem)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("openssl")
        .args(["verify", "-crl_check", "-attime", &(NOW.unix_timestamp() + 60).to_string(), "-CAfile"])
        .arg(s.ca_dir.join("root.crt.pem"))
        .arg("-untrusted")
        .arg(s.ca_dir.join("intermediate.crt.pem"))
        .arg("-CRLfile")
        .arg(&crl_pem)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate revoked"), "{out:?}");

    // Revoking again is refused.
    let (status, body) =
        s.put(&format!("/certificate/{cert_id}/revoke"), json!({"skip_approval": true})).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn revocation_with_approval_creates_a_pending_request() {
    let s = TestServer::start().await;
    s.register_domain("pending-revoke.test").await;
    let (_, created) = s
        .post(
            "/order/certificate/ssl_plus",
            order_body("www.pending-revoke.test", &[], s.fx.org_epigyne, true),
        )
        .await;
    let order_id = created["id"].as_i64().unwrap();
    let (status, body) = s
        .put(
            &format!("/order/certificate/{order_id}/revoke"),
            json!({"revocation_reason": "superseded", "comments": "Revoked via API!"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let req: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((req["type"].as_str(), req["status"].as_str()), (Some("revoke"), Some("pending")));
    assert_eq!(req["comments"], "Revoked via API!");
    assert_eq!(req["requester"]["id"], s.fx.admin_user);
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "issued");
    let (status, _) = s.put(&format!("/request/{}/status", req["id"]), json!({"status": "approved"})).await;
    assert_eq!(status, 204);
    assert_eq!(s.json(&format!("/order/certificate/{order_id}")).await["status"], "revoked");
    let resp = s.get(Some(&s.fx.admin_key.clone()), "/certificate/99999999/revoke").await;
    assert_eq!(resp.0, 404, "GET on a PUT route");
}

#[tokio::test]
async fn concurrent_approvals_issue_exactly_once() {
    let s = std::sync::Arc::new(TestServer::start().await);
    s.register_domain("race.test").await;
    let (_, created) = s
        .post("/order/certificate/ssl_plus", order_body("www.race.test", &[], s.fx.org_epigyne, false))
        .await;
    let (order_id, request_id) =
        (created["id"].as_i64().unwrap(), created["requests"][0]["id"].as_i64().unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.put(&format!("/request/{request_id}/status"), json!({"status": "approved"})).await.0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [204, 400, 400, 400, 400, 400, 400, 400]);
    let info = s.json(&format!("/order/certificate/{order_id}")).await;
    assert_eq!(info["status"], "issued");
    // One certificate, issued once: the order has no other certificate.
    assert_eq!(s.json(&format!("/order/certificate/{order_id}/reissue")).await["certificates"], json!([]));
    assert_eq!(
        s.json(&format!("/order/certificate/{order_id}/duplicate?show_archived=true")).await["certificates"],
        json!([])
    );
}

/// The EKU of a PEM certificate as openssl prints it.
fn extended_key_usage(pem: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "extendedKeyUsage,crlDistributionPoints,authorityInfoAccess"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(pem.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

#[tokio::test]
async fn certificates_follow_the_validity_cap_of_their_issuance_date_within_the_plan() {
    for (now, valid_till, client_auth) in [
        (datetime!(2026-06-01 00:00 UTC), "2026-12-16", true),
        (datetime!(2027-03-14 12:00 UTC), "2027-09-29", false),
        (datetime!(2027-03-15 00:00 UTC), "2027-06-21", false),
        (datetime!(2029-03-15 00:00 UTC), "2029-04-29", false),
    ] {
        let s = TestServer::start_at(now).await;
        s.register_domain("cap.test").await;
        let mut body = order_body("www.cap.test", &[], s.fx.org_epigyne, true);
        body["order_validity"] = json!({"years": 2});
        let (status, created) = s.post("/order/certificate/ssl_plus", body).await;
        assert_eq!(status, 201, "{now}: {created}");
        let info = s.json(&format!("/order/certificate/{}", created["id"])).await;
        assert_eq!(info["certificate"]["valid_till"], valid_till, "{now}");
        assert_eq!(
            info["order_valid_till"],
            now.replace_year(now.year() + 2).unwrap().date().to_string(),
            "{now}"
        );
        let leaf = created["certificate_chain"][0]["pem"].as_str().unwrap();
        let ext = extended_key_usage(leaf);
        assert!(ext.contains("TLS Web Server Authentication") && !ext.contains("Client"), "{now}: {ext}");
        assert!(ext.contains("URI:http://") && !ext.contains("https://"), "{now}: {ext}");

        // clientAuth is there on request until 2027-03-01, in DigiCert's profile option.
        let mut body = order_body("api.cap.test", &[], s.fx.org_epigyne, true);
        body["certificate"]["profile_option"] = json!("server_client_auth_eku");
        let (status, created) = s.post("/order/certificate/ssl_plus", body).await;
        if client_auth {
            assert_eq!(status, 201, "{now}: {created}");
            let ext = extended_key_usage(created["certificate_chain"][0]["pem"].as_str().unwrap());
            assert!(ext.contains("TLS Web Client Authentication"), "{now}: {ext}");
        } else {
            assert_eq!(status, 400, "{now}: {created}");
            assert_eq!(created["errors"][0]["code"], "invalid_profile_option", "{now}");
        }
    }
}

#[tokio::test]
async fn public_products_refuse_names_and_keys_the_baseline_requirements_forbid() {
    let s = TestServer::start().await;
    for domain in ["cap.test", "co.uk", "corp.local"] {
        let (status, body) = s.post("/domain", json!({"name": domain, "dcv_method": "email"})).await;
        let expected = if domain == "co.uk" { 400 } else { 201 };
        assert_eq!(status, expected, "{domain}: {body}");
        if status == 201 {
            s.vouch_domain(s.fx.account, domain);
        }
    }
    let org = s.fx.org_epigyne;
    for (cn, code) in [
        ("10.0.0.1", "invalid_dns_names|ip_address"),
        ("host.corp.local", "invalid_dns_names|internal_name"),
        ("*.co.uk", "invalid_dns_names|public_suffix"),
        ("xn--zz.cap.test", "invalid_common_name"),
    ] {
        let (status, body) = s.post("/order/certificate/ssl_wildcard", order_body(cn, &[], org, true)).await;
        assert_eq!((status, body["errors"][0]["code"].as_str()), (400, Some(code)), "{cn}: {body}");
    }
    // Too many names are refused before any of them is looked at.
    let many: Vec<String> = (0..300).map(|i| format!("bad name {i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut body = order_body("www.cap.test", &[], org, true);
    body["certificate"]["dns_names"] = json!(many);
    let (status, body) = s.post("/order/certificate/ssl_plus", body).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (400, Some("invalid_dns_names")), "{body}");
    for key in ["ed25519", "rsa:2048 -pkeyopt rsa_keygen_pubexp:3"] {
        let mut args: Vec<&str> = key.split(' ').collect();
        let newkey = args.remove(0);
        let csr = openssl_csr_with(newkey, &args, "www.cap.test");
        let mut body = order_body("www.cap.test", &[], org, true);
        body["certificate"]["csr"] = json!(csr);
        let (status, body) = s.post("/order/certificate/ssl_plus", body).await;
        let code = body["errors"][0]["code"].as_str().unwrap_or_default().to_owned();
        assert!(status == 400 && code.starts_with("csr_invalid_key"), "{key}: {status} {body}");
    }
    // A private product takes internal names and IP addresses.
    let before = s.order_count().await;
    let (status, body) =
        s.post("/order/certificate/private_ssl_plus", order_body("host.corp.local", &[], org, true)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(s.order_count().await, before + 1);
}

fn openssl_csr_with(newkey: &str, options: &[&str], cn: &str) -> String {
    let subject = format!("/CN={cn}");
    let mut args = vec!["req", "-new", "-newkey", newkey];
    args.extend_from_slice(options);
    args.extend(["-nodes", "-keyout", "/dev/null", "-subj", &subject]);
    let out = Command::new("openssl").args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
