//! HTTPS in process: the same router over rustls, trusted through the CA root alone, with the
//! client's address still reaching the audit log.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn https_serves_the_api_and_records_the_client_address() {
    let s = TestServer::start_tls().await;
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    let (status, _, body) = s.get(Some(&s.fx.admin_key), "/order/certificate?limit=1").await;
    assert_eq!(status, 200, "{body}");

    // A client that does not trust the CA root is refused at the handshake.
    let untrusting = reqwest::Client::builder().tls_certs_only([]).build().unwrap();
    assert!(untrusting.get(format!("{}/healthz", s.base)).send().await.is_err());
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = s.base.replacen("https://", "http://", 1);
    assert!(reqwest::get(format!("{plain}/healthz")).await.is_err());

    // A write over TLS is audited with the client's address.
    let resp = s
        .client
        .post(format!("{}/services/v2/domain", s.base))
        .header("X-DC-DEVKEY", &s.fx.admin_key)
        .json(&json!({"name": "tls.test", "dcv_method": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (status, _, body) = s.get(Some(&s.fx.admin_key), "/audit-log?limit=1").await;
    assert_eq!(status, 200, "{body}");
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(log["audit_logs"][0]["action"], "domain.create", "{log}");
    assert_eq!(log["audit_logs"][0]["ip_address"], "127.0.0.1", "{log}");
}
