//! One request line at the binary's default level (`info`), in both log formats the binary
//! writes (human and JSON), naming door, route template, status, key id and client, and never
//! a credential.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use common::TestServer;
use tracing_subscriber::{fmt::MakeWriter, prelude::*};

/// Everything written to it, shared.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn each_request_logs_one_line_at_the_default_level_without_secrets() {
    let (human, json) = (Captured::default(), Captured::default());
    let subscriber = tracing_subscriber::registry()
        .with("info".parse::<tracing_subscriber::filter::Targets>().unwrap())
        .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(human.clone()))
        .with(tracing_subscriber::fmt::layer().json().with_writer(json.clone()));
    // The test runtime has one thread: every server task logs through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = TestServer::start().await;
    let (status, _, _) = s.get(Some(&s.fx.admin_key), &format!("/order/certificate/{}", s.fx.issued)).await;
    assert_eq!(status, 200);
    let route = "/services/v2/order/certificate/{order}";
    let lines: Vec<String> = human.text().lines().filter(|l| l.contains(route)).map(str::to_owned).collect();
    assert_eq!(lines.len(), 1, "{}", human.text());
    let line = &lines[0];
    for field in
        ["INFO", "door=\"certcentral\"", "method=GET", "status=200", "client=\"127.0.0.1\"", "micros="]
    {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(line.contains("key=\"certcentral:"), "{line}");
    let records: Vec<serde_json::Value> = json
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["fields"]["route"] == route)
        .collect();
    assert_eq!(records.len(), 1, "{}", json.text());
    let fields = &records[0]["fields"];
    assert_eq!((fields["door"].as_str(), fields["status"].as_u64()), (Some("certcentral"), Some(200)));
    assert!(fields["key"].as_str().is_some_and(|k| k.starts_with("certcentral:")), "{fields}");
    for text in [human.text(), json.text()] {
        assert!(!text.contains(&s.fx.admin_key), "the API key was logged");
    }
}
