//! A real SMTP relay for tests: aiosmtpd (PyPI) writing each message it takes to a maildir,
//! and the messages read back. Also included by the binary's tests (`#[path]`).

#![allow(dead_code)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Whether aiosmtpd can run here; says why not when it cannot.
pub fn aiosmtpd_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipped: aiosmtpd is not importable (python3 -m pip install aiosmtpd)");
    }
    found
}

/// A port nothing listens on (just now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One message the relay took: its headers (unfolded) and body.
#[derive(Debug, Clone)]
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or("", |(_, v)| v.as_str())
    }
}

/// aiosmtpd on 127.0.0.1:`port`, its Mailbox handler writing what it takes to a maildir.
pub struct Relay {
    child: Child,
    maildir: tempfile::TempDir,
}

impl Relay {
    pub async fn start(port: u16) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let mail = maildir.path().join("mail");
        // Killed and waited for on drop, a failed start included.
        let relay = Self {
            child: Command::new("python3")
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &format!("127.0.0.1:{port}"),
                    "-c",
                    "aiosmtpd.handlers.Mailbox",
                ])
                .arg(mail)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
            maildir,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return relay;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on {port}");
    }

    /// Every message taken so far.
    pub fn all(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail/new")) else { return vec![] };
        entries.map(|e| parse(&std::fs::read_to_string(e.unwrap().path()).unwrap())).collect()
    }

    /// The messages about `common_name`.
    pub fn about(&self, common_name: &str) -> Vec<Mail> {
        let wanted = format!("Certificate {common_name} ");
        self.all().into_iter().filter(|m| m.header("Subject").starts_with(&wanted)).collect()
    }

    /// Waits until `count` messages about `common_name` arrived (at most 20 s).
    pub async fn wait_for(&self, common_name: &str, count: usize) -> Vec<Mail> {
        for _ in 0..400 {
            let got = self.about(common_name);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{count} notices about {common_name}: the relay took {:#?}", self.all());
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(text: &str) -> Mail {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        match (line.starts_with([' ', '\t']), headers.last_mut()) {
            (true, Some((_, value))) => value.push_str(line),
            _ => {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }
    Mail { headers, body: body.to_owned() }
}
