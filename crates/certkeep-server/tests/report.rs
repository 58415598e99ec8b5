//! `GET /services/v2/report/order/expiring`: DigiCert's windows at the server's clock, one
//! tenant's orders only, containers as in the other lists, bad parameters refused in the dialect.

mod common;

use common::TestServer;
use serde_json::Value;

/// The report's counts as (days_expiring, count) pairs, in the answer's order.
async fn report(s: &TestServer, key: &str, query: &str) -> Vec<(i64, u64)> {
    let (status, _, body) = s.get(Some(key), &format!("/report/order/expiring{query}")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let field = if query.contains("include_expiring_certs=true") { "count" } else { "order_count" };
    v["expiring_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["days_expiring"].as_i64().unwrap(), r[field].as_u64().unwrap()))
        .collect()
}

/// What moved between two reports, window by window.
fn moved(before: &[(i64, u64)], after: &[(i64, u64)]) -> Vec<(i64, i64)> {
    before.iter().zip(after).map(|((d, b), (_, a))| (*d, *a as i64 - *b as i64)).collect()
}

#[tokio::test]
async fn orders_fall_into_digicerts_windows_at_the_servers_clock() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let before = report(&s, &fx.admin_key, "").await;
    assert_eq!(before.iter().map(|(d, _)| *d).collect::<Vec<_>>(), [90, 60, 30, -7]);
    for days in [10, 29, 45, 80, -3, -10, 95] {
        s.insert_order_expiring(fx.account, fx.root, fx.admin_user, days);
    }
    let after = report(&s, &fx.admin_key, "").await;
    // 10 and 29 are within 30 days, 45 within 60, 80 within 90, -3 expired this week; -10 and
    // 95 are in no window.
    assert_eq!(moved(&before, &after), [(90, 1), (60, 1), (30, 2), (-7, 1)]);
    let with_certs = report(&s, &fx.admin_key, "?include_expiring_certs=true").await;
    assert!(with_certs.iter().zip(&after).all(|((_, c), (_, o))| c >= o), "{with_certs:?} vs {after:?}");
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_orders_and_containers() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let (mine, theirs) = (report(&s, &fx.admin_key, "").await, report(&s, &fx.other_tenant_key, "").await);
    let engineering = report(&s, &fx.admin_key, &format!("?container_id={}", fx.engineering)).await;
    s.insert_order_expiring(fx.other_account, fx.other_root, fx.other_user, 20);
    s.insert_order_expiring(fx.account, fx.engineering, fx.admin_user, 50);
    s.insert_order_expiring(fx.account, fx.platform, fx.admin_user, 50);
    s.insert_order_expiring(fx.account, fx.marketing, fx.admin_user, 50);
    assert_eq!(
        moved(&theirs, &report(&s, &fx.other_tenant_key, "").await),
        [(90, 0), (60, 0), (30, 1), (-7, 0)]
    );
    assert_eq!(moved(&mine, &report(&s, &fx.admin_key, "").await), [(90, 0), (60, 3), (30, 0), (-7, 0)]);
    // A container's report includes the containers under it (Platform is under Engineering).
    let narrowed = report(&s, &fx.admin_key, &format!("?container_id={}", fx.engineering)).await;
    assert_eq!(moved(&engineering, &narrowed), [(90, 0), (60, 2), (30, 0), (-7, 0)]);
    // Another tenant's container is as unknown as one that does not exist.
    for container in [fx.root, 987_654_321] {
        let (status, _, body) = s
            .get(Some(&fx.other_tenant_key), &format!("/report/order/expiring?container_id={container}"))
            .await;
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("not_found|container"), "{body}");
    }
}

#[tokio::test]
async fn bad_parameters_are_refused_in_certcentrals_shape() {
    let s = TestServer::start().await;
    for (query, code) in [
        ("?container_id=abc", "invalid_container_id"),
        ("?container_id=-1", "invalid_container_id"),
        ("?include_expiring_certs=maybe", "invalid_include_expiring_certs"),
    ] {
        let (status, _, body) = s.get(Some(&s.fx.admin_key), &format!("/report/order/expiring{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["errors"][0]["code"], code, "{body}");
        assert!(v["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

#[tokio::test]
async fn the_stores_expiring_orders_are_the_issued_ones_in_the_window_soonest_first() {
    let s = TestServer::start().await;
    let fx = s.fx.clone();
    let window = (common::NOW, common::NOW + time::Duration::days(30));
    let before = s.store.expiring_orders(None, window.0, window.1).unwrap();
    let late = s.insert_order_expiring(fx.account, fx.root, fx.admin_user, 20);
    let soon = s.insert_order_expiring(fx.other_account, fx.other_root, fx.other_user, 5);
    s.insert_order_expiring(fx.account, fx.root, fx.admin_user, 40);
    s.insert_order_expiring(fx.account, fx.root, fx.admin_user, -1);
    let all = s.store.expiring_orders(None, window.0, window.1).unwrap();
    let added: Vec<_> = all
        .iter()
        .filter(|(_, o)| !before.iter().any(|(_, b)| b.id == o.id))
        .map(|(a, o)| (*a, o.id))
        .collect();
    assert_eq!(added, [(fx.other_account, soon), (fx.account, late)]);
    assert!(all.windows(2).all(|w| w[0].1.certificate.valid_till <= w[1].1.certificate.valid_till));
    let theirs = s.store.expiring_orders(Some(fx.other_account), window.0, window.1).unwrap();
    assert!(theirs.iter().all(|(a, _)| *a == fx.other_account) && theirs.iter().any(|(_, o)| o.id == soon));
}
