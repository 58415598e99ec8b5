//! The server under test: the real `certkeep` binary, started on a generated data directory.

use std::{
    ffi::OsStr,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A new, empty database (named after `purpose`) on the PostgreSQL server `server` (a URL or
/// connection string) for one suite, dropped with this value, on errors too; or, without a
/// server, nothing: SQLite in the data directory.
pub struct Database {
    /// The server and the database's name, when on PostgreSQL.
    scratch: Option<(String, String)>,
    /// The `serve`/`generate` options that name it.
    pub options: Vec<String>,
}

impl Database {
    /// Creates the database (see [`Database`]).
    pub fn create(server: Option<&str>, purpose: &str) -> Result<Self, String> {
        let Some(server) = server else { return Ok(Self { scratch: None, options: Vec::new() }) };
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("bench_{purpose}_{}_{nanos}", std::process::id());
        let url = certkeep_store::create_database(server, &name)
            .map_err(|e| format!("cannot create the database {name}: {e}"))?;
        Ok(Self { scratch: Some((server.to_owned(), name)), options: vec!["--database-url".into(), url] })
    }

    /// Keeps the database on the server after this value is dropped (an inventory that its data
    /// directory goes on naming).
    pub fn keep(mut self) {
        self.scratch = None;
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((server, name)) = self.scratch.take()
            && let Err(e) = certkeep_store::drop_database(&server, &name)
        {
            eprintln!("cannot drop the database {name}: {e}");
        }
    }
}

/// Creates `data_dir` with `orders` orders by running `certkeep generate`; returns how long it
/// took. With `options` naming a PostgreSQL database, the orders are generated into SQLite and
/// moved there with `certkeep db copy` (several times faster than generating on PostgreSQL, one
/// round trip per statement), and the SQLite file is removed.
pub async fn generate(
    bin: &Path,
    data_dir: &Path,
    orders: usize,
    options: &[String],
) -> Result<Duration, String> {
    let started = Instant::now();
    run(
        bin,
        "generate",
        &["generate".into(), "--data-dir".into(), path(data_dir), "--orders".into(), orders.to_string()],
    )
    .await?;
    if let Some(url) = options.get(1) {
        let sqlite = data_dir.join("certkeep.db");
        run(
            bin,
            "db copy",
            &[
                "db".into(),
                "copy".into(),
                "--from".into(),
                format!("sqlite://{}", path(&sqlite)),
                "--to".into(),
                url.clone(),
            ],
        )
        .await?;
        for file in ["certkeep.db", "certkeep.db-wal", "certkeep.db-shm"] {
            let _ = std::fs::remove_file(data_dir.join(file));
        }
    }
    Ok(started.elapsed())
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Runs `certkeep` with `args`, its output discarded; fails unless it succeeds.
async fn run(bin: &Path, what: &str, args: &[String]) -> Result<(), String> {
    let status = Command::new(bin)
        .args(args)
        .env("CERTKEEP_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .await
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !status.success() {
        return Err(format!("certkeep {what} failed: {status}"));
    }
    Ok(())
}

/// A running `certkeep serve`, stopped when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Serves `data_dir` (made by `certkeep generate`) with `serve` options (a fresh `data_dir`
    /// becomes a demo) on a free local port.
    pub async fn start<S: AsRef<OsStr>>(
        bin: &Path,
        data_dir: &Path,
        options: impl IntoIterator<Item = S>,
    ) -> Result<Self, String> {
        let mut child = Command::new(bin)
            // Plain HTTP: the figures are the read path's, not TLS's.
            .args(["serve", "--demo", "--plain-http", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(options)
            .env("CERTKEEP_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (found, address) = tokio::sync::oneshot::channel();
        // Reads the banner for the address, then drains stdout so that the server never
        // writes into a closed pipe.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.trim().strip_prefix("base URL:") {
                    let addr = url.trim().trim_start_matches("http://");
                    if let Some(found) = found.take() {
                        let _ = found
                            .send(addr.parse::<SocketAddr>().map_err(|e| format!("bad address {addr}: {e}")));
                    }
                }
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(120), address)
            .await
            .map_err(|_| "no banner within 120 s".to_owned())?
            .map_err(|_| "the server exited before printing its address".to_owned())??;
        Ok(Self { child, addr })
    }

    fn pid(&self) -> Result<u32, String> {
        self.child.id().ok_or_else(|| "the server has exited".to_owned())
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        cpu_seconds(&format!("/proc/{}/stat", self.pid()?))
    }

    /// Restarts the peak-RSS count (`VmHWM`) from the current RSS.
    pub fn reset_peak_rss(&self) -> Result<(), String> {
        let path = format!("/proc/{}/clear_refs", self.pid()?);
        std::fs::write(&path, "5").map_err(|e| format!("cannot write {path}: {e}"))
    }

    /// The peak resident set size since start or the last reset, in bytes.
    pub fn peak_rss(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid()?);
        let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .ok_or_else(|| format!("no VmHWM in {path}"))
    }
}

/// CPU seconds (user + system) of the process whose `/proc/.../stat` is `path` (`/proc/self/stat`
/// for this one).
pub fn cpu_seconds(path: &str) -> Result<f64, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).ok_or(format!("bad {path}"));
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 ticks/s.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}
