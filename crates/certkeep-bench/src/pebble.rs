//! Pebble, Let's Encrypt's ACME test server (Debian package `pebble`), as the peer of the ACME
//! scenario: always-valid, no validation sleep, no nonce rejection. Debian's package ships no
//! test certificate, so its HTTPS certificate (for 127.0.0.1) is made here, by a throwaway CA
//! the clients trust.

use std::{
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use tokio::process::{Child, Command};

use crate::server::cpu_seconds;

/// A running Pebble, stopped when dropped.
pub struct Pebble {
    child: Child,
    /// The directory URL.
    pub directory: String,
    /// The root (DER) that signed its HTTPS certificate.
    pub root: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// Whether `pebble` can be run.
pub fn available(bin: &Path) -> bool {
    std::process::Command::new(bin).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A CA and a certificate for 127.0.0.1 signed by it: (root DER, certificate PEM, key PEM).
fn https_certificate() -> Result<(Vec<u8>, String, String), String> {
    let e = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = ca.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(e)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).map_err(e)?;
    leaf.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    let cert = leaf.signed_by(&key, &issuer).map_err(e)?;
    Ok((root.der().to_vec(), cert.pem(), key.serialize_pem()))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Pebble {
    /// Starts `bin` on a free local port and waits until it accepts connections.
    pub async fn start(bin: &Path) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (root, cert_pem, key_pem) = https_certificate()?;
        write(&dir.path().join("cert.pem"), &cert_pem)?;
        write(&dir.path().join("key.pem"), &key_pem)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let config = serde_json::json!({"pebble": {
            "listenAddress": addr.to_string(),
            "managementListenAddress": format!("127.0.0.1:{}", free_port()?),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": 5002,
            "tlsPort": 5001,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let config_path = dir.path().join("pebble-config.json");
        write(&config_path, &config.to_string())?;
        let child = Command::new(bin)
            .arg("-config")
            .arg(&config_path)
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("pebble did not listen within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self { child, directory: format!("https://{addr}/dir"), root, _dir: dir })
    }

    /// CPU seconds (user + system) Pebble has used so far.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        let pid = self.child.id().ok_or("pebble has exited")?;
        cpu_seconds(&format!("/proc/{pid}/stat"))
    }
}
