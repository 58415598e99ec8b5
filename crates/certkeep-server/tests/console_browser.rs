//! The console in a real headless Chromium, driven over WebDriver (chromedriver) with plain
//! JSON requests: sign in, search the inventory, open the order, download its chain, revoke
//! it and see it revoked through the CertCentral API; a view-only user gets no revoke form and
//! a forged cross-site form is refused. Screenshots of each page go to
//! `target/console-screenshots/`. Skipped, with a note, where chromedriver is not installed.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use certkeep_core::ApiKeyRole;
use common::{CONSOLE_PASSWORD, TestServer};
use serde_json::{Value, json};

/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session on it.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    downloads: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session; `None` when
    /// chromedriver is not installed.
    async fn start() -> Option<Browser> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let downloads = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            http: reqwest::Client::new(),
            session: format!("http://127.0.0.1:{port}"),
            downloads,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser.http.get(format!("{}/status", browser.session)).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let downloads = browser.downloads.path().to_str().unwrap().to_owned();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
                "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false},
            },
        }}});
        let created = browser.call(reqwest::Method::POST, "/session", capabilities).await;
        browser.session = format!("{}/session/{}", browser.session, created["sessionId"].as_str().unwrap());
        let allow = json!({"cmd": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": downloads}});
        browser.call(reqwest::Method::POST, "/goog/cdp/execute", allow).await;
        Some(browser)
    }

    /// A WebDriver command under the session (or the driver, before there is one); its `value`.
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self.http.request(method.clone(), format!("{}{path}", self.session));
        let request = if method == reqwest::Method::GET { request } else { request.json(&body) };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer.get("sessionId").map_or_else(|| answer["value"].clone(), |_| answer.clone())
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .call(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css}))
            .await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no {css}: {found}")).to_owned()
    }

    async fn has(&self, css: &str) -> bool {
        let found = self
            .call(reqwest::Method::POST, "/elements", json!({"using": "css selector", "value": css}))
            .await;
        !found.as_array().unwrap().is_empty()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), json!({ "text": text })).await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), json!({})).await;
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", Value::Null).await.as_str().unwrap().to_owned()
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", Value::Null).await.as_str().unwrap().to_owned()
    }

    /// Waits until the page's URL contains `part` (a click's navigation may still be under way).
    async fn reached(&self, part: &str) -> bool {
        self.reached_where(|url| url.contains(part)).await
    }

    /// Waits until the page's URL satisfies `wanted`.
    async fn reached_where(&self, wanted: impl Fn(&str) -> bool) -> bool {
        within_15s(async || wanted(&self.url().await)).await
    }

    /// Saves a screenshot of the page as `target/console-screenshots/{name}.png`.
    async fn screenshot(&self, name: &str) {
        let png = self.call(reqwest::Method::GET, "/screenshot", Value::Null).await;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), STANDARD.decode(png.as_str().unwrap()).unwrap())
            .unwrap();
    }

    /// Signs in through the form.
    async fn sign_in(&self, base: &str, username: &str) {
        self.go(&format!("{base}/console")).await;
        assert!(self.reached("/console/sign-in").await, "signed out, the console asks to sign in");
        self.type_into("#username", username).await;
        self.type_into("#password", CONSOLE_PASSWORD).await;
        self.click("form.card button[type=submit]").await;
        assert!(self.reached("/console/inventory").await, "{}", self.source().await);
    }

    /// Waits for a finished download named `name`.
    async fn downloaded(&self, name: &str) -> PathBuf {
        let path = self.downloads.path().join(name);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !path.exists() {
            assert!(Instant::now() < deadline, "no download {name}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        path
    }
}

#[tokio::test]
async fn an_operator_finds_downloads_and_revokes_an_order_in_a_real_browser() {
    let Some((browser, s)) = Browser::with_server().await else { return };
    s.console_login(s.fx.admin_user, ApiKeyRole::Inherit);
    s.console_login(s.fx.engineer_user, ApiKeyRole::Orders);
    for days_left in [5, 12, 12, 30, 33, 60, 61, 62, 100, 150] {
        s.insert_order_expiring(s.fx.account, s.fx.root, s.fx.admin_user, days_left);
    }
    let base = s.base.clone();

    browser.go(&format!("{base}/console/sign-in")).await;
    browser.screenshot("sign-in").await;
    // The engineer, for orders only, files a revocation request for the administrator to decide,
    // and signs in view only for the last step.
    let renewal = format!("/console/orders/{}", s.fx.renewal);
    browser.sign_in(&base, "eng@acme.test").await;
    browser.go(&format!("{base}{renewal}")).await;
    browser.click("button.danger").await;
    assert!(browser.reached("?done=requested").await, "{}", browser.source().await);
    browser.click("form.who button").await;
    assert!(browser.reached("/console/sign-in").await);
    s.console_login(s.fx.engineer_user, ApiKeyRole::ViewOnly);
    browser.sign_in(&base, "admin@acme.test").await;
    browser.screenshot("inventory").await;

    browser.type_into("#q", "www.alpha").await;
    browser.click("form.filters button").await;
    assert!(browser.reached("q=www.alpha").await);
    let page = browser.source().await;
    assert!(page.contains("1 order.") && page.contains("www.alpha.com"), "{page}");
    browser.screenshot("inventory-search").await;

    browser.click(&format!("a[href='/console/orders/{}']", s.fx.issued)).await;
    assert!(browser.reached(&format!("/console/orders/{}", s.fx.issued)).await);
    browser.screenshot("order").await;

    browser.click("a[href$='/chain.pem']").await;
    let chain = std::fs::read_to_string(browser.downloaded("www.alpha.com-chain.pem").await).unwrap();
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 3, "leaf, intermediate, root");

    browser.click("#reason option[value='key_compromise']").await;
    browser.type_into("#comment", "laptop stolen").await;
    browser.click("button.danger").await;
    assert!(browser.reached("?done=revoked").await, "{}", browser.source().await);
    assert!(browser.source().await.contains("are revoked"));
    browser.screenshot("order-revoked").await;
    let order = s.json(&format!("/order/certificate/{}", s.fx.issued)).await;
    assert_eq!(order["status"], "revoked", "the API sees the console's revocation");

    // Filters, sorting and the CSV export of what is shown.
    browser.go(&format!("{base}/console/inventory")).await;
    browser.click("#door option[value='imported']").await;
    browser.click("form.filters button").await;
    assert!(browser.reached("door=imported").await);
    let page = browser.source().await;
    assert!(page.contains("1 order.") && page.contains("*.delta.io"), "{page}");
    browser.go(&format!("{base}/console/inventory?expires=30")).await;
    browser.click("th a[href*='sort=valid_till']").await;
    assert!(browser.reached("sort=valid_till").await);
    assert!(browser.has("th[aria-sort='ascending'] a[href*='dir=desc']").await, "{}", browser.source().await);
    browser.screenshot("inventory-filtered").await;
    browser.click("a[href^='/console/inventory.csv']").await;
    let csv = std::fs::read_to_string(browser.downloaded("certkeep-inventory.csv").await).unwrap();
    assert_eq!(csv.matches("expiring.alpha.com").count(), 4, "the 5 to 30 days ones: {csv}");

    // The engineer's revocation request, rejected with a comment.
    browser.go(&format!("{base}{renewal}")).await;
    assert!(browser.has("button[value='approve']").await, "{}", browser.source().await);
    browser.screenshot("order-request").await;
    browser.type_into("input[id^='comment-']", "keep it").await;
    browser.click("button[value='reject']").await;
    assert!(browser.reached("?done=rejected").await, "{}", browser.source().await);
    assert!(!browser.has("button[value='approve']").await, "nothing left to decide");
    browser.screenshot("order-request-rejected").await;
    assert_eq!(s.json(&format!("/order/certificate/{}", s.fx.renewal)).await["status"], "issued");

    browser.go(&format!("{base}/console/expiry")).await;
    assert!(browser.has("svg.chart rect").await);
    browser.screenshot("expiry").await;
    browser.go(&format!("{base}/console/audit")).await;
    assert!(browser.source().await.contains("certificate.revoke"));
    browser.screenshot("audit").await;
    browser.go(&format!("{base}/console/domains")).await;
    browser.screenshot("domains").await;
    browser.go(&format!("{base}/console/contracts")).await;
    assert!(browser.source().await.contains("ACME contracts"));
    browser.screenshot("contracts").await;

    // On a phone-sized window the pages do not scroll sideways.
    let order = format!("/console/orders/{}", s.fx.issued);
    browser.on_a_phone(&base, &[(&order, "order-phone"), ("/console/inventory", "inventory-phone")]).await;

    // A form posted from another site carries no session cookie (SameSite=Strict) nor token.
    let forged = format!(
        "data:text/html,<form method=post action='{base}/console/orders/{}/revoke'><input name=reason \
         value=superseded><button id=go>go</button></form>",
        s.fx.renewal
    );
    browser.go(&forged).await;
    browser.click("#go").await;
    // The data: page's own URL holds the action, so only the answer's origin shows the post went.
    let answered = |url: &str| url.starts_with(&format!("{base}/console/orders/"));
    // Under load Chromium has once dropped the click on the data: page; a second one is as forged.
    if !browser.reached_where(answered).await && browser.has("#go").await {
        browser.click("#go").await;
    }
    assert!(browser.reached_where(answered).await, "at {}", browser.url().await);
    assert!(browser.says("Sign in first.").await, "{}", browser.source().await);
    assert_eq!(s.json(&format!("/order/certificate/{}", s.fx.renewal)).await["status"], "issued");

    // Signing out, then in as a view-only user: the order shows no revoke form.
    browser.go(&format!("{base}/console/inventory")).await;
    browser.click("form.who button").await;
    assert!(browser.reached("/console/sign-in").await, "{}", browser.source().await);
    browser.sign_in(&base, "eng@acme.test").await;
    browser.go(&format!("{base}/console/orders/{}", s.fx.renewal)).await;
    assert!(!browser.has("button.danger").await, "no revoke button for a view-only user");
    assert!(browser.source().await.contains("you cannot revoke"));
    browser.screenshot("order-view-only").await;
    browser.call(reqwest::Method::DELETE, "", Value::Null).await;
}

impl Browser {
    /// A browser and a TLS test server; `None`, saying so, when chromedriver is not installed.
    async fn with_server() -> Option<(Browser, TestServer)> {
        let Some(browser) = Browser::start().await else {
            println!(
                "note: chromedriver is not installed (apt-get install chromium chromium-driver): skipped"
            );
            return None;
        };
        Some((browser, TestServer::start_tls().await))
    }

    /// Loads each of `pages` (path, screenshot name) in a phone-sized window: none may scroll
    /// sideways (wide tables scroll in place).
    async fn on_a_phone(&self, base: &str, pages: &[(&str, &str)]) {
        self.call(reqwest::Method::POST, "/window/rect", json!({"width": 390, "height": 844})).await;
        for (page, name) in pages {
            self.go(&format!("{base}{page}")).await;
            let script = json!({"script": "return document.documentElement.scrollWidth - document.documentElement.clientWidth", "args": []});
            let overflow = self.call(reqwest::Method::POST, "/execute/sync", script).await;
            assert!(overflow.as_i64().unwrap() <= 0, "{name} scrolls sideways by {overflow}px");
            self.screenshot(name).await;
        }
        self.call(reqwest::Method::POST, "/window/rect", json!({"width": 1280, "height": 900})).await;
    }

    /// Waits until the page's source contains `text` (its answer may still be loading).
    async fn says(&self, text: &str) -> bool {
        within_15s(async || self.source().await.contains(text)).await
    }

    /// Waits until the page has an element `css` (a click's navigation may still be under way).
    async fn shows(&self, css: &str) -> bool {
        within_15s(async || self.has(css).await).await
    }
}

/// Polls `check` every 100 ms until it holds (true) or 15 s have passed (false).
async fn within_15s(check: impl AsyncFn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// The text of the element `css` on the page.
async fn text(browser: &Browser, css: &str) -> String {
    let element = browser.find(css).await;
    browser
        .call(reqwest::Method::GET, &format!("/element/{element}/text"), Value::Null)
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_administrator_opens_an_acme_contract_rotates_its_key_and_follows_the_webhook_in_a_real_browser() {
    let Some((browser, s)) = Browser::with_server().await else { return };
    s.console_login(s.fx.admin_user, ApiKeyRole::Inherit);
    let base = s.base.clone();
    browser.sign_in(&base, "admin@acme.test").await;

    // Open a contract: the HMAC key is on the answer, once.
    browser.go(&format!("{base}/console/contracts")).await;
    browser.click("#product option[value='ssl_dv_geotrust']").await;
    browser.type_into("#names", "browser.alpha.com\nwww.browser.alpha.com").await;
    browser.click("#years option[value='2']").await;
    browser.click("form.card button[type=submit]").await;
    assert!(browser.shows("#eab-hmac").await, "{}", browser.source().await);
    let (kid, hmac) = (text(&browser, "#eab-kid").await, text(&browser, "#eab-hmac").await);
    assert_eq!((kid.len(), hmac.len()), (43, 43));
    browser.screenshot("contract-key").await;
    browser.go(&format!("{base}/console/contracts")).await;
    let page = browser.source().await;
    assert!(page.contains(&kid) && page.contains("browser.alpha.com") && !page.contains(&hmac), "{page}");
    let contract = s.store.contracts(s.fx.account).unwrap().into_iter().last().unwrap();
    assert_eq!(contract.sans, ["browser.alpha.com", "www.browser.alpha.com"]);

    // Regenerate it: a new key id and HMAC key, the old key id gone from the list.
    browser.click(&format!("form[action='/console/contracts/{}/regenerate'] button", contract.id)).await;
    assert!(
        browser.reached("/regenerate").await && browser.shows("#eab-hmac").await,
        "{}",
        browser.source().await
    );
    let (new_kid, new_hmac) = (text(&browser, "#eab-kid").await, text(&browser, "#eab-hmac").await);
    assert!(new_kid != kid && new_hmac != hmac);
    browser.go(&format!("{base}/console/contracts")).await;
    let page = browser.source().await;
    assert!(page.contains(&new_kid) && !page.contains(&kid) && !page.contains(&new_hmac), "{page}");
    browser.screenshot("contracts-admin").await;

    // A webhook at an HTTPS receiver hears of an issuance; the console follows the delivery.
    let r = common::receiver::Receiver::start(&s).await;
    s.vouch_domain(s.fx.account, "hooks.test");
    s.active_webhook(&r, &["certificate_issued"], json!({})).await;
    let placed = s.order("browser.hooks.test", false).await;
    browser.go(&format!("{base}/console/orders/{}", placed["id"])).await;
    browser.click("button[value='approve']").await;
    assert!(browser.reached("?done=approved").await, "{}", browser.source().await);
    browser.go(&format!("{base}/console/webhook")).await;
    assert!(browser.source().await.contains(">pending<"), "{}", browser.source().await);
    assert_eq!(certkeep_server::webhook::deliver_due(&s.state).await.unwrap(), 1);
    browser.go(&format!("{base}/console/webhook")).await;
    let page = browser.source().await;
    assert!(
        page.contains(">delivered<") && page.contains("certificate_issued") && page.contains(&r.url),
        "{page}"
    );
    assert_eq!(r.accepted("certificate_issued").len(), 1);
    browser.screenshot("webhook").await;
    browser
        .on_a_phone(
            &base,
            &[("/console/contracts", "contracts-phone"), ("/console/webhook", "webhook-phone")],
        )
        .await;

    // View only: the list without forms, and a form forged with the session's own token is
    // refused.
    browser.click("form.who button").await;
    assert!(browser.reached("/console/sign-in").await);
    s.console_login(s.fx.admin_user, ApiKeyRole::ViewOnly);
    browser.sign_in(&base, "admin@acme.test").await;
    browser.go(&format!("{base}/console/contracts")).await;
    assert!(browser.source().await.contains(&new_kid));
    assert!(!browser.has("form[action^='/console/contracts']").await, "{}", browser.source().await);
    browser.screenshot("contracts-view-only").await;
    let forge = "const f = document.createElement('form'); f.method = 'post'; f.action = '/console/contracts'; \
        for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['product', 'ssl_dv_geotrust'], \
        ['names', 'forged.alpha.com'], ['years', '1']]) { const i = document.createElement('input'); i.name = k; \
        i.value = v; f.appendChild(i); } document.body.appendChild(f); f.submit();";
    browser.call(reqwest::Method::POST, "/execute/sync", json!({"script": forge, "args": []})).await;
    assert!(browser.says("view only: it cannot change anything").await, "{}", browser.source().await);
    assert_eq!(s.store.contracts(s.fx.account).unwrap().len(), 1, "nothing was opened");
    browser.call(reqwest::Method::DELETE, "", Value::Null).await;
}
