//! CertCentral webhooks over real HTTP: registration, the challenge, activation, and lifecycle
//! events delivered from the outbox to a real HTTPS receiver (with a certificate of certkeep's
//! own CA), once each, after retries, and once across two instances on one database.

mod common;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use certkeep_server::{AppState, webhook::deliver_forever};
use common::{
    TestServer,
    receiver::{Received, Receiver, SECRET},
};
use reqwest::Method;
use serde_json::{Value, json};

impl TestServer {
    async fn backlog(&self) -> u64 {
        self.json("/webhook").await["webhooks"][0]["deliveries"]["pending"].as_u64().unwrap()
    }

    async fn metric(&self, line_start: &str) -> String {
        let text =
            reqwest::get(format!("{}/metrics", self.metrics_base)).await.unwrap().text().await.unwrap();
        text.lines().find(|l| l.starts_with(line_start)).unwrap_or_default().to_owned()
    }
}

#[tokio::test]
async fn issued_and_revoked_certificates_reach_the_endpoint_once_each_with_the_secret() {
    let s = TestServer::start().await;
    let r = Receiver::start(&s).await;
    s.vouch_domain(s.fx.account, "hooks.test");
    let events = ["certificate_issued", "certificate_revoked", "order_rejected"];
    let body = json!({"endpoint": r.url, "secret": SECRET, "events": events,
                      "webhook_settings": {"webhook_send_certificate_chain": "1"}});
    let (status, created) = s.call(Method::POST, "/webhook", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["webhook_id"].as_i64().unwrap();
    let (status, again) = s.call(Method::POST, "/webhook", body).await;
    assert_eq!((status, again["errors"][0]["code"].as_str()), (400, Some("webhook_configured_already")));
    let listed = s.json("/webhook").await;
    let hook = &listed["webhooks"][0];
    assert_eq!((hook["id"].as_i64(), hook["status"].as_str()), (Some(id), Some("pending")));
    assert_eq!((hook["secret"].as_str(), hook["events"].clone()), (Some(SECRET), json!(events)));
    assert_eq!(hook["webhook_settings"]["instant_issue_webhook_notification"], "0");

    // Before the challenge, the webhook can be neither activated nor deactivated.
    for action in ["activate", "deactivate"] {
        let (status, body) = s.call(Method::PUT, &format!("/webhook/{id}/{action}"), json!({})).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (400, Some("webhook_invalid_action")),
            "{action}"
        );
    }
    let (status, body) =
        s.call(Method::POST, "/webhook/test-endpoint", json!({"endpoint": r.url, "secret": SECRET})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(r.accepted("test_webhook_endpoint").len(), 1);
    let (status, _) = s.call(Method::PUT, &format!("/webhook/{id}/send-challenge"), json!({})).await;
    assert_eq!(status, 204);
    let challenge = r.accepted("challenge_webhook_endpoint").remove(0);
    assert_eq!((challenge.key.as_str(), challenge.body["data"]["webhook_id"].as_i64()), (SECRET, Some(id)));
    let (status, body) =
        s.call(Method::PUT, &format!("/webhook/{id}/check-challenge"), json!({"token": "nope"})).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (400, Some("webhook_invalid_token")));
    let token = challenge.body["data"]["token"].clone();
    let (status, _) =
        s.call(Method::PUT, &format!("/webhook/{id}/check-challenge"), json!({"token": token})).await;
    assert_eq!(status, 204);
    let (status, _) = s.call(Method::PUT, &format!("/webhook/{id}/activate"), json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(s.json("/webhook").await["webhooks"][0]["status"], "active");

    // An order approved later, one issued instantly (nothing by default), one rejected, one
    // revocation.
    let pending = s.order("approved.hooks.test", false).await;
    let instant = s.order("instant.hooks.test", true).await;
    let rejected = s.order("rejected.hooks.test", false).await;
    let decide = |created: &Value, status: &str| {
        let request = created["requests"][0]["id"].as_i64().unwrap();
        let (body, s) = (json!({"status": status}), &s);
        async move { s.call(Method::PUT, &format!("/request/{request}/status"), body).await.0 }
    };
    assert_eq!(decide(&pending, "approved").await, 204);
    assert_eq!(decide(&rejected, "rejected").await, 204);
    let info = s.json(&format!("/order/certificate/{}", pending["id"])).await;
    let certificate = info["certificate"]["id"].as_i64().unwrap();
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/certificate/{certificate}/revoke"),
            json!({"reason": "superseded", "skip_approval": true}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(s.backlog().await, 3, "queued with their changes, before any delivery");

    tokio::spawn(deliver_forever(s.state.clone()));
    r.wait_for("three events", |r| {
        r.accepted("certificate_revoked").len() == 1 && r.accepted("order_rejected").len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let issued = r.accepted("certificate_issued");
    assert_eq!(issued.len(), 1, "the instant issuance fires nothing: {issued:?}");
    let data = &issued[0].body["data"];
    assert_eq!(
        (data["order_id"].clone(), data["certificate_id"].as_i64()),
        (pending["id"].clone(), Some(certificate))
    );
    let chain = data["certificate_chain"].as_array().unwrap();
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    assert_eq!(chain[0]["subject_common_name"], "approved.hooks.test");
    assert!(chain[0]["pem"].as_str().unwrap().contains("-----\r\n"), "PEM with CRLF");
    let revoked = r.accepted("certificate_revoked");
    assert_eq!(revoked[0].body["data"], json!({"order_id": pending["id"], "certificate_id": certificate}));
    assert_eq!(r.accepted("order_rejected")[0].body["data"]["order_id"], rejected["id"]);
    let all = r.all();
    assert!(all.iter().all(|x| x.key == SECRET && x.accepted), "{all:#?}");
    assert_eq!(all.len(), 2 + 3, "test, challenge and three events, none twice");
    assert!(!all.iter().any(|x| x.body["data"]["order_id"] == instant["id"]));
    let deliveries = &s.json("/webhook").await["webhooks"][0]["deliveries"];
    assert_eq!((deliveries["pending"].as_u64(), deliveries["delivered"].as_u64()), (Some(0), Some(3)));
    assert_eq!(
        s.metric("certkeep_webhook_deliveries_total{event=\"certificate_issued\",outcome=\"delivered\"}")
            .await,
        "certkeep_webhook_deliveries_total{event=\"certificate_issued\",outcome=\"delivered\"} 1"
    );
    assert_eq!(s.metric("certkeep_webhook_backlog ").await, "certkeep_webhook_backlog 0");
    let log = s.json("/audit-log").await;
    let actions: Vec<&str> =
        log["audit_logs"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "webhook.create",
        "webhook.test",
        "webhook.send_challenge",
        "webhook.check_challenge",
        "webhook.activate",
    ] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
}

#[tokio::test]
async fn an_event_refused_twice_arrives_after_the_retries_once() {
    let s = TestServer::start().await;
    let r = Receiver::start(&s).await;
    s.vouch_domain(s.fx.account, "retry.test");
    s.active_webhook(&r, &["certificate_issued"], json!({"instant_issue_webhook_notification": "1"})).await;
    r.failures.store(2, Ordering::SeqCst);
    let created = s.order("www.retry.test", true).await;
    tokio::spawn(deliver_forever(s.state.clone()));
    r.wait_for("the event", |r| r.accepted("certificate_issued").len() == 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let attempts: Vec<Received> =
        r.all().into_iter().filter(|x| x.body["event"] == "certificate_issued").collect();
    assert_eq!(attempts.iter().map(|a| a.accepted).collect::<Vec<_>>(), [false, false, true]);
    assert!(attempts.iter().all(|a| a.body["data"]["order_id"] == created["id"] && a.key == SECRET));
    assert!(attempts[2].body["data"].get("certificate_chain").is_none(), "no chain unless asked");
    let deliveries = &s.json("/webhook").await["webhooks"][0]["deliveries"];
    assert_eq!((deliveries["pending"].as_u64(), deliveries["delivered"].as_u64()), (Some(0), Some(1)));
    assert_eq!(
        s.metric("certkeep_webhook_deliveries_total{event=\"certificate_issued\",outcome=\"failed\"}").await,
        "certkeep_webhook_deliveries_total{event=\"certificate_issued\",outcome=\"failed\"} 2"
    );
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let s = TestServer::start().await;
    let r = Receiver::start(&s).await;
    s.vouch_domain(s.fx.account, "replicas.test");
    s.active_webhook(&r, &["certificate_issued"], json!({"instant_issue_webhook_notification": "1"})).await;
    let mut orders = Vec::new();
    for i in 0..12 {
        orders.push(s.order(&format!("n{i}.replicas.test"), true).await["id"].as_i64().unwrap());
    }
    let other = AppState { store: certkeep_store::open(&s.database_url).unwrap(), ..s.state.clone() };
    tokio::spawn(deliver_forever(s.state.clone()));
    tokio::spawn(deliver_forever(other));
    r.wait_for("twelve events", |r| r.accepted("certificate_issued").len() >= 12).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut delivered: Vec<i64> = r
        .accepted("certificate_issued")
        .iter()
        .map(|x| x.body["data"]["order_id"].as_i64().unwrap())
        .collect();
    delivered.sort_unstable();
    assert_eq!(delivered, orders, "each order's event once");
    assert_eq!(s.backlog().await, 0);
}

#[tokio::test]
async fn endpoints_must_be_public_https_urls_unless_the_operator_allows_inner_ones() {
    let s = TestServer::start_with_webhooks(Default::default()).await;
    let r = Receiver::start(&s).await;
    let port = r.url.trim_start_matches("https://127.0.0.1:").trim_end_matches("/hook");
    for endpoint in [
        r.url.clone(),
        format!("https://localhost:{port}/hook"),
        "https://10.0.0.7/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://[::1]/hook".to_owned(),
        "http://hooks.example.com/hook".to_owned(),
        "not a url".to_owned(),
    ] {
        let body = json!({"endpoint": endpoint, "secret": SECRET, "events": ["certificate_issued"]});
        let resp = s.send(Method::POST, &s.fx.admin_key, "/webhook", body).await;
        assert_eq!(resp.0, 400, "{endpoint}: {}", resp.1);
        assert!(resp.1.contains("webhook_invalid_endpoint"), "{endpoint}: {}", resp.1);
        let test = s
            .send(
                Method::POST,
                &s.fx.admin_key,
                "/webhook/test-endpoint",
                json!({"endpoint": endpoint, "secret": SECRET}),
            )
            .await;
        assert!(test.1.contains("webhook_invalid_endpoint"), "{endpoint}: {}", test.1);
    }
    assert!(r.all().is_empty(), "nothing was posted: {:?}", r.all());
    let (status, headers, body) = s.get(Some(&s.fx.admin_key.clone()), "/webhook").await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({"webhooks": []})));
    assert_eq!(headers["content-type"], "application/json");
}

#[tokio::test]
async fn registrations_are_checked_and_kept_to_their_account() {
    let s = TestServer::start().await;
    let r = Receiver::start(&s).await;
    let post = |key: String, body: Value| {
        let s = &s;
        async move {
            let resp = s.send(Method::POST, &key, "/webhook", body).await;
            let v: Value = serde_json::from_str(&resp.1).unwrap_or(Value::Null);
            (resp.0, v["errors"][0]["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    let admin = s.fx.admin_key.clone();
    let cases = [
        (json!({"secret": SECRET, "events": ["certificate_issued"]}), "missing_param|endpoint"),
        (
            json!({"endpoint": r.url, "secret": "short", "events": ["certificate_issued"]}),
            "webhook_invalid_secret",
        ),
        (
            json!({"endpoint": r.url, "secret": SECRET, "events": ["certificate_exploded"]}),
            "webhook_invalid_event",
        ),
        (json!({"endpoint": r.url, "secret": SECRET, "events": []}), "missing_param|events"),
        (
            json!({"endpoint": r.url, "secret": SECRET, "events": ["order_rejected"],
                   "webhook_settings": {"webhook_notification_frequency": [9000]}}),
            "webhook_invalid_notification_frequency",
        ),
    ];
    for (body, code) in cases {
        assert_eq!(post(admin.clone(), body.clone()).await, (400, code.to_owned()), "{body}");
    }
    let good = json!({"endpoint": r.url, "secret": SECRET, "events": ["certificate_issued"]});
    // A key limited to some containers may not manage the account's webhook.
    assert_eq!(
        post(s.fx.engineering_key.clone(), good.clone()).await,
        (403, "access_denied|missing_permission".into())
    );
    let (status, created) = s.call(Method::POST, "/webhook", good.clone()).await;
    assert_eq!(status, 201);
    let id = created["webhook_id"].as_i64().unwrap();
    // Another tenant sees no webhook, cannot touch this one, and registers its own.
    let other = s.fx.other_tenant_key.clone();
    let resp = s.get(Some(&other), "/webhook").await;
    assert_eq!(serde_json::from_str::<Value>(&resp.2).unwrap(), json!({"webhooks": []}));
    for path in
        [format!("/webhook/{id}"), format!("/webhook/{id}/send-challenge"), format!("/webhook/{id}/activate")]
    {
        let resp = s.send(Method::PUT, &other, &path, json!({"secret": "x".repeat(40)})).await;
        assert_eq!(resp.0, 404, "{path}: {}", resp.1);
        assert!(resp.1.contains("not_found|webhook"), "{}", resp.1);
    }
    let resp = s.send(Method::DELETE, &other, &format!("/webhook/{id}"), json!({})).await;
    assert_eq!(resp.0, 404);
    assert_eq!(post(other, good).await.0, 201);
    assert!(r.all().is_empty(), "another tenant's calls posted nothing");

    // Updates change what is asked for, and are checked like a registration; delete removes it.
    let (status, _) =
        s.call(Method::PUT, &format!("/webhook/{id}"), json!({"events": ["certificate_revoked"]})).await;
    assert_eq!(status, 204);
    assert_eq!(s.json("/webhook").await["webhooks"][0]["events"], json!(["certificate_revoked"]));
    let resp = s
        .send(Method::PUT, &s.fx.admin_key, &format!("/webhook/{id}"), json!({"endpoint": "http://x.test/"}))
        .await;
    assert!(resp.1.contains("webhook_invalid_endpoint"), "{}", resp.1);
    let (status, _) = s.call(Method::DELETE, &format!("/webhook/{id}"), json!({})).await;
    assert_eq!(status, 204);
    let resp = s.send(Method::PUT, &s.fx.admin_key, &format!("/webhook/{id}/activate"), json!({})).await;
    assert_eq!(resp.0, 404, "{}", resp.1);
    assert!(resp.1.contains("not_found|webhook"), "{}", resp.1);
    assert_eq!(s.json("/webhook").await, json!({"webhooks": []}));
}

#[tokio::test]
async fn expiry_notices_arrive_once_per_certificate_and_window_across_a_restart() {
    use certkeep_core::{FixedClock, Scope, lifecycle::CertificateRef};
    use certkeep_server::expiry_notice::{notice_forever, sweep};

    let s = TestServer::start().await;
    let r = Receiver::start(&s).await;
    s.vouch_domain(s.fx.account, "expiry.test");
    let settings = json!({"webhook_notification_frequency": [30, 7]});
    s.active_webhook(&r, &["certificate_expiring"], settings).await;
    let created = s.order("www.expiry.test", true).await;
    let info = s.json(&format!("/order/certificate/{}", created["id"])).await;
    let certificate = info["certificate"]["id"].as_i64().unwrap();
    let scope = Scope { account_id: s.fx.account, containers: None };
    let (cert, _) = s.store.find_certificate(&scope, &CertificateRef::Id(certificate)).unwrap().unwrap();
    let valid_till = cert.valid_till.unwrap();
    tokio::spawn(deliver_forever(s.state.clone()));
    let at = |days_left: f64| AppState {
        clock: Arc::new(FixedClock(valid_till - time::Duration::seconds_f64(days_left * 86_400.0))),
        ..s.state.clone()
    };
    let mine = |r: &Receiver| -> Vec<Value> {
        r.accepted("certificate_expiring")
            .into_iter()
            .filter(|x| x.body["data"]["certificate_id"] == certificate)
            .map(|x| x.body["data"].clone())
            .collect()
    };

    for days_left in [40.0, 31.1] {
        sweep(&at(days_left)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mine(&r).is_empty(), "nothing before the 30-day window: {:#?}", mine(&r));
    sweep(&at(30.9)).await.unwrap();
    r.wait_for("the 30-day notice", |r| mine(r).len() == 1).await;
    let notice = &mine(&r)[0];
    assert_eq!(notice["days_to_expiry"], 30);
    assert_eq!(notice["order_id"], created["id"]);
    assert_eq!(notice["common_name"], "www.expiry.test");
    assert_eq!(notice["valid_till"], valid_till.date().to_string());
    assert!(r.accepted("certificate_expiring").iter().all(|x| x.key == SECRET));
    sweep(&at(20.0)).await.unwrap();
    sweep(&at(6.5)).await.unwrap();
    r.wait_for("the 7-day notice", |r| mine(r).len() == 2).await;
    assert_eq!(mine(&r)[1]["days_to_expiry"], 7);

    // A restarted process on the same database, its periodic task running, sends neither again.
    let restarted = AppState { store: certkeep_store::open(&s.database_url).unwrap(), ..at(6.0) };
    tokio::spawn(notice_forever(restarted.clone(), Duration::from_millis(50)));
    tokio::spawn(deliver_forever(restarted.clone()));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sweep(&restarted).await.unwrap(), 0);
    assert_eq!(mine(&r).len(), 2, "{:#?}", mine(&r));
    let mut seen: Vec<(Value, Value)> = r
        .accepted("certificate_expiring")
        .iter()
        .map(|x| (x.body["data"]["certificate_id"].clone(), x.body["data"]["days_to_expiry"].clone()))
        .collect();
    let all = seen.len();
    seen.sort_by_key(|k| format!("{k:?}"));
    seen.dedup();
    assert_eq!(seen.len(), all, "no certificate heard twice in one window");
}
