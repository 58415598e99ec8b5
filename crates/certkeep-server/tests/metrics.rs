//! `GET /metrics` on the main listener: behind the bearer token, in Prometheus text that a
//! parser reads, with requests counted by door, route template and status and one issuance
//! counted per certificate issued.

mod common;

use std::collections::HashMap;

use certkeep_ca::KeyAlgorithm;
use common::{METRICS_TOKEN, TestServer};
use serde_json::json;

/// The samples of a Prometheus text exposition: `name{labels}` (labels as written) to value.
/// Fails the test on a line that is neither a comment nor `series value`.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
            let value = value.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {l}"));
            (series.to_owned(), value)
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include every `label="value"` of `with`.
fn sum(samples: &HashMap<String, f64>, name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            let (n, labels) = series.split_once('{').unwrap_or((series, ""));
            n == name && with.iter().all(|(k, v)| labels.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

async fn scrape(s: &TestServer) -> HashMap<String, f64> {
    let resp = s.client.get(format!("{}/metrics", s.base)).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    parse(&resp.text().await.unwrap())
}

#[tokio::test]
async fn the_metrics_need_the_bearer_token() {
    let s = TestServer::start().await;
    let url = format!("{}/metrics", s.base);
    for auth in [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(METRICS_TOKEN.to_owned()),
        Some(format!("Basic {METRICS_TOKEN}")),
    ] {
        let mut req = s.client.get(&url).header("X-DC-DEVKEY", &s.fx.admin_key);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert!(!resp.text().await.unwrap().contains("certkeep_"), "{auth:?}");
    }
    assert!(!scrape(&s).await.is_empty());
}

#[tokio::test]
async fn requests_are_counted_by_door_route_template_and_status() {
    let s = TestServer::start().await;
    let route = "/services/v2/order/certificate/{order}";
    let ok = [("door", "certcentral"), ("method", "GET"), ("route", route), ("status", "200")];
    let missing = [("door", "certcentral"), ("method", "GET"), ("route", route), ("status", "404")];
    let before = scrape(&s).await;
    for _ in 0..3 {
        let (status, _, _) =
            s.get(Some(&s.fx.admin_key), &format!("/order/certificate/{}", s.fx.issued)).await;
        assert_eq!(status, 200);
    }
    let (status, _, _) = s.get(Some(&s.fx.admin_key), "/order/certificate/987654321").await;
    assert_eq!(status, 404);
    let (status, _, _) = s.get(Some(&s.fx.admin_key), "/no/such/route/at/all").await;
    assert_eq!(status, 404);
    // A made-up method is counted as `other`: clients cannot grow the label set.
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    let url = format!("{}/services/v2/order/certificate", s.base);
    s.client.request(brew, url).header("X-DC-DEVKEY", &s.fx.admin_key).send().await.unwrap();
    let after = scrape(&s).await;
    let name = "certkeep_http_requests_total";
    assert_eq!(sum(&after, name, &ok) - sum(&before, name, &ok), 3.0);
    assert_eq!(sum(&after, name, &missing) - sum(&before, name, &missing), 1.0);
    let unmatched = [("door", "certcentral"), ("route", "unmatched")];
    assert_eq!(sum(&after, name, &unmatched) - sum(&before, name, &unmatched), 2.0);
    let other = [("door", "certcentral"), ("method", "other")];
    assert_eq!(sum(&after, name, &other) - sum(&before, name, &other), 1.0);
    // The raw path and method never become labels.
    assert!(after.keys().all(|k| !k.contains("987654321") && !k.contains("/no/such") && !k.contains("BREW")));
    let latency = [("door", "certcentral"), ("route", route)];
    let count = "certkeep_http_request_duration_seconds_count";
    assert_eq!(sum(&after, count, &latency) - sum(&before, count, &latency), 4.0);
    assert!(sum(&after, "certkeep_store_call_duration_seconds_count", &[("call", "query")]) > 0.0);
}

/// Registers `name` in the fixture's account with its control proven.
async fn own_domain(s: &TestServer, name: &str) {
    let (status, body) = s
        .send(reqwest::Method::POST, &s.fx.admin_key, "/domain", json!({"name": name, "dcv_method": "email"}))
        .await;
    assert_eq!(status, 201, "{body}");
    s.vouch_domain(s.fx.account, name);
}

#[tokio::test]
async fn one_issuance_moves_the_counter_by_exactly_one() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    own_domain(&s, "metrics.test").await;
    let issued = "certkeep_certificates_issued_total";
    let series = |product| [("door", "certcentral"), ("product", product), ("key_algorithm", "ecdsa-256")];
    let before = scrape(&s).await;
    let mut placed_of = HashMap::from([("ssl_plus", 0.0), ("ssl_basic", 0.0)]);
    for (cn, product, skip) in [
        ("a.metrics.test", "ssl_plus", true),
        ("b.metrics.test", "ssl_plus", false),
        ("c.metrics.test", "ssl_basic", true),
    ] {
        let (_, csr) = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, cn, &[]).unwrap();
        let order = json!({
            "certificate": {"common_name": cn, "csr": csr, "signature_hash": "sha256", "server_platform": {"id": 45}},
            "organization": {"id": fx.org_epigyne},
            "order_validity": {"years": 1},
            "skip_approval": skip,
        });
        let (status, body) = s
            .send(reqwest::Method::POST, &fx.admin_key, &format!("/order/certificate/{product}"), order)
            .await;
        assert_eq!(status, 201, "{body}");
        if skip {
            *placed_of.get_mut(product).unwrap() += 1.0;
        }
        let after = scrape(&s).await;
        // An order waiting for approval issues nothing; an issuance moves its own product's
        // series by exactly one and no other product's.
        for (product, placed) in &placed_of {
            let labels = series(product);
            assert_eq!(
                sum(&after, issued, &labels) - sum(&before, issued, &labels),
                *placed,
                "{cn} {product}"
            );
        }
        let placed: f64 = placed_of.values().sum();
        assert_eq!(sum(&after, issued, &[]) - sum(&before, issued, &[]), placed, "{cn}");
    }
    // The certificate gauges come from the store: the issued orders expire in the 61-90 or >90
    // buckets, never in the past.
    let after = scrape(&s).await;
    let issued_orders = sum(&after, "certkeep_certificates", &[("status", "issued")]);
    assert!(issued_orders >= placed_of.values().sum(), "{issued_orders}");
    assert_eq!(sum(&after, "certkeep_certificates", &[("status", "issued"), ("expiry", "expired")]), 0.0);
}

#[tokio::test]
async fn the_operator_listener_serves_the_metrics_without_a_token_and_nothing_else() {
    let s = TestServer::start().await;
    let resp = reqwest::get(format!("{}/metrics", s.metrics_base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let samples = parse(&resp.text().await.unwrap());
    assert!(sum(&samples, "certkeep_certificates", &[]) > 0.0, "the fixture's orders are counted");
    for path in ["/services/v2/order/certificate", "/healthz", "/pki/crl"] {
        let resp = reqwest::get(format!("{}{path}", s.metrics_base)).await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn every_committed_write_is_counted_in_a_commit_batch() {
    let s = std::sync::Arc::new(TestServer::start().await);
    let fx = s.fx.clone();
    own_domain(&s, "batch.test").await;
    let (count, total) = ("certkeep_store_commit_batch_size_count", "certkeep_store_commit_batch_size_sum");
    let before = scrape(&s).await;
    let orders: Vec<_> = (0..8)
        .map(|i| {
            let (s, fx) = (s.clone(), fx.clone());
            tokio::spawn(async move {
                let cn = format!("host{i}.batch.test");
                let (_, csr) = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, &cn, &[]).unwrap();
                let order = json!({
                    "certificate": {"common_name": cn, "csr": csr, "signature_hash": "sha256", "server_platform": {"id": 45}},
                    "organization": {"id": fx.org_epigyne},
                    "order_validity": {"years": 1},
                    "skip_approval": true,
                });
                s.send(reqwest::Method::POST, &fx.admin_key, "/order/certificate/ssl_plus", order).await
            })
        })
        .collect();
    for order in orders {
        let (status, body) = order.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let after = scrape(&s).await;
    let commits = sum(&after, count, &[]) - sum(&before, count, &[]);
    let transactions = sum(&after, total, &[]) - sum(&before, total, &[]);
    assert!(commits >= 1.0, "{commits} commits");
    // Each order is a write transaction of its own; a commit may hold several.
    assert!(
        transactions >= 8.0 && transactions >= commits,
        "{transactions} transactions in {commits} commits"
    );
}
