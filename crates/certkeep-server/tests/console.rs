//! The operator console over real HTTP: sign-in, the session cookie, CSRF, roles, tenancy,
//! sign-out, and the pages, against a started server.

mod common;

use certkeep_core::{ApiKeyRole, OrderStatus, audit::AuditQuery};
use common::{CONSOLE_PASSWORD, TestServer};

async fn server() -> TestServer {
    let s = TestServer::start().await;
    s.console_login(s.fx.admin_user, ApiKeyRole::Inherit);
    s.console_login(s.fx.engineer_user, ApiKeyRole::Inherit);
    s.console_login(s.fx.other_user, ApiKeyRole::Inherit);
    s
}

/// The order's status as the CertCentral API shows it.
async fn api_status(s: &TestServer, order: i64) -> String {
    s.json(&format!("/order/certificate/{order}")).await["status"].as_str().unwrap().to_owned()
}

/// The order's common name as the CertCentral API shows it.
async fn common_name(s: &TestServer, order: i64) -> String {
    let order = s.json(&format!("/order/certificate/{order}")).await;
    order["certificate"]["common_name"].as_str().unwrap().to_owned()
}

/// The audit events of the fixture account, newest first: (action, refused, detail).
fn audit(s: &TestServer) -> Vec<(String, bool, String)> {
    let query = AuditQuery { limit: 100, ..AuditQuery::default() };
    let page = s.store.audit_events(None, &query).unwrap();
    page.records.into_iter().map(|r| (r.event.action, r.event.refused, r.event.detail)).collect()
}

#[tokio::test]
async fn sign_in_refuses_a_wrong_password_and_an_unknown_user_alike() {
    let s = server().await;
    for (user, password) in
        [("admin@acme.test", "wrong password here"), ("nobody@acme.test", CONSOLE_PASSWORD)]
    {
        let mut c = s.console();
        let page = c.sign_in(user, password).await;
        assert_eq!(page.status, 401, "{user}");
        assert!(page.body.contains("Wrong user name or password."), "{}", page.body);
        assert!(c.cookie.is_none(), "no session for {user}");
    }
    let refused = audit(&s).into_iter().filter(|(a, r, _)| a == "console.sign-in" && *r).count();
    assert_eq!(refused, 2, "both refusals are audited");
    // A form that did not come from the sign-in page (no echoed token) is refused too.
    let page = s
        .console()
        .post("/console/sign-in", &[("username", "admin@acme.test"), ("password", CONSOLE_PASSWORD)])
        .await;
    assert_eq!(page.status, 403);
    assert!(page.set_cookie("certkeep_console").is_none());
    let mut c = s.console();
    assert_eq!(c.sign_in("admin@acme.test", CONSOLE_PASSWORD).await.status, 303);
    assert!(audit(&s).iter().any(|(a, r, _)| a == "console.sign-in" && !r));
}

#[tokio::test]
async fn the_session_cookie_is_secure_http_only_strict_and_scoped_to_the_console() {
    let s = server().await;
    let mut c = s.console();
    let page = c.sign_in("admin@acme.test", CONSOLE_PASSWORD).await;
    assert_eq!((page.status, page.location()), (303, "/console/inventory"));
    let cookie = page.set_cookie("certkeep_console").unwrap();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let token = attributes[0].strip_prefix("certkeep_console=").unwrap();
    assert_eq!(token.len(), 64, "256 random bits");
    for wanted in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
        assert!(attributes.contains(&wanted), "{wanted} in {cookie}");
    }
    // Only a hash of the token is stored.
    assert!(s.store.console_session(token.as_bytes(), s.now).unwrap().is_none());
    let hash = certkeep_core::credentials::hash_api_key(token);
    assert_eq!(s.store.console_session(&hash, s.now).unwrap().unwrap().username, "admin@acme.test");
    // Pages are not cached, framed or scripted.
    let page = c.get("/console/inventory").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["cache-control"], "no-store");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!page.body.contains("<script"));
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let s = server().await;
    let c = s.signed_in("admin@acme.test").await;
    let path = format!("/console/orders/{}/revoke", s.fx.issued);
    let other = s.signed_in("eng@acme.test").await;
    let someone_elses = other.csrf.clone().unwrap();
    for form in [vec![("reason", "key_compromise")], vec![("reason", "superseded"), ("csrf", &someone_elses)]]
    {
        let page = c.post(&path, &form).await;
        assert_eq!(page.status, 403, "{form:?}");
        assert!(page.body.contains("not sent from your console session"), "{}", page.body);
    }
    assert_eq!(api_status(&s, s.fx.issued).await, "issued");
    let refusals: Vec<_> = audit(&s).into_iter().filter(|(a, r, _)| a == "console.auth" && *r).collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals.iter().all(|(_, _, d)| d == "missing or wrong CSRF token"));
    // Signing out is a form too.
    assert_eq!(c.post("/console/sign-out", &[]).await.status, 403);
    assert_eq!(c.get_status("/console/inventory").await, 200, "still signed in");
}

#[tokio::test]
async fn revoking_from_the_console_goes_through_the_lifecycle_and_shows_in_the_api() {
    let s = server().await;
    let mut c = s.signed_in("admin@acme.test").await;
    let order = format!("/console/orders/{}", s.fx.issued);
    let page = c.get(&order).await;
    assert!(page.body.contains("Revoke every certificate of this order"), "{}", page.body);
    let page =
        c.act(&format!("{order}/revoke"), &[("reason", "key_compromise"), ("comment", "lost laptop")]).await;
    assert_eq!((page.status, page.location()), (303, format!("{order}?done=revoked").as_str()));
    assert_eq!(api_status(&s, s.fx.issued).await, "revoked");
    let page = c.get(&format!("{order}?done=revoked")).await;
    assert!(
        page.body.contains("The order&#x27;s certificates are revoked.")
            || page.body.contains("The order's certificates are revoked.")
    );
    assert!(!page.body.contains("Revoke every certificate"), "nothing left to revoke");
    let event = s.store.audit_events(Some(s.fx.account), &AuditQuery { limit: 1, ..AuditQuery::default() });
    let event = event.unwrap().records.remove(0).event;
    assert_eq!(
        (event.action.as_str(), event.user_id, event.api_key_id),
        ("certificate.revoke", Some(s.fx.admin_user), None)
    );
    // A second revocation is refused in the lifecycle's words, on the order's page.
    let page = c.act(&format!("{order}/revoke"), &[("reason", "superseded")]).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("role=\"alert\"") && page.body.contains("not issued"), "{}", page.body);
    // An unknown reason is refused before the lifecycle.
    let page = c.act(&format!("/console/orders/{}/revoke", s.fx.renewal), &[("reason", "boredom")]).await;
    assert_eq!(page.status, 400);
    assert_eq!(api_status(&s, s.fx.renewal).await, "issued");
}

#[tokio::test]
async fn a_view_only_users_revoke_is_refused() {
    let s = server().await;
    s.console_login(s.fx.admin_user, ApiKeyRole::ViewOnly);
    let mut c = s.signed_in("admin@acme.test").await;
    let order = format!("/console/orders/{}", s.fx.issued);
    let page = c.get(&order).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("view only"), "{}", page.body);
    assert!(!page.body.contains("/revoke\""), "no revoke form for a view-only user");
    let page = c.act(&format!("{order}/revoke"), &[("reason", "key_compromise")]).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("view only"), "{}", page.body);
    assert_eq!(api_status(&s, s.fx.issued).await, "issued");
    assert!(audit(&s).iter().any(|(a, r, d)| a == "console.auth" && *r && d == "view-only console user"));
    // Looking and signing out stay open to them.
    assert_eq!(c.get("/console/expiry").await.status, 200);
    assert_eq!(c.act("/console/sign-out", &[]).await.status, 303);
}

#[tokio::test]
async fn a_user_never_sees_another_tenants_order_nor_outside_their_containers() {
    let s = server().await;
    let mut other = s.signed_in("admin@other.test").await;
    let mut eng = s.signed_in("eng@acme.test").await;
    let theirs = s.fx.other_tenant_order;
    let issued = s.json(&format!("/order/certificate/{}", s.fx.issued)).await;
    let certificate = issued["certificate"]["id"].as_i64().unwrap();
    let common_name = issued["certificate"]["common_name"].as_str().unwrap().to_owned();
    for (c, order) in [(&mut other, s.fx.issued), (&mut eng, s.fx.issued)] {
        let page = c.get(&format!("/console/orders/{order}")).await;
        assert_eq!(page.status, 404);
        assert!(!page.body.contains(&common_name));
        assert_eq!(c.get(&format!("/console/certificates/{certificate}/chain.pem")).await.status, 404);
        let inventory = c.get(&format!("/console/inventory?q={common_name}")).await;
        assert!(inventory.body.contains("No order matches."), "{}", inventory.body);
        let page = c.act(&format!("/console/orders/{order}/revoke"), &[("reason", "superseded")]).await;
        assert_eq!(page.status, 404, "{}", page.body);
    }
    assert_eq!(api_status(&s, s.fx.issued).await, "issued");
    let mine = s.signed_in("admin@acme.test").await;
    let mut mine = mine;
    assert_eq!(mine.get(&format!("/console/orders/{theirs}")).await.status, 404);
    // The engineer sees the Engineering subtree's orders.
    let page = eng.get(&format!("/console/orders/{}", s.fx.renewal)).await;
    assert_eq!(page.status, 200);
    // The audit log is for administrators of the whole account only.
    assert_eq!(eng.get("/console/audit").await.status, 403);
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let s = server().await;
    let c = s.signed_in("admin@acme.test").await;
    let token = c.cookie.clone().unwrap();
    let hash = certkeep_core::credentials::hash_api_key(token.strip_prefix("certkeep_console=").unwrap());
    assert!(s.store.console_session(&hash, s.now).unwrap().is_some());
    let page = c.act("/console/sign-out", &[]).await;
    assert_eq!((page.status, page.location()), (303, "/console/sign-in"));
    assert!(page.set_cookie("certkeep_console").unwrap().contains("Max-Age=0"));
    assert!(s.store.console_session(&hash, s.now).unwrap().is_none(), "gone from the database");
    // The old cookie, replayed, opens nothing.
    let page = c.get_page("/console/inventory").await;
    assert_eq!((page.status, page.location()), (303, "/console/sign-in"));
    assert_eq!(c.post("/console/orders/1/revoke", &[("csrf", &c.csrf.clone().unwrap())]).await.status, 403);
    assert!(audit(&s).iter().any(|(a, r, _)| a == "console.sign-out" && !r));
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_address() {
    let s = server().await;
    for _ in 0..10 {
        assert_eq!(s.console().sign_in("admin@acme.test", "not the password!").await.status, 401);
    }
    let mut c = s.console();
    let page = c.sign_in("admin@acme.test", CONSOLE_PASSWORD).await;
    assert_eq!(page.status, 429, "even the right password waits");
    assert!(c.cookie.is_none());
}

#[tokio::test]
async fn the_pages_show_the_users_inventory_and_refuse_bad_parameters() {
    let s = server().await;
    let mut c = s.signed_in("admin@acme.test").await;
    let all = c.get("/console/inventory").await;
    assert_eq!(all.status, 200);
    assert!(all.body.contains("www.alpha.com"), "{}", all.body);
    let found = c.get("/console/inventory?q=alpha&status=issued").await;
    assert!(found.body.contains("www.alpha.com") && found.body.contains("1 order."), "{}", found.body);
    let none = c.get("/console/inventory?q=alpha&status=revoked").await;
    assert!(none.body.contains("No order matches."));
    assert_eq!(c.get("/console/inventory?status=bogus").await.status, 400);
    assert_eq!(c.get("/console/inventory?page=0").await.status, 400);
    assert_eq!(c.get("/console/orders/abc").await.status, 404);
    let (account, root, admin) = (s.fx.account, s.fx.root, s.fx.admin_user);
    for days_left in [10, 11, 40] {
        s.insert_order_expiring(account, root, admin, days_left);
    }
    s.insert_order_expiring(s.fx.other_account, s.fx.other_root, s.fx.other_user, 10);
    let expiry = c.get("/console/expiry").await;
    // Two of ours expire in the week of June 8, none of the other tenant's counts.
    assert!(expiry.body.contains("<tr><td>2026-06-08</td><td>2</td></tr>"), "{}", expiry.body);
    assert!(expiry.body.contains("3 issued certificates expire in the next 26 weeks"), "{}", expiry.body);
    assert_eq!(expiry.body.matches("expiring.alpha.com").count(), 2, "the next 30 days list");
    assert!(expiry.body.contains("<svg") && expiry.body.contains("<rect"), "{}", expiry.body);
    assert_eq!(expiry.body.matches("<rect").count(), 26, "one bar a week");
    assert_eq!(c.get("/console/domains").await.status, 200);
    let audit = c.get("/console/audit").await;
    assert!(audit.body.contains("console.sign-in"), "{}", audit.body);
    // The chain download: the certificate, then the CA's intermediate and root.
    let order = c.get(&format!("/console/orders/{}", s.fx.issued)).await;
    let at = order.body.find("/console/certificates/").unwrap();
    let link = order.body[at..].split('"').next().unwrap().to_owned();
    let pem = c.get(&link).await;
    assert_eq!(pem.status, 200);
    assert_eq!(pem.headers["content-type"], "application/x-pem-file");
    assert!(pem.headers["content-disposition"].to_str().unwrap().contains("www.alpha.com-chain.pem"));
    assert_eq!(pem.body.matches("-----BEGIN CERTIFICATE-----").count(), 3, "{}", pem.body);
}

#[tokio::test]
async fn acme_contracts_are_listed_within_the_users_containers_with_key_ids_only() {
    let s = server().await;
    let fx = &s.fx;
    acme_contract(&s, (fx.account, fx.root, fx.admin_user), "root-contract.test", false);
    acme_contract(&s, (fx.account, fx.engineering, fx.engineer_user), "eng-contract.test", false);
    acme_contract(&s, (fx.other_account, fx.other_root, fx.other_user), "other-contract.test", false);
    let mut admin = s.signed_in("admin@acme.test").await;
    let page = admin.get("/console/contracts").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("root-contract.test") && page.body.contains("eng-contract.test"),
        "{}",
        page.body
    );
    // Their key ids are listed, never another tenant's contract nor anything of an HMAC key.
    assert!(page.body.contains("kid-root-contract.test"), "{}", page.body);
    assert!(
        !page.body.contains("other-contract.test") && !page.body.contains("sealed-hmac"),
        "{}",
        page.body
    );
    let mut eng = s.signed_in("eng@acme.test").await;
    let page = eng.get("/console/contracts").await;
    assert!(
        page.body.contains("eng-contract.test") && !page.body.contains("root-contract.test"),
        "{}",
        page.body
    );
}

/// An ACME contract of `account` for `name`, kept by the store (through NCP's ACME accounts
/// when `ncp`).
fn acme_contract(
    s: &TestServer,
    (account_id, container_id, user_id): (i64, i64, i64),
    name: &str,
    ncp: bool,
) -> certkeep_core::partner::AcmeContract {
    let mut contract = certkeep_core::partner::AcmeContract {
        id: 0,
        account_id,
        container_id,
        user_id,
        product_name_id: "ssl_dv_geotrust".into(),
        sans: vec![name.into()],
        organization_id: None,
        auto_renew: true,
        created_at: s.now,
        valid_till: s.now + time::Duration::days(365),
        date_canceled: None,
    };
    let kid = format!("kid-{name}");
    contract.id = if ncp {
        let account = certkeep_core::ncp::NcpAcmeAccount {
            contract_id: 0,
            account_id,
            alias: "ncp".into(),
            validation_mode: "DNS01".into(),
            validity_days: 90,
        };
        s.store.create_ncp_acme_account(&contract, &kid, b"sealed-hmac", &account, s.now).unwrap()
    } else {
        s.store.create_contract(&contract, &kid, b"sealed-hmac", s.now).unwrap().0
    };
    contract
}

#[tokio::test]
async fn the_inventory_filters_by_container_product_door_and_expiry_sorts_and_exports_csv() {
    let s = server().await;
    let fx = &s.fx;
    let ours = (fx.account, fx.root, fx.admin_user);
    for (name, ncp) in [("acme-door.alpha.com", false), ("ncp-door.alpha.com", true)] {
        let contract = acme_contract(&s, ours, name, ncp);
        s.insert_contract_order(&contract, (name, &[]), OrderStatus::Issued, s.now, Some(200));
    }
    let theirs = acme_contract(&s, (fx.other_account, fx.other_root, fx.other_user), "theirs.test", false);
    s.insert_contract_order(&theirs, ("theirs.test", &[]), OrderStatus::Issued, s.now, Some(200));
    for days_left in [10, 40] {
        s.insert_order_expiring(fx.account, fx.root, fx.admin_user, days_left);
    }
    s.insert_order_expiring(fx.other_account, fx.other_root, fx.other_user, 10);
    let imported = common_name(&s, fx.revoked).await;
    let mut c = s.signed_in("admin@acme.test").await;

    // NCP's paid issuance records the NCP access key that placed the order.
    s.insert_order_placed_with("ncp-paid.alpha.com", (&fx.ncp_access_key, "ncp_access_key"));

    let page = c.get("/console/inventory?door=acme").await;
    assert!(page.body.contains("acme-door.alpha.com") && page.body.contains("1 order."), "{}", page.body);
    assert!(page.body.contains("<td>ACME</td>"), "the door column: {}", page.body);
    let page = c.get("/console/inventory?door=ncp").await;
    assert!(
        page.body.contains("ncp-door.alpha.com") && page.body.contains("ncp-paid.alpha.com"),
        "{}",
        page.body
    );
    assert!(page.body.contains("2 orders.") && page.body.contains("<td>NCP</td>"), "{}", page.body);
    let page = c.get("/console/inventory?door=imported").await;
    assert!(page.body.contains(&imported) && page.body.contains("1 order."), "{}", page.body);
    assert!(page.body.contains("<td>imported</td>"), "{}", page.body);
    let page = c.get("/console/inventory?door=certcentral").await;
    assert!(
        page.body.contains("www.alpha.com") && page.body.contains("<td>CertCentral</td>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("-door.alpha.com") && !page.body.contains(&imported), "{}", page.body);
    assert!(!page.body.contains("ncp-paid") && !page.body.contains("<td>NCP</td>"), "{}", page.body);
    assert!(!page.body.contains("theirs.test"));

    let page = c.get(&format!("/console/inventory?container={}", fx.engineering)).await;
    assert!(page.body.contains(&common_name(&s, fx.renewal).await) && !page.body.contains("www.alpha.com"));
    let page = c.get(&format!("/console/inventory?container={}", fx.other_root)).await;
    assert!(page.body.contains("No order matches."), "another tenant's container shows nothing");
    let page = c.get("/console/inventory?product=ssl_ev_plus").await;
    assert!(page.body.contains(&common_name(&s, fx.needs_approval).await) && page.body.contains("1 order."));
    let page = c.get("/console/inventory?expires=30").await;
    assert_eq!(page.body.matches("expiring.alpha.com").count(), 1, "{}", page.body);
    let page = c.get("/console/inventory?expires=60&q=expiring").await;
    assert_eq!(page.body.matches("expiring.alpha.com").count(), 2, "{}", page.body);

    // Sorting by a column, both ways; the heading says how the list is sorted.
    let position = |body: &str, name: &str| body.find(name).unwrap();
    let up = c.get("/console/inventory?q=door&sort=common_name&dir=asc").await;
    assert!(position(&up.body, "acme-door") < position(&up.body, "ncp-door"), "{}", up.body);
    assert!(up.body.contains("aria-sort=\"ascending\""), "{}", up.body);
    let down = c.get("/console/inventory?q=door&sort=common_name&dir=desc").await;
    assert!(position(&down.body, "acme-door") > position(&down.body, "ncp-door"), "{}", down.body);
    assert!(down.body.contains("aria-sort=\"descending\""));
    for bad in ["door=fax", "sort=password", "dir=sideways", "expires=13", "container=x", "product=gold"] {
        assert_eq!(c.get(&format!("/console/inventory?{bad}")).await.status, 400, "{bad}");
    }

    // The CSV export takes the same filters and the same scope.
    let csv = c.get("/console/inventory.csv?door=acme").await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.headers["content-type"], "text/csv");
    assert!(csv.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(csv.body.starts_with("\"order_id\""), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 2, "a header and one order: {}", csv.body);
    assert!(csv.body.contains("acme-door.alpha.com"));
    let mut other = s.signed_in("admin@other.test").await;
    let csv = other.get("/console/inventory.csv").await;
    assert!(csv.body.contains("theirs.test") && !csv.body.contains("door.alpha.com"), "{}", csv.body);
    assert!(!csv.body.contains("www.alpha.com"));
    assert_eq!(other.get("/console/inventory.csv?door=fax").await.status, 400);
}

/// The first open request's decision form on an order page: its address.
fn decision_form(body: &str) -> Option<String> {
    let at = body.find("/requests/")?;
    let start = body[..at].rfind('"')? + 1;
    Some(body[start..].split('"').next()?.to_owned())
}

#[tokio::test]
async fn an_administrator_approves_or_rejects_a_pending_request_and_others_cannot() {
    let s = server().await;
    let order = format!("/console/orders/{}", s.fx.renewal);
    // The engineer, signing in for orders only, may not skip approval: revoking files a request.
    s.console_login(s.fx.engineer_user, ApiKeyRole::Orders);
    let mut eng = s.signed_in("eng@acme.test").await;
    let page = eng.act(&format!("{order}/revoke"), &[("reason", "superseded")]).await;
    assert_eq!(page.location(), format!("{order}?done=requested"));
    let page = eng.get(&order).await;
    assert!(decision_form(&page.body).is_none(), "the engineer cannot decide: {}", page.body);
    let mut admin = s.signed_in("admin@acme.test").await;
    let page = admin.get(&order).await;
    let form = decision_form(&page.body).expect("the administrator sees the decision form");
    assert!(page.body.contains("Approve request") && page.body.contains("Reject request"), "{}", page.body);
    assert_eq!(eng.act(&form, &[("decision", "approve")]).await.status, 403);
    let other = s.signed_in("admin@other.test").await;
    assert_eq!(other.act(&form, &[("decision", "approve")]).await.status, 404);
    // Another order's address does not reach this order's request.
    let elsewhere = form.replace(&s.fx.renewal.to_string(), &s.fx.issued.to_string());
    assert_eq!(admin.act(&elsewhere, &[("decision", "approve")]).await.status, 404);
    assert_eq!(admin.act(&form, &[("decision", "maybe")]).await.status, 400);
    assert_eq!(api_status(&s, s.fx.renewal).await, "issued", "nothing decided yet");

    let page = admin.act(&form, &[("decision", "reject"), ("comment", "not lost after all")]).await;
    assert_eq!((page.status, page.location()), (303, format!("{order}?done=rejected").as_str()));
    assert_eq!(api_status(&s, s.fx.renewal).await, "issued");
    let page = admin.get(&order).await;
    assert!(decision_form(&page.body).is_none(), "nothing left to decide");
    assert!(audit(&s).iter().any(|(a, r, _)| a == "request.reject" && !r));
    // Deciding it again is the lifecycle's conflict, shown on the page.
    let page = admin.act(&form, &[("decision", "approve")]).await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("role=\"alert\""));

    eng.act(&format!("{order}/revoke"), &[("reason", "key_compromise")]).await;
    let form = decision_form(&admin.get(&order).await.body).unwrap();
    // A view-only sign-in sees no decision form and cannot post one.
    s.console_login(s.fx.admin_user, ApiKeyRole::ViewOnly);
    let mut viewer = s.signed_in("admin@acme.test").await;
    let page = viewer.get(&order).await;
    assert_eq!(page.status, 200);
    assert!(decision_form(&page.body).is_none(), "{}", page.body);
    assert_eq!(viewer.act(&form, &[("decision", "approve")]).await.status, 403);
    assert_eq!(api_status(&s, s.fx.renewal).await, "issued");

    s.console_login(s.fx.admin_user, ApiKeyRole::Inherit);
    let admin = s.signed_in("admin@acme.test").await;
    let page = admin.act(&form, &[("decision", "approve")]).await;
    assert_eq!(page.location(), format!("{order}?done=approved"));
    assert_eq!(api_status(&s, s.fx.renewal).await, "revoked", "approving revokes at once");
}

/// The text of the element with `id` on a page.
fn element(body: &str, id: &str) -> Option<String> {
    let at = body.find(&format!("id=\"{id}\">"))? + id.len() + 6;
    Some(body[at..].split('<').next()?.to_owned())
}

/// The console's form to open a contract for `names`.
fn new_contract(names: &str) -> Vec<(&'static str, String)> {
    vec![("product", "ssl_dv_geotrust".into()), ("names", names.into()), ("years", "1".into())]
}

/// POSTs `form` (owned values) with the session's CSRF token.
async fn act(c: &common::Console, path: &str, form: &[(&str, String)]) -> common::Page {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.act(path, &form).await
}

#[tokio::test]
async fn an_administrator_opens_a_contract_and_sees_its_hmac_key_once_then_regenerates_it() {
    let s = server().await;
    let mut admin = s.signed_in("admin@acme.test").await;
    let page = admin.get("/console/contracts").await;
    assert!(page.body.contains("action=\"/console/contracts\""), "the form: {}", page.body);
    let page = act(&admin, "/console/contracts", &new_contract("eab.alpha.com\nwww.eab.alpha.com")).await;
    assert_eq!(page.status, 201, "{}", page.body);
    assert!(page.body.contains("shown this once"), "{}", page.body);
    let (kid, hmac) = (element(&page.body, "eab-kid").unwrap(), element(&page.body, "eab-hmac").unwrap());
    assert_eq!((kid.len(), hmac.len()), (43, 43), "{}", page.body);
    assert_eq!(page.headers["cache-control"], "no-store");

    // The contract is the Partner API's kind, in the user's container, ordering as the user.
    let contract = s.store.contracts(s.fx.account).unwrap().into_iter().last().unwrap();
    assert_eq!(contract.sans, ["eab.alpha.com", "www.eab.alpha.com"]);
    assert_eq!((contract.container_id, contract.user_id), (s.fx.root, s.fx.admin_user));
    assert_eq!(contract.product_name_id, "ssl_dv_geotrust");
    // Reloading the list shows the key id, never the HMAC key.
    let page = admin.get("/console/contracts").await;
    assert!(page.body.contains(&kid) && !page.body.contains(&hmac), "{}", page.body);

    // The credential binds an ACME client at the ACME door.
    s.register_with_eab(&kid, &hmac).await.expect("the console's EAB credential registers a client");

    let regenerate = format!("/console/contracts/{}/regenerate", contract.id);
    let page = admin.act(&regenerate, &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (new_kid, new_hmac) =
        (element(&page.body, "eab-kid").unwrap(), element(&page.body, "eab-hmac").unwrap());
    assert!(new_kid != kid && new_hmac != hmac);
    let page = admin.get("/console/contracts").await;
    assert!(page.body.contains(&new_kid) && !page.body.contains(&kid), "the old key is revoked");
    assert!(page.body.contains("1 revoked") && !page.body.contains(&new_hmac), "{}", page.body);
    s.register_with_eab(&new_kid, &new_hmac).await.expect("the new credential registers a client");
    assert!(s.register_with_eab(&kid, &hmac).await.is_err(), "the revoked one binds no new client");
    // Keeping the earlier key is a rotation without downtime.
    let page = admin.act(&regenerate, &[("keep_earlier", "on")]).await;
    let newest = element(&page.body, "eab-kid").unwrap();
    let page = admin.get("/console/contracts").await;
    assert!(page.body.contains(&newest) && page.body.contains(&new_kid), "{}", page.body);

    // Both actions are audited as the user's, naming key ids and no HMAC key.
    let events =
        s.store.audit_events(Some(s.fx.account), &AuditQuery { limit: 100, ..AuditQuery::default() });
    let events: Vec<_> = events.unwrap().records.into_iter().map(|r| r.event).collect();
    let of = |action: &str| events.iter().filter(|e| e.action == action).collect::<Vec<_>>();
    let created = of("acme_contract.create");
    assert_eq!(created.len(), 1);
    assert_eq!(
        (created[0].user_id, created[0].object.clone(), created[0].refused),
        (Some(s.fx.admin_user), format!("acme_contract:{}", contract.id), false)
    );
    assert!(created[0].detail.contains(&kid), "{}", created[0].detail);
    assert_eq!(of("acme_contract.eab_regenerate").len(), 2);
    for e in &events {
        for secret in [&hmac, &new_hmac] {
            assert!(!e.detail.contains(secret.as_str()), "{e:?}");
        }
    }
}

#[tokio::test]
async fn contract_forms_are_refused_without_csrf_to_view_only_users_and_outside_the_users_scope() {
    let s = server().await;
    let fx = &s.fx;
    let ours = acme_contract(&s, (fx.account, fx.root, fx.admin_user), "root-contract.test", false);
    let regenerate = format!("/console/contracts/{}/regenerate", ours.id);
    let credentials = || s.store.eab_credentials(ours.id).unwrap().len();
    let contracts = || s.store.contracts(fx.account).unwrap().len();
    let mut admin = s.signed_in("admin@acme.test").await;
    admin.get("/console/contracts").await;

    // No CSRF token: refused, audited, nothing made.
    let page = admin
        .post(
            "/console/contracts",
            &[("product", "ssl_dv_geotrust"), ("names", "x.alpha.com"), ("years", "1")],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(admin.post(&regenerate, &[]).await.status, 403);
    assert_eq!((contracts(), credentials()), (1, 1));

    // Bad terms are refused in words, on the page, at 400.
    for (form, words) in [
        (
            vec![("product", "gold".to_owned()), ("names", "x.alpha.com".into()), ("years", "1".into())],
            "Choose a product",
        ),
        (new_contract(" "), "at least one name"),
        (new_contract("x!.alpha.com"), "not a valid DNS name"),
        (
            vec![
                ("product", "ssl_dv_geotrust".into()),
                ("names", "x.alpha.com".into()),
                ("years", "9".into()),
            ],
            "1 to 6 years",
        ),
        (
            vec![("product", "ssl_basic".into()), ("names", "x.alpha.com".into()), ("years", "1".into())],
            "needs an organization",
        ),
        (
            vec![
                ("product", "ssl_basic".into()),
                ("names", "x.alpha.com".into()),
                ("years", "1".into()),
                ("organization", "999999".into()),
            ],
            "no such organization",
        ),
    ] {
        let page = act(&admin, "/console/contracts", &form).await;
        assert_eq!(page.status, 400, "{form:?}: {}", page.body);
        assert!(page.body.contains("role=\"alert\"") && page.body.contains(words), "{form:?}: {}", page.body);
    }
    assert_eq!(contracts(), 1);

    // Another tenant's administrator, and one outside the contract's container, find no such
    // contract; an id that is not one names none.
    let other = s.signed_in("admin@other.test").await;
    assert_eq!(other.act(&regenerate, &[]).await.status, 404);
    let eng = s.signed_in("eng@acme.test").await;
    assert_eq!(eng.act(&regenerate, &[]).await.status, 404);
    assert_eq!(admin.act("/console/contracts/x/regenerate", &[]).await.status, 404);
    assert_eq!(credentials(), 1);

    // A canceled contract takes no new credential.
    let mut canceled = ours.clone();
    canceled.date_canceled = Some(s.now);
    s.store.update_contract(&canceled).unwrap();
    let page = admin.act(&regenerate, &[]).await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(credentials(), 1);

    // A view-only sign-in sees the list without forms, and its forged forms are refused.
    s.console_login(fx.admin_user, ApiKeyRole::ViewOnly);
    let mut viewer = s.signed_in("admin@acme.test").await;
    let page = viewer.get("/console/contracts").await;
    assert!(page.body.contains("root-contract.test") && page.body.contains("kid-root-contract.test"));
    assert!(
        !page.body.contains("action=\"/console/contracts") && !page.body.contains("Regenerate"),
        "{}",
        page.body
    );
    let page = act(&viewer, "/console/contracts", &new_contract("x.alpha.com")).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("view only"));
    assert_eq!(viewer.act(&regenerate, &[]).await.status, 403);
    assert_eq!((contracts(), credentials()), (1, 1));
    let refused = audit(&s).into_iter().filter(|(a, r, _)| a == "console.auth" && *r).count();
    assert_eq!(refused, 4, "two without CSRF, two view only");
}

#[tokio::test]
async fn the_webhook_page_shows_the_accounts_deliveries_to_administrators_of_the_whole_account() {
    let s = server().await;
    let r = common::receiver::Receiver::start(&s).await;
    s.vouch_domain(s.fx.account, "hooks.test");
    let mut admin = s.signed_in("admin@acme.test").await;
    let page = admin.get("/console/webhook").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("The account has no webhook") && page.body.contains("No events yet."));

    s.active_webhook(&r, &["certificate_issued"], serde_json::json!({})).await;
    let placed = s.order("issued.hooks.test", false).await;
    let (order, request) = (placed["id"].as_i64().unwrap(), placed["requests"][0]["id"].as_i64().unwrap());
    let page =
        admin.act(&format!("/console/orders/{order}/requests/{request}"), &[("decision", "approve")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = admin.get("/console/webhook").await;
    let endpoint = r.url.replace('/', "&#x2f;");
    assert!(page.body.contains(&endpoint) && page.body.contains(">active<"), "{}", page.body);
    assert!(page.body.contains("certificate_issued") && page.body.contains(">pending<"), "{}", page.body);

    // The receiver refuses the first attempt, then takes the event.
    r.failures.store(1, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(certkeep_server::webhook::deliver_due(&s.state).await.unwrap(), 1);
    let page = admin.get("/console/webhook").await;
    assert!(page.body.contains(">failed<") && page.body.contains("503"), "{}", page.body);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(certkeep_server::webhook::deliver_due(&s.state).await.unwrap(), 1);
    let page = admin.get("/console/webhook").await;
    assert!(
        page.body.contains(">delivered<") && page.body.contains("1 delivered, 0 waiting"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("/console/orders/{order}")), "{}", page.body);
    assert_eq!(admin.get("/console/webhook?page=0").await.status, 400);

    // Another tenant sees its own (none); a user of part of the account sees none at all.
    let mut other = s.signed_in("admin@other.test").await;
    let page = other.get("/console/webhook").await;
    assert!(
        page.body.contains("The account has no webhook") && !page.body.contains(&endpoint),
        "{}",
        page.body
    );
    let mut eng = s.signed_in("eng@acme.test").await;
    let page = eng.get("/console/webhook").await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains(&endpoint));
}
