//! The lint gate: pkilint, the linter DigiCert runs on its own certificates, over one leaf of
//! every product of the catalog (CertCentral), an NCP leaf, the root, the intermediate, the CRL
//! and an OCSP response, all issued over real HTTP. Zero findings at WARNING and above, but for
//! those `pkilint::ACCEPTED` lists with their reasons. (The ACME leaf is linted in `acme.rs`.)

mod common;
mod ncp_common;
mod pkilint;

use certkeep_core::PRODUCTS;
use common::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    certkeep_ca::decode_base64(&body).unwrap()
}

async fn get_der(s: &TestServer, path: &str) -> Vec<u8> {
    let resp = s.client.get(format!("{}{path}", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_ca_issues_passes_pkilint() {
    // Relying parties reach revocation data at a public name (pkilint refuses IP addresses).
    let s = TestServer::start_naming_pki("http://pki.example.org").await;
    let admin = s.fx.admin_key.clone();
    s.vouch_domain(s.fx.account, "lint.example.org");

    let mut documents = Vec::new();
    let mut first_leaf = None;
    for product in PRODUCTS {
        let cn =
            if product.name_id.contains("wildcard") { "*.lint.example.org" } else { "www.lint.example.org" };
        let (_, csr) = certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, cn, &[]).unwrap();
        let order = json!({
            "certificate": {"common_name": cn, "csr": csr, "signature_hash": "sha256"},
            "organization": {"id": s.fx.org_epigyne},
            "order_validity": {"years": 1},
            "skip_approval": true,
        });
        let path = format!("/order/certificate/{}", product.name_id);
        let (status, text) = s.send(Method::POST, &admin, &path, order).await;
        assert_eq!(status, 201, "{}: {text}", product.name_id);
        let created: Value = serde_json::from_str(&text).unwrap();
        let der = pem_der(created["certificate_chain"][0]["pem"].as_str().unwrap());
        first_leaf.get_or_insert_with(|| der.clone());
        let (tool, args) = if product.is_public() {
            ("lint_cabf_serverauth_cert", vec!["-d"])
        } else {
            ("lint_pkix_cert", vec![])
        };
        documents.push((product.name_id.to_owned(), tool, args, der));
    }

    // An NCP leaf (NCP sells Advanced DV and OV).
    let (_, csr) =
        certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, "ncp.lint.example.org", &[]).unwrap();
    let body = json!({"csr": csr, "certificateType": "NCP_PAID_DV_01", "commonName": "ncp.lint.example.org"});
    let keys = (s.fx.ncp_access_key.as_str(), s.fx.ncp_secret_key.as_str());
    let target = "/api/v2/certificate/requestPaidCertificateIssuance";
    let resp = ncp_common::call(&s, Method::POST, target, Some(&body), keys).await;
    assert_eq!(resp.0, 200, "{}", resp.2);
    let order: Value = serde_json::from_str(&resp.2).unwrap();
    let number = order["certificates"][0]["certificateNo"].as_i64().unwrap();
    let (status, text) = s
        .send(
            Method::GET,
            &admin,
            &format!("/certificate/{number}/download/format/pem_nointermediate"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    documents.push(("NCP leaf".into(), "lint_cabf_serverauth_cert", vec!["-d"], pem_der(&text)));

    documents.push((
        "root".into(),
        "lint_cabf_serverauth_cert",
        vec!["-d"],
        get_der(&s, "/pki/root.crt").await,
    ));
    documents.push((
        "intermediate".into(),
        "lint_cabf_serverauth_cert",
        vec!["-d"],
        get_der(&s, "/pki/intermediate.crt").await,
    ));
    documents.push(("CRL".into(), "lint_crl", vec!["-t", "CRL", "-p", "BR"], get_der(&s, "/pki/crl").await));
    documents.push((
        "root CRL".into(),
        "lint_crl",
        vec!["-t", "ARL", "-p", "BR"],
        get_der(&s, "/pki/root.crl").await,
    ));

    // An OCSP response for the first leaf, as openssl's client gets it.
    let dir = tempfile::tempdir().unwrap();
    let (leaf, response) = (dir.path().join("leaf.der"), dir.path().join("response.der"));
    std::fs::write(&leaf, first_leaf.unwrap()).unwrap();
    let pem = dir.path().join("leaf.pem");
    let converted = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&leaf)
        .arg("-out")
        .arg(&pem)
        .status()
        .unwrap();
    assert!(converted.success());
    tokio::task::block_in_place(|| {
        s.ocsp(&["-cert".as_ref(), pem.as_os_str(), "-respout".as_ref(), response.as_os_str()]);
    });
    documents.push(("OCSP response".into(), "lint_ocsp_response", vec![], std::fs::read(&response).unwrap()));

    tokio::task::block_in_place(|| pkilint::assert_clean(&documents));
}
