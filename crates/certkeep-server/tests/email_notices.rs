//! E-mail expiry notices through a real SMTP relay (aiosmtpd from PyPI, writing each message
//! to a maildir): an order placed over HTTP is noticed once per window at the server's fixed
//! clock, not again after a restart or by a second instance, and, when the relay is down at
//! first, once after it comes up.

mod common;

use std::{sync::Arc, time::Duration};

use certkeep_core::{FixedClock, Scope, lifecycle::CertificateRef};
use certkeep_server::{
    AppState,
    email_notice::{EmailNotices, EmailSettings, mailbox, send_due, send_forever},
    expiry_notice::{notice_forever, sweep},
};
use common::{
    TestServer,
    smtp_relay::{Relay, aiosmtpd_available, free_port},
};
use reqwest::Method;
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Notices through the relay on `port` at the 30- and 7-day windows, retried quickly.
fn notices_via(port: u16) -> Arc<EmailNotices> {
    let mut settings =
        EmailSettings::new("127.0.0.1".into(), port, mailbox("certkeep <notices@certkeep.test>").unwrap());
    settings.windows = vec![30, 7];
    settings.pace = common::test_pace();
    Arc::new(EmailNotices::new(settings))
}

/// An issued order for `cn` placed over CertCentral's API by the fixture's administrator;
/// returns the order's id and its certificate's expiry.
async fn place_order(s: &TestServer, cn: &str) -> (i64, OffsetDateTime) {
    s.vouch_domain(s.fx.account, cn.split_once('.').unwrap().1);
    let csr = certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, cn, &[]).unwrap().1;
    let body = json!({
        "certificate": {"common_name": cn, "csr": csr, "signature_hash": "sha256", "server_platform": {"id": 45}},
        "organization": {"id": s.fx.org_epigyne},
        "order_validity": {"years": 1},
        "skip_approval": true,
    });
    let (status, text) = s.send(Method::POST, &s.fx.admin_key, "/order/certificate/ssl_plus", body).await;
    assert_eq!(status, 201, "{text}");
    let order = serde_json::from_str::<Value>(&text).unwrap()["id"].as_i64().unwrap();
    let info = s.json(&format!("/order/certificate/{order}")).await;
    let certificate = info["certificate"]["id"].as_i64().unwrap();
    let scope = Scope { account_id: s.fx.account, containers: None };
    let (cert, _) = s.store.find_certificate(&scope, &CertificateRef::Id(certificate)).unwrap().unwrap();
    (order, cert.valid_till.unwrap())
}

/// The server's state with its clock `days_left` days before `valid_till`, sending through
/// `email`.
fn at(s: &TestServer, email: &Arc<EmailNotices>, valid_till: OffsetDateTime, days_left: f64) -> AppState {
    AppState {
        clock: Arc::new(FixedClock(valid_till - time::Duration::seconds_f64(days_left * 86_400.0))),
        email: Some(email.clone()),
        ..s.state.clone()
    }
}

async fn metric(s: &TestServer, line_start: &str) -> String {
    let text = reqwest::get(format!("{}/metrics", s.metrics_base)).await.unwrap().text().await.unwrap();
    text.lines().find(|l| l.starts_with(line_start)).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_order_is_noticed_by_e_mail_once_per_window_across_a_restart() {
    if !aiosmtpd_available() {
        return;
    }
    let s = TestServer::start().await;
    let port = free_port();
    let relay = Relay::start(port).await;
    let email = notices_via(port);
    let cn = "www.notice.test";
    let (order, valid_till) = place_order(&s, cn).await;

    for days_left in [40.0, 31.1] {
        let before = at(&s, &email, valid_till, days_left);
        sweep(&before).await.unwrap();
        send_due(&before).await.unwrap();
    }
    assert!(relay.about(cn).is_empty(), "nothing before the 30-day window: {:#?}", relay.about(cn));

    let thirty = at(&s, &email, valid_till, 30.9);
    sweep(&thirty).await.unwrap();
    assert_eq!(send_due(&thirty).await.unwrap(), 1, "one notice due, to one recipient");
    let mail = relay.wait_for(cn, 1).await.remove(0);
    assert_eq!(mail.header("Subject"), format!("Certificate {cn} expires in 30 days"));
    assert_eq!(mail.header("From"), "certkeep <notices@certkeep.test>");
    // A CertCentral order names no contact e-mail: its notice goes to the user who placed it.
    assert_eq!(mail.header("To"), "admin@acme.test");
    assert_eq!(mail.header("X-RcptTo"), "admin@acme.test");
    for line in [
        format!("The certificate for {cn} expires in 30 days."),
        format!("Common name: {cn}\n"),
        format!("Order: {order}\n"),
        format!("Expires: {}\n", valid_till.format(&Rfc3339).unwrap()),
        format!("{}/services/v2/order/certificate/ssl_plus\n", s.base),
        format!("\"renewal_of_order_id\": {order}\n"),
    ] {
        assert!(mail.body.contains(&line), "{line:?} in {}", mail.body);
    }
    assert_eq!(metric(&s, "certkeep_email_backlog").await, "certkeep_email_backlog 0");
    assert_eq!(
        metric(&s, "certkeep_email_notices_total{outcome=\"sent\"}").await,
        "certkeep_email_notices_total{outcome=\"sent\"} 1"
    );

    // Later sweeps in the same window queue nothing more.
    let twenty = at(&s, &email, valid_till, 20.0);
    sweep(&twenty).await.unwrap();
    assert_eq!(send_due(&twenty).await.unwrap(), 0);

    // A restarted process on the same database, its periodic tasks running, sends nothing again.
    let restarted = AppState { store: certkeep_store::open(&s.database_url).unwrap(), ..twenty };
    let tasks = [
        tokio::spawn(notice_forever(restarted.clone(), Duration::from_millis(50))),
        tokio::spawn(send_forever(restarted.clone())),
    ];
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sweep(&restarted).await.unwrap(), 0);
    assert_eq!(relay.about(cn).len(), 1, "{:#?}", relay.about(cn));
    // Its clock stays 20 days out: stopped, so that the next notice is sent at the 7-day clock.
    tasks.iter().for_each(|t| t.abort());

    // The 7-day window brings one more.
    let seven = at(&s, &email, valid_till, 6.5);
    sweep(&seven).await.unwrap();
    send_due(&seven).await.unwrap();
    let mails = relay.wait_for(cn, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.about(cn).len(), 2, "{mails:#?}");
    let subjects: Vec<&str> = mails.iter().map(|m| m.header("Subject")).collect();
    assert!(subjects.contains(&format!("Certificate {cn} expires in 6 days").as_str()), "{subjects:?}");
}

#[tokio::test]
async fn a_notice_queued_while_the_relay_is_down_arrives_once_when_it_comes_up() {
    if !aiosmtpd_available() {
        return;
    }
    let s = TestServer::start().await;
    let port = free_port();
    let email = notices_via(port);
    let cn = "www.relay.test";
    let (_, valid_till) = place_order(&s, cn).await;
    let state = at(&s, &email, valid_till, 29.0);
    assert!(sweep(&state).await.unwrap() >= 1);
    let attempted = send_due(&state).await.unwrap();
    assert!(attempted >= 1, "attempted while nothing listens");
    let failed = metric(&s, "certkeep_email_notices_total{outcome=\"failed\"}").await;
    assert_eq!(failed, format!("certkeep_email_notices_total{{outcome=\"failed\"}} {attempted}"));
    assert_ne!(metric(&s, "certkeep_email_backlog").await, "certkeep_email_backlog 0");

    tokio::spawn(send_forever(state.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let relay = Relay::start(port).await;
    let mails = relay.wait_for(cn, 1).await;
    assert_eq!(mails[0].header("Subject"), format!("Certificate {cn} expires in 29 days"));
    // Retries keep going while the relay is up; none sends it twice.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(relay.about(cn).len(), 1, "{:#?}", relay.about(cn));
    assert_eq!(metric(&s, "certkeep_email_backlog").await, "certkeep_email_backlog 0");
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_notice_once() {
    if !aiosmtpd_available() {
        return;
    }
    let s = TestServer::start().await;
    let port = free_port();
    let relay = Relay::start(port).await;
    let cns = ["www.one.test", "www.two.test", "www.three.test"];
    let mut valid_till = None;
    for cn in cns {
        valid_till = Some(place_order(&s, cn).await.1);
    }
    // Orders placed a moment apart expire a moment apart: all three are 29 days out.
    let state = at(&s, &notices_via(port), valid_till.unwrap(), 29.0);
    let replica = AppState { store: certkeep_store::open(&s.database_url).unwrap(), ..state.clone() };
    let (a, b) = tokio::join!(sweep(&state), sweep(&replica));
    assert_eq!(a.unwrap() + b.unwrap(), 3, "each notice queued by one of them");
    let (a, b) = tokio::join!(send_due(&state), send_due(&replica));
    assert_eq!(a.unwrap() + b.unwrap(), 3, "each notice leased by one of them");
    for cn in cns {
        relay.wait_for(cn, 1).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for cn in cns {
        assert_eq!(relay.about(cn).len(), 1, "{cn}: {:#?}", relay.about(cn));
    }
}
