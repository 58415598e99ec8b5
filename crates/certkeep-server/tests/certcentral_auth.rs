//! Authentication, roles, tenancy, rate limits and error shapes of the CertCentral front door.

mod common;

use common::{TestServer, assert_error};

#[tokio::test]
async fn missing_bad_and_blank_keys_are_refused_exactly_as_digicert_does() {
    let s = TestServer::start().await;
    for key in [None, Some("nope"), Some(""), Some(&*"A".repeat(300))] {
        let resp = s.get(key, "/order/certificate").await;
        assert_error(&resp, 403, "access_denied|access_denied_invalid_key");
        assert_eq!(
            resp.2,
            r#"{"errors":[{"code":"access_denied|access_denied_invalid_key","message":"Access denied due to access_denied_invalid_key."}]}"#
        );
        assert_eq!(resp.1["cache-control"], "private,no-cache");
    }
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let s = TestServer::start().await;
    let resp = s.raw(&format!(
        "GET /services/v2/order/certificate?limit=1 HTTP/1.1\r\nHost: x\r\nx-dc-devkey: {}\r\nConnection: close\r\n\r\n",
        s.fx.admin_key
    ))
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("content-type: application/json\r\n"), "{resp}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_not_found_route_after_authentication() {
    let s = TestServer::start().await;
    let key = s.fx.admin_key.clone();
    assert_error(&s.get(Some(&key), "/no/such/thing").await, 404, "not_found|route");
    assert_error(&s.get(None, "/no/such/thing").await, 403, "access_denied|access_denied_invalid_key");
    let resp = s
        .client
        .delete(format!("{}/services/v2/order/certificate", s.base))
        .header("X-DC-DEVKEY", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("not_found|route"));
}

#[tokio::test]
async fn view_only_keys_read_but_never_write() {
    let s = TestServer::start().await;
    let key = s.fx.view_only_key.clone();
    let (status, _, _) = s.get(Some(&key), "/order/certificate").await;
    assert_eq!(status, 200);
    for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE] {
        let resp = s
            .client
            .request(
                method.clone(),
                format!("{}/services/v2/order/certificate/{}/status", s.base, s.fx.issued),
            )
            .header("X-DC-DEVKEY", &key)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{method}");
        assert!(resp.text().await.unwrap().contains("access_denied|missing_permission"));
    }
}

#[tokio::test]
async fn another_tenants_order_is_not_found_and_never_listed() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    for path in [
        format!("/order/certificate/{}", fx.other_tenant_order),
        format!("/order/certificate/{}/duplicate", fx.other_tenant_order),
        format!("/order/certificate/{}/reissue", fx.other_tenant_order),
    ] {
        assert_error(&s.get(Some(&fx.admin_key), &path).await, 404, "not_found|order");
    }
    let (_, _, body) = s.get(Some(&fx.admin_key), "/order/certificate?filters[search]=%25secret").await;
    assert!(!body.contains("secret.other.com"), "{body}");
    // And the other tenant sees only its own order.
    let (status, _, body) = s.get(Some(&fx.other_tenant_key), "/order/certificate").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["page"]["total"], 1);
    assert_eq!(v["orders"][0]["id"], fx.other_tenant_order);
    let path = format!("/order/certificate/{}", fx.issued);
    assert_error(&s.get(Some(&fx.other_tenant_key), &path).await, 404, "not_found|order");
}

#[tokio::test]
async fn a_key_sees_only_its_container_subtree() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let (status, _, body) = s.get(Some(&fx.engineering_key), "/order/certificate").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut ids: Vec<i64> =
        v["orders"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec![fx.expired, fx.renewal, fx.pending]);
    assert_eq!(v["page"]["total"], 3);
    let path = format!("/order/certificate/{}", fx.issued);
    assert_error(&s.get(Some(&fx.engineering_key), &path).await, 404, "not_found|order");
    let path = format!("/order/certificate/{}/duplicate", fx.with_duplicates);
    assert_error(&s.get(Some(&fx.engineering_key), &path).await, 404, "not_found|order");
    // The CSV export is scoped the same way.
    let resp = s
        .client
        .get(format!("{}/services/v2/order/certificate", s.base))
        .header("X-DC-DEVKEY", &fx.engineering_key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap().lines().count(), 1 + 3);
}

#[tokio::test]
async fn rate_limit_answers_429_request_limit_exceeded_per_key() {
    let s = TestServer::start_with(vec!["3/60".parse().unwrap()]).await;
    let fx = s.fx.clone();
    for _ in 0..3 {
        assert_eq!(s.get(Some(&fx.admin_key), "/order/certificate?limit=1").await.0, 200);
    }
    let resp = s.get(Some(&fx.admin_key), "/order/certificate?limit=1").await;
    assert_error(&resp, 429, "request_limit_exceeded");
    // Another key has its own budget.
    assert_eq!(s.get(Some(&fx.view_only_key), "/order/certificate?limit=1").await.0, 200);
}

#[tokio::test]
async fn healthz_reports_ok() {
    let s = TestServer::start().await;
    let resp = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"status":"ok"}"#);
}
