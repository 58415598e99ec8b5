//! Connection and request limits over real TCP: slow headers and slow bodies are cut off,
//! oversized bodies and requests beyond the concurrency limit are refused at once, each in
//! the dialect of the front door they came through.

mod common;

use std::time::{Duration, Instant};

use certkeep_server::Limits;
use common::TestServer;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn tight() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(800),
        body_read_timeout: Duration::from_millis(800),
        max_body_bytes: 4096,
        max_concurrent_requests: 2,
    }
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or `within` passes); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let result = tokio::time::timeout(within, stream.read_to_end(&mut out)).await;
    assert!(result.is_ok(), "the connection is still open after {within:?}");
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `head` and part of a body of `length`, leaving the request unfinished.
async fn unfinished(s: &TestServer, path: &str, length: usize) -> TcpStream {
    let mut stream = connect(s).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/jose+json\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn slowloris_headers_are_cut_off() {
    let s = TestServer::start_within(vec![], tight()).await;
    let mut stream = connect(&s).await;
    let started = Instant::now();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // One header line every 200 ms: never finishing the head.
    let dribble = async {
        for i in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream.write_all(format!("X-Slow-{i}: y\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), dribble).await.unwrap();
    read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "cut off after {:?}", started.elapsed());
    // The server still answers others.
    assert_eq!(s.client.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn slow_bodies_time_out_in_the_dialect() {
    let s = TestServer::start_within(vec![], tight()).await;
    for (path, shape) in [
        ("/services/v2/domain", "\"code\":\"request_timeout\""),
        ("/acme/new-account", "urn:ietf:params:acme:error:malformed"),
        ("/api/v2/certificate/certificateTypes", "\"errorCode\":\"510\""),
    ] {
        let started = Instant::now();
        let mut stream = unfinished(&s, path, 1000).await;
        let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains(shape), "{path}: {answer}");
        assert!(started.elapsed() < Duration::from_secs(3), "{path}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let s = TestServer::start_within(vec![], tight()).await;
    let big = "x".repeat(10_000);
    let resp = s
        .client
        .post(format!("{}/acme/new-account", s.base))
        .header("content-type", "application/jose+json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let resp = s
        .client
        .post(format!("{}/services/v2/domain", s.base))
        .header("X-DC-DEVKEY", &s.fx.admin_key)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "request_too_large");
}

#[tokio::test]
async fn the_concurrency_limit_answers_503_at_once() {
    let s = TestServer::start_within(vec![], tight()).await;
    // Two unfinished requests hold both permits...
    let held = [unfinished(&s, "/acme/new-order", 100).await, unfinished(&s, "/acme/new-order", 100).await];
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...so others are refused at once, in their dialect, with Retry-After.
    let started = Instant::now();
    let resp = s.client.get(format!("{}/services/v2/user", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "server_busy");
    let resp = s.client.get(format!("{}/acme/directory", s.base)).send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.headers()["content-type"].to_str().unwrap()),
        (503, "application/problem+json")
    );
    let resp = s.client.get(format!("{}/api/v2/certificate/certificateTypes", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["error"]["errorCode"], "500");
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    // Once the slow requests time out, the permits are back.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.client.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn declared_bodies_over_the_cap_are_refused_from_the_headers() {
    let s = TestServer::start_within(vec![], tight()).await;
    for (path, shape) in [
        ("/services/v2/domain", "\"code\":\"request_too_large\""),
        ("/acme/new-account", "urn:ietf:params:acme:error:malformed"),
        ("/api/v2/certificate/certificateTypes", "\"errorCode\":\"430\""),
    ] {
        // Asked first: 413 instead of 100 Continue. Declared a terabyte: answered at once, not
        // when the body timeout runs out.
        for extra in ["Content-Length: 10000\r\nExpect: 100-continue", "Content-Length: 1099511627776"] {
            let started = Instant::now();
            let mut stream = connect(&s).await;
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
            assert!(answer.starts_with("HTTP/1.1 413"), "{path} {extra}: {answer}");
            assert!(!answer.contains("100 Continue"), "{path} {extra}: {answer}");
            assert!(answer.contains(shape), "{path} {extra}: {answer}");
            assert!(started.elapsed() < Duration::from_millis(500), "{path}: {:?}", started.elapsed());
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_its_whole_oversized_body_over_tls_reads_the_413() {
    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
    let s = TestServer::start_tls().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(s.ca_dir.join("root.crt.pem")).unwrap()).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = TcpStream::connect(s.base.trim_start_matches("https://")).await.unwrap();
    let mut tls = connector.connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap();
    // Like Python's requests: the whole 20 MiB body first, then the answer.
    let body = vec![b'x'; 20 * 1024 * 1024];
    let head = format!(
        "POST /services/v2/domain HTTP/1.1\r\nHost: x\r\nX-DC-DEVKEY: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.fx.admin_key,
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&body).await.expect("the server reads the refused body instead of resetting");
    tls.flush().await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{read:?} {answer}");
    assert!(answer.contains("\"code\":\"request_too_large\""), "{answer}");
}
