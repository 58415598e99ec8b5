//! The audit log: changes and refused writes with who, which key, what, when and from where;
//! read through `GET /services/v2/audit-log` by administrators of the tenant only.

mod common;

use certkeep_core::audit::AuditQuery;
use certkeep_server::audit::{RefusalBudget, SUPPRESSED};
use common::{TestServer, assert_error};
use serde_json::{Value, json};

async fn send(s: &TestServer, method: reqwest::Method, key: &str, path: &str, body: Value) -> u16 {
    s.send(method, key, path, body).await.0
}

async fn audit_log(s: &TestServer, key: &str, query: &str) -> (u16, Value) {
    let (status, _, body) = s.get(Some(key), &format!("/audit-log{query}")).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn changes_and_refused_writes_are_logged_with_their_source_and_read_per_tenant() {
    let s = TestServer::start().await;
    let fx = &s.fx;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;

    // A change, a lifecycle refusal, a view-only key's write and an unknown key's write.
    let domain = json!({"name": "audit.test", "dcv_method": "email"});
    assert_eq!(send(&s, post.clone(), &fx.admin_key, "/domain", domain.clone()).await, 201);
    let cancel = json!({"status": "canceled", "note": "no"});
    let path = format!("/order/certificate/{}/status", fx.issued);
    assert_eq!(send(&s, put, &fx.admin_key, &path, cancel).await / 100, 4);
    assert_eq!(send(&s, post.clone(), &fx.view_only_key, "/domain", domain.clone()).await, 403);
    assert_eq!(send(&s, post.clone(), "NOT-A-KEY", "/domain", domain).await, 403);
    // Reads are not writes: a bad key reading is answered, not logged.
    assert_eq!(s.get(Some("NOT-A-KEY"), "/order/certificate").await.0, 403);

    let (status, log) = audit_log(&s, &fx.admin_key, "").await;
    assert_eq!(status, 200, "{log}");
    let entries = log["audit_logs"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap(), e["object"].as_str().unwrap())
        })
        .collect();
    let cancel_object = format!("order:{}", fx.issued);
    assert_eq!(
        summary,
        [
            ("certcentral.auth", "refused", "POST /services/v2/domain"),
            ("order.cancel", "refused", cancel_object.as_str()),
            ("domain.create", "success", entries[2]["object"].as_str().unwrap()),
        ],
        "newest first; the unknown key's refusal names no tenant: {log}"
    );
    for e in entries {
        assert_eq!(e["ip_address"], "127.0.0.1", "{e}");
        assert!(e["date"].as_str().unwrap().ends_with('Z') || e["date"].as_str().unwrap().contains('+'));
    }
    assert_eq!(entries[0]["detail"], "view-only key");
    assert!(entries[0]["api_key"]["id"].is_i64() && entries[0]["user"]["id"].is_i64());
    assert_eq!(entries[2]["user"]["id"], fx.admin_user);
    assert_eq!(entries[2]["detail"], "audit.test (pending validation)");
    assert_eq!(log["page"], json!({"total": 3, "limit": 0, "offset": 0}));

    // The operator's view (the CLI) also holds the refusal that named no account.
    let all = s.store.audit_events(None, &AuditQuery { limit: 10, ..Default::default() }).unwrap();
    let anonymous = &all.records[0].event;
    assert_eq!((anonymous.account_id, anonymous.refused), (None, true));
    assert_eq!(
        (anonymous.source.as_str(), anonymous.detail.as_str()),
        ("127.0.0.1", "unknown or revoked X-DC-DEVKEY")
    );

    // Paging as CertCentral lists page.
    let (_, page) = audit_log(&s, &fx.admin_key, "?limit=1&offset=1").await;
    assert_eq!(page["page"], json!({"total": 3, "limit": 1, "offset": 1}));
    assert_eq!(page["audit_logs"][0]["action"], "order.cancel");
    let (_, since) = audit_log(&s, &fx.admin_key, "?since=2999-01-01").await;
    assert_eq!(since["page"]["total"], 0);
    assert_error(&s.get(Some(&fx.admin_key), "/audit-log?limit=x").await, 400, "invalid_limit");
    assert_error(&s.get(Some(&fx.admin_key), "/audit-log?since=yesterday").await, 400, "invalid_since");

    // Administrators of the whole account only; another tenant sees only its own (none).
    assert_error(
        &s.get(Some(&fx.view_only_key), "/audit-log").await,
        403,
        "access_denied|missing_permission",
    );
    assert_error(
        &s.get(Some(&fx.engineering_key), "/audit-log").await,
        403,
        "access_denied|missing_permission",
    );
    let (status, other) = audit_log(&s, &fx.other_tenant_key, "").await;
    assert_eq!((status, other["page"]["total"].as_u64()), (200, Some(0)), "{other}");
}

#[tokio::test]
async fn refused_writes_without_a_credential_are_audited_within_a_budget_per_address() {
    let window = std::time::Duration::from_secs(3);
    let s = TestServer::start_with_refusal_budget(RefusalBudget::new(5, window, 100)).await;
    let domain = json!({"name": "flood.test", "dcv_method": "email"});
    let started = std::time::Instant::now();
    for _ in 0..40 {
        // Every one is still refused in the door's dialect.
        let (status, body) = s.send(reqwest::Method::POST, "NOT-A-KEY", "/domain", domain.clone()).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("access_denied"), "{body}");
    }
    assert!(started.elapsed() < window, "the flood took longer than the window: raise it");
    let events = || {
        let query = AuditQuery { limit: 1000, ..Default::default() };
        s.store.audit_events(None, &query).unwrap().records.into_iter().map(|r| r.event).collect::<Vec<_>>()
    };
    let refused = |action: &str| events().into_iter().filter(|e| e.action == action).collect::<Vec<_>>();
    assert_eq!(refused("certcentral.auth").len(), 5);
    // When the window ends, one row says how many were left out.
    let mut summaries = Vec::new();
    for _ in 0..100 {
        summaries = refused(SUPPRESSED);
        if !summaries.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0].detail, "refused: 35 more from 127.0.0.1 suppressed");
    assert_eq!((summaries[0].source.as_str(), summaries[0].refused), ("127.0.0.1", true));
    // The next window has its budget again; the summary is not repeated.
    assert_eq!(send(&s, reqwest::Method::POST, "NOT-A-KEY", "/domain", domain).await, 403);
    assert_eq!(refused("certcentral.auth").len(), 6);
    assert_eq!(refused(SUPPRESSED).len(), 1);
}
