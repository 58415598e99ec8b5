//! The `certkeep` binary as users run it: init, serve, serve --demo, configuration, shutdown.

use std::{os::unix::fs::PermissionsExt, path::Path, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const BIN: &str = env!("CARGO_BIN_EXE_certkeep");

/// A running `certkeep serve` and what its banner said.
struct Served {
    child: Child,
    base: String,
    key: Option<String>,
    /// The NCP access key and secret key a demo prints.
    ncp: Option<(String, String)>,
}

async fn serve(args: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .envs(envs.iter().copied())
        .env("CERTKEEP_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut key, mut ncp_access, mut ncp_secret) = (None, None, None, None);
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(v) = line.trim().strip_prefix("base URL:") {
                base = Some(v.trim().to_owned());
            }
            if let Some(v) = line.trim().strip_prefix("X-DC-DEVKEY:") {
                key = Some(v.trim().to_owned()).filter(|k| k.len() == 48);
            }
            if let Some(v) = line.trim().strip_prefix("NCP access key:") {
                ncp_access = Some(v.trim().to_owned());
            }
            if let Some(v) = line.trim().strip_prefix("NCP secret key:") {
                ncp_secret = Some(v.trim().to_owned());
            }
            if line.contains("data directory:") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read).await.expect("banner in time");
    Served { child, base: base.expect("base URL in banner"), key, ncp: ncp_access.zip(ncp_secret) }
}

async fn list_total(base: &str, key: &str) -> u64 {
    let resp = reqwest::Client::new()
        .get(format!("{base}/services/v2/order/certificate?limit=1"))
        .header("X-DC-DEVKEY", key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    v["page"]["total"].as_u64().unwrap()
}

async fn terminate(mut served: Served) {
    let pid = served.child.id().unwrap() as i32;
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), served.child.wait())
        .await
        .expect("exit in time")
        .unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn demo_serves_a_real_inventory_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let served =
        serve(&["--demo", "--demo-orders", "300", "--listen", "127.0.0.1:0", "--data-dir", data], &[]).await;
    let key = served.key.clone().expect("demo prints its key");
    // The admin sees the 300 demo orders; the second tenant's 20 stay invisible.
    assert_eq!(list_total(&served.base, &key).await, 300);
    assert_eq!(mode(&Path::new(data).join("ca/intermediate.key.pem")), 0o600);
    assert_eq!(mode(&Path::new(data).join("demo-credentials.toml")), 0o600);
    terminate(served).await;

    let again = serve(&["--demo", "--listen", "127.0.0.1:0", "--data-dir", data], &[]).await;
    assert_eq!(again.key.as_deref(), Some(key.as_str()));
    assert_eq!(list_total(&again.base, &key).await, 300);
    terminate(again).await;
}

#[tokio::test]
async fn init_prints_a_working_key_once_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("prod");
    let data = data.to_str().unwrap();

    let out = std::process::Command::new(BIN).args(["serve", "--data-dir", data]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not initialized"));

    let out = std::process::Command::new(BIN)
        .args(["init", "--data-dir", data, "--ca-key-algorithm", "rsa-2048", "--account-name", "Prod"])
        .env("CERTKEEP_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(rsa-2048)"), "{stdout}");
    let key = stdout.lines().find_map(|l| l.trim().strip_prefix("X-DC-DEVKEY:")).unwrap().trim().to_owned();
    assert_eq!(mode(Path::new(data)), 0o700);
    for f in ["root.key.pem", "intermediate.key.pem"] {
        assert_eq!(mode(&Path::new(data).join("ca").join(f)), 0o600, "{f}");
    }

    let out = std::process::Command::new(BIN).args(["init", "--data-dir", data]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already initialized"));

    // Configuration file, with the environment overriding it.
    let config = dir.path().join("certkeep.toml");
    std::fs::write(&config, format!("data_dir = {data:?}\nlisten = \"127.0.0.1:1\"\n")).unwrap();
    let served = serve(
        &["--config", config.to_str().unwrap()],
        &[("CERTKEEP_LISTEN", "127.0.0.1:0"), ("CERTKEEP_RATE_LIMIT", "1000/60")],
    )
    .await;
    assert!(served.key.is_none(), "a production instance never prints a key again");
    assert_eq!(list_total(&served.base, &key).await, 0);
    let resp = reqwest::get(format!("{}/healthz", served.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    terminate(served).await;
}

#[tokio::test]
async fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "lisen = \"x\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid configuration"));
    let out = std::process::Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--rate-limit",
            "lots",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REQUESTS/SECONDS"));
}

/// Runs an NCP shell example of `examples/ncp` (curl + openssl, signed as NCP's samples do)
/// with the key pair in its environment, and parses its output.
fn run_ncp_example(script: &str, args: &[&str], (access, secret): (&str, &str)) -> serde_json::Value {
    let path = format!("{}/../../examples/ncp/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(path)
        .args(args)
        .env("NCP_ACCESS_KEY", access)
        .env("NCP_SECRET_KEY", secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `get-paid-certificates.sh BASE QUERY`.
fn ncp_script(base: &str, key: (&str, &str), query: &str) -> serde_json::Value {
    run_ncp_example("get-paid-certificates.sh", &[base, query], key)
}

/// The value after `label` on a line of `text`.
fn field(text: &str, label: &str) -> String {
    text.lines().find_map(|l| l.trim().strip_prefix(label)).map(|v| v.trim().to_owned()).unwrap()
}

#[tokio::test]
async fn ncp_keys_from_the_demo_and_the_cli_work_with_ncps_shell_signer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let args = ["--demo", "--demo-orders", "40", "--listen", "127.0.0.1:0", "--data-dir", data];
    let served = serve(&[&args[..], &["--ncp-time-zone", "+00:00"]].concat(), &[]).await;
    let (access, secret) = served.ncp.clone().expect("the demo prints an NCP key pair");
    let v = ncp_script(&served.base, (&access, &secret), "page=1&pageSize=5");
    assert_eq!(v["returnCode"], "0", "{v}");
    assert!(v["totalCount"].as_u64().unwrap() > 0);
    let orders = v["orders"].as_array().unwrap();
    assert!(!orders.is_empty() && orders.len() <= 5);
    assert!(orders[0]["certificates"][0]["registDate"].as_str().unwrap().ends_with("(UTC+00:00)"));

    // The secret is sealed: never in the database in clear; the key file is private.
    assert_eq!(mode(&Path::new(data).join("sealing.key")), 0o600);
    assert!(
        std::fs::read_to_string(Path::new(data).join("demo-credentials.toml")).unwrap().contains(&secret)
    );
    for file in ["certkeep.db", "certkeep.db-wal"] {
        let bytes = std::fs::read(Path::new(data).join(file)).unwrap_or_default();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{file}");
    }

    let cli = |args: &[&str]| std::process::Command::new(BIN).arg("ncp-key").args(args).output().unwrap();
    let out = cli(&["create", "--data-dir", data, "--account-id", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (access2, secret2) = (field(&stdout, "x-ncp-iam-access-key:"), field(&stdout, "secret key:"));
    assert_eq!(ncp_script(&served.base, (&access2, &secret2), "")["returnCode"], "0");

    let out = cli(&["revoke", "--data-dir", data, &access2]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let refused = ncp_script(&served.base, (&access2, &secret2), "");
    assert_eq!(refused["error"]["details"], "Invalid authentication information.");
    assert_eq!(ncp_script(&served.base, (&access, &secret), "")["returnCode"], "0", "other keys still work");
    let out = cli(&["revoke", "--data-dir", data, &access2]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no active NCP access key"));
    let out = cli(&["create", "--data-dir", data, "--account-id", "999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no account 999"));
    terminate(served).await;
}

/// `ncp-call.sh METHOD URI BODY BASE`.
fn ncp_call(base: &str, key: (&str, &str), method: &str, uri: &str, body: &str) -> serde_json::Value {
    run_ncp_example("ncp-call.sh", &[method, uri, body, base], key)
}

#[tokio::test]
async fn an_openssl_csr_is_issued_and_its_key_registered_through_ncps_shell_signer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args =
        ["--demo", "--demo-orders", "5", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()];
    let served = serve(&args, &[]).await;
    let key = served.ncp.clone().expect("the demo prints an NCP key pair");
    let (key_file, csr_file) = (dir.path().join("key.pem"), dir.path().join("csr.pem"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .args(["-subj", "/CN=shell.example", "-addext", "subjectAltName=DNS:shell.example"])
        .arg("-keyout")
        .arg(&key_file)
        .arg("-out")
        .arg(&csr_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csr = std::fs::read_to_string(&csr_file).unwrap();
    let body = serde_json::json!({"csr": csr, "certificateType": "NCP_PAID_DV_01", "commonName": "shell.example",
                                  "certificateName": "shell-01"});
    let uri = "/api/v2/certificate/requestPaidCertificateIssuance";
    let v = ncp_call(&served.base, (&key.0, &key.1), "POST", uri, &body.to_string());
    assert_eq!(v["returnCode"], "0", "{v}");
    let number = v["certificates"][0]["certificateNo"].as_i64().unwrap();
    assert_eq!(v["certificates"][0]["statusName"], "Normal");

    let private_key = std::fs::read_to_string(&key_file).unwrap();
    let body = serde_json::json!({"certificateNo": number, "privateKey": private_key});
    let v = ncp_call(
        &served.base,
        (&key.0, &key.1),
        "POST",
        "/api/v2/certificate/registPrivateKey",
        &body.to_string(),
    );
    assert_eq!(v["returnCode"], "0", "{v}");
    let v = ncp_call(
        &served.base,
        (&key.0, &key.1),
        "GET",
        "/api/v2/certificate/certificates?certificateName=shell-01",
        "",
    );
    assert_eq!(v["sslCertificateList"][0]["certificateNo"], number, "{v}");
    terminate(served).await;
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--demo-orders", "30", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(&data)
        .env("CERTKEEP_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut secrets = Vec::new();
    let mut base = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let line = line.trim().to_owned();
        if let Some(v) = line.strip_prefix("base URL:") {
            base = v.trim().to_owned();
        }
        for label in ["X-DC-DEVKEY:", "(parent):", "(sub):", "EAB HMAC key:", "NCP secret key:"] {
            if let Some((_, v)) = line.split_once(label) {
                secrets.push(v.trim().to_owned());
            }
        }
        if line.starts_with("data directory:") {
            break;
        }
    }
    assert_eq!(secrets.len(), 5, "{secrets:?}");
    let client = reqwest::Client::new();
    // Good and bad credentials, in headers and in a query string.
    for key in [&secrets[0], &"WRONG".to_owned()] {
        let _ = client
            .get(format!("{base}/services/v2/order/certificate?limit=1&filters[search]=%25{key}"))
            .header("X-DC-DEVKEY", key.as_str())
            .send()
            .await
            .unwrap();
    }
    let _ = client
        .get(format!("{base}/partner-subscription/api/v1/account/reporting"))
        .header("X-PARTNER-APIKEY", secrets[1].as_str())
        .send()
        .await
        .unwrap();
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(
        logs.contains("\"path\":\"/services/v2/order/certificate\""),
        "debug request logs are on: {logs}"
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
    // Nor the database, in clear, for the keys it only needs to recognise.
    let db = std::fs::read(data.join("certkeep.db")).unwrap();
    let wal = std::fs::read(data.join("certkeep.db-wal")).unwrap_or_default();
    for secret in [&secrets[0], &secrets[1], &secrets[2]] {
        let needle = secret.as_bytes();
        assert!(!db.windows(needle.len()).any(|w| w == needle), "API key stored in clear");
        assert!(!wal.windows(needle.len()).any(|w| w == needle), "API key stored in clear");
    }
}
