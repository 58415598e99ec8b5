//! Signed NCP requests over real HTTP: NCP's published signature algorithm, written out
//! independently of the server's verifier.

#![allow(dead_code)]

use aws_lc_rs::hmac;
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::common::{NOW, TestServer};

/// The server clock in milliseconds.
pub fn now_ms() -> i64 {
    (NOW.unix_timestamp_nanos() / 1_000_000) as i64
}

/// NCP's published algorithm: Base64(HMAC-SHA256(secret, "METHOD URI\ntimestamp\naccessKey")).
pub fn sign(secret: &str, method: &str, target: &str, timestamp: i64, access_key: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let message = format!("{method} {target}\n{timestamp}\n{access_key}");
    STANDARD.encode(hmac::sign(&key, message.as_bytes()))
}

/// The three signature headers, signing `target` at `timestamp`.
pub fn signed(
    target: &str,
    timestamp: i64,
    access: &str,
    secret: &str,
    signature_header: &'static str,
) -> Vec<(&'static str, String)> {
    vec![
        ("x-ncp-apigw-timestamp", timestamp.to_string()),
        ("x-ncp-iam-access-key", access.to_owned()),
        (signature_header, sign(secret, "GET", target, timestamp, access)),
    ]
}

pub type Resp = (u16, HeaderMap, String);

pub async fn send(s: &TestServer, method: reqwest::Method, target: &str, headers: &[(&str, String)]) -> Resp {
    let mut req = s
        .client
        .request(method, format!("{}{target}", s.base))
        .header("Content-Type", "application/json")
        .header("accept", "application/json");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// GET `target` signed by the fixture account's key.
pub async fn get(s: &TestServer, target: &str) -> Resp {
    let (a, k) = (&s.fx.ncp_access_key, &s.fx.ncp_secret_key);
    send(s, reqwest::Method::GET, target, &signed(target, now_ms(), a, k, "x-ncp-apigw-signature-v2")).await
}

pub async fn json_ok(s: &TestServer, target: &str) -> Value {
    let (status, headers, body) = get(s, target).await;
    assert_eq!(status, 200, "{target}: {body}");
    assert_eq!(headers["content-type"], "application/json;charset=UTF-8");
    assert_eq!(headers["x-ncp-apigw-response-origin"], "ENDPOINT");
    serde_json::from_str(&body).unwrap()
}

/// `method target` with a JSON `body`, signed by `access`/`secret` (`-v2` header).
pub async fn call(
    s: &TestServer,
    method: reqwest::Method,
    target: &str,
    body: Option<&Value>,
    (access, secret): (&str, &str),
) -> Resp {
    let ts = now_ms();
    let mut req = s
        .client
        .request(method.clone(), format!("{}{target}", s.base))
        .header("Content-Type", "application/json")
        .header("accept", "application/json")
        .header("x-ncp-apigw-timestamp", ts.to_string())
        .header("x-ncp-iam-access-key", access)
        .header("x-ncp-apigw-signature-v2", sign(secret, method.as_str(), target, ts, access));
    if let Some(body) = body {
        req = req.body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}
