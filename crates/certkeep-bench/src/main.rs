//! `certkeep-bench`: measures certkeep over real HTTP, next to the goals of issues 8 and 16.
//!
//! Suites (`--suite`, all by default):
//! - `read`: generates an inventory with `certkeep generate` (unless the data directory holds
//!   one), starts `certkeep serve` on it, drives it with a closed-loop load generator and prints
//!   throughput, p50/p99 latency and the server's peak RSS per scenario;
//! - `issuance`: CertCentral orders with `skip_approval` against a P-256 and an RSA-2048 CA,
//!   next to the raw signing rate of the same key, and P-256 again with an active webhook
//!   hearing of every issuance ([`issuance`], [`webhook_sink`]);
//! - `acme`: full ACME issuances per second with 1, 10 and 50 clients, certkeep next to Pebble
//!   ([`acme`], [`pebble`]).
//!
//! Smoke run: `--orders 2000 --duration 0.2 --warmup 0 --csv-runs 1`.

mod acme;
mod issuance;
mod load;
mod pebble;
mod server;
mod webhook_sink;

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use clap::Parser;
use load::{Load, Measured, Target};
use serde_json::Value;
use server::Server;
use time::{OffsetDateTime, macros::format_description};

#[derive(Parser)]
#[command(about)]
struct Cli {
    /// Data directory of the inventory; created with `--orders` orders when it holds none.
    #[arg(long)]
    data_dir: PathBuf,
    /// Orders to generate when the data directory is empty.
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// The `certkeep` binary (default: the one next to this program).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before each scenario.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Connections of the list and order-info scenarios.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Whole-inventory CSV exports to time.
    #[arg(long, default_value_t = 3)]
    csv_runs: usize,
    /// Run only the scenarios whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Suites to run: read, issuance, acme.
    #[arg(long, value_delimiter = ',', default_value = "read,issuance,acme")]
    suite: Vec<Suite>,
    /// Requests in flight in the issuance suite.
    #[arg(long, default_value_t = 8)]
    issue_concurrency: usize,
    /// Client counts of the ACME suite.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    acme_clients: Vec<usize>,
    /// The Pebble binary the ACME suite compares with (skipped, saying so, when missing).
    #[arg(long, default_value = "pebble")]
    pebble: PathBuf,
    /// A PostgreSQL server (`postgres://user@host` or `host=/run/postgresql user=postgres`) to
    /// run every suite on: each makes its own database there. Default: SQLite files.
    #[arg(long)]
    database_url: Option<String>,
}

/// The file of a data directory generated on PostgreSQL that names its database.
const DATABASE_URL_FILE: &str = "database-url";

impl Cli {
    /// The engine the suites run on, for the tables' headers.
    fn engine(&self) -> &'static str {
        if self.database_url.is_some() { "PostgreSQL" } else { "SQLite" }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Suite {
    Read,
    Issuance,
    Acme,
}

/// What issue 8 asks of a scenario.
#[derive(Clone, Copy)]
enum Goal {
    /// p99 under this many milliseconds.
    P99(f64),
    /// p99 under this many milliseconds and at least this many requests per second.
    P99AndRate(f64, f64),
    /// Under this many seconds per export and this many MiB of peak RSS.
    Export(f64, f64),
}

impl Goal {
    fn describe(self) -> String {
        match self {
            Goal::P99(ms) => format!("p99 < {ms} ms"),
            Goal::P99AndRate(ms, rate) => format!("p99 < {ms} ms, >= {rate} req/s"),
            Goal::Export(s, mib) => format!("< {s} s, RSS < {mib} MiB"),
        }
    }

    fn met(self, m: &Measured, peak_mib: f64) -> bool {
        let p99 = m.percentile(99).as_secs_f64() * 1e3;
        match self {
            Goal::P99(ms) => p99 < ms,
            Goal::P99AndRate(ms, rate) => p99 < ms && m.throughput() >= rate,
            Goal::Export(s, mib) => p99 < s * 1e3 && peak_mib < mib,
        }
    }
}

struct Scenario {
    name: String,
    targets: Vec<Target>,
    concurrency: usize,
    goal: Goal,
    /// Measured requests at most (the CSV export).
    max_requests: Option<usize>,
}

const ORDERS: &str = "/services/v2/order/certificate";

fn list(query: &str) -> Target {
    Target::get(format!("{ORDERS}?{query}"))
}

/// What the scenarios pick their ids, fingerprints and search terms from.
struct Sample {
    total: u64,
    ids: Vec<i64>,
    thumbprints: Vec<String>,
    serials: Vec<String>,
    container: i64,
    /// `.brand123.com`: a registrable domain with its dot, found in a few dozen orders.
    rare_terms: Vec<String>,
}

/// A value of the demo's `demo-credentials.toml` in `data_dir`.
fn credential(data_dir: &Path, name: &str) -> Result<String, String> {
    let path = data_dir.join("demo-credentials.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let prefix = format!("{name} = ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map(|k| k.trim().trim_matches('"').to_owned())
        .ok_or_else(|| format!("no {name} in {}", path.display()))
}

async fn json(server: &Server, key: &str, path: &str) -> Result<Value, String> {
    let (status, body) = load::get(server.addr, key, path).await?;
    if status != 200 {
        return Err(format!("GET {path}: {status} {}", String::from_utf8_lossy(&body)));
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// Reads ten pages of 1000 orders spread over the inventory.
async fn sample(server: &Server, key: &str) -> Result<Sample, String> {
    let first = json(server, key, &format!("{ORDERS}?limit=1")).await?;
    let total = first["page"]["total"].as_u64().ok_or("no page.total")?;
    let mut orders = Vec::new();
    for k in 0..10 {
        let page = json(server, key, &format!("{ORDERS}?limit=1000&offset={}", total * k / 10)).await?;
        orders.extend(page["orders"].as_array().cloned().unwrap_or_default());
    }
    let text = |o: &Value, field: &str| o["certificate"][field].as_str().map(str::to_owned);
    let mut containers: HashMap<i64, usize> = HashMap::new();
    for o in &orders {
        *containers.entry(o["container"]["id"].as_i64().unwrap_or_default()).or_default() += 1;
    }
    // The least populated container: a team's view of the inventory.
    let container = containers.iter().min_by_key(|(_, n)| **n).map(|(id, _)| *id).ok_or("no orders")?;
    let rare_terms: BTreeSet<String> = orders
        .iter()
        .filter_map(|o| text(o, "common_name"))
        .filter_map(|cn| cn.split_once('.').map(|(_, domain)| format!(".{domain}")))
        .take(200)
        .collect();
    Ok(Sample {
        total,
        ids: orders.iter().filter_map(|o| o["id"].as_i64()).collect(),
        thumbprints: orders.iter().filter_map(|o| text(o, "thumbprint")).collect(),
        serials: orders.iter().filter_map(|o| text(o, "serial_number")).collect(),
        container,
        rare_terms: rare_terms.into_iter().collect(),
    })
}

fn scenarios(s: &Sample, concurrency: usize, csv_runs: usize) -> Vec<Scenario> {
    let ymd = format_description!("[year]-[month]-[day]");
    let today = OffsetDateTime::now_utc();
    let in_30_days = (today + time::Duration::days(30)).format(ymd).unwrap_or_default();
    let today = today.format(ymd).unwrap_or_default();
    let deep = s.total * 9 / 10;
    let pages = |query: &dyn Fn(u64) -> String| (0..10).map(|p| list(&query(p * 100))).collect::<Vec<_>>();
    let info =
        |keys: &[String]| keys.iter().take(5000).map(|k| Target::get(format!("{ORDERS}/{k}"))).collect();
    let list_goal = Goal::P99(10.0);
    let search_goal = Goal::P99(20.0);
    let info_goal = Goal::P99AndRate(10.0, 10_000.0);
    let scenario = |name: &str, targets: Vec<Target>, goal: Goal| Scenario {
        name: name.to_owned(),
        targets,
        concurrency,
        goal,
        max_requests: None,
    };
    vec![
        scenario("list, first 10 pages of 100", pages(&|o| format!("limit=100&offset={o}")), list_goal),
        scenario(
            "list, status=issued",
            pages(&|o| format!("filters%5Bstatus%5D=issued&limit=100&offset={o}")),
            list_goal,
        ),
        scenario(
            "list, status=pending",
            pages(&|o| format!("filters%5Bstatus%5D=pending&limit=100&offset={o}")),
            list_goal,
        ),
        scenario(
            "list, container_id (one team)",
            pages(&|o| format!("filters%5Bcontainer_id%5D={}&limit=100&offset={o}", s.container)),
            list_goal,
        ),
        scenario(
            "list, valid_till next 30 days",
            pages(&|o| format!("filters%5Bvalid_till%5D={today}...{in_30_days}&limit=100&offset={o}")),
            list_goal,
        ),
        scenario(
            "list, sort=-date_created",
            pages(&|o| format!("sort=-date_created&limit=100&offset={o}")),
            list_goal,
        ),
        scenario("list, offset=90% (deep)", pages(&|o| format!("limit=100&offset={}", deep + o)), list_goal),
        scenario(
            "search %25 rare term (.brand123.tld)",
            s.rare_terms.iter().map(|t| list(&format!("filters%5Bsearch%5D=%25{t}&limit=100"))).collect(),
            search_goal,
        ),
        scenario(
            "search %25 frequent 3 chars (vpn)",
            pages(&|o| format!("filters%5Bsearch%5D=%25vpn&limit=100&offset={o}")),
            search_goal,
        ),
        scenario("list, limit=1000", pages(&|o| format!("limit=1000&offset={}", o * 10)), list_goal),
        scenario("order info by id", info(&s.ids.iter().map(i64::to_string).collect::<Vec<_>>()), info_goal),
        scenario("order info by thumbprint", info(&s.thumbprints), info_goal),
        scenario("order info by serial", info(&s.serials), info_goal),
        Scenario {
            name: "CSV export, whole inventory".into(),
            targets: vec![Target { path: ORDERS.into(), csv: true, body: None }],
            concurrency: 1,
            goal: Goal::Export(5.0, 100.0),
            max_requests: Some(csv_runs),
        },
    ]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 { format!("{ms:.0}") } else { format!("{ms:.2}") }
}

async fn run(cli: Cli) -> Result<(), String> {
    let bin = match &cli.bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("certkeep"),
    };
    if cli.suite.contains(&Suite::Read) {
        read_suite(&cli, &bin).await?;
    }
    if cli.suite.contains(&Suite::Issuance) {
        issuance_suite(&cli, &bin).await?;
    }
    if cli.suite.contains(&Suite::Acme) {
        acme_suite(&cli, &bin).await?;
    }
    Ok(())
}

async fn issuance_suite(cli: &Cli, bin: &Path) -> Result<(), String> {
    let (duration, warmup) = (Duration::from_secs_f64(cli.duration), Duration::from_secs_f64(cli.warmup));
    println!();
    println!(
        "Issuance on {}: POST /services/v2/order/certificate/ssl_basic with skip_approval, {} in flight, \
         {} s after {} s of warm-up; load average at start {}",
        cli.engine(),
        cli.issue_concurrency,
        cli.duration,
        cli.warmup,
        load_average()
    );
    println!();
    println!(
        "| CA key | webhook | orders | errors | certificates/s | p50 ms | p99 ms | server CPU (cores) | raw signatures/s, 1 thread | raw signatures/s, all cores | certificates / raw (all cores) | goal | met |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    // P-256 without and with an active webhook side by side: the outbox's cost per issuance.
    for (algorithm, webhook) in [("ecdsa-p256", false), ("ecdsa-p256", true), ("rsa-2048", false)] {
        let r = issuance::run(
            bin,
            cli.database_url.as_deref(),
            algorithm,
            webhook,
            cli.issue_concurrency,
            duration,
            warmup,
        )
        .await?;
        let rate = r.measured.throughput();
        let goal = (algorithm == "ecdsa-p256").then_some(3000.0);
        println!(
            "| {algorithm} | {} | {} | {} | {rate:.0} | {} | {} | {:.2} | {:.0} | {:.0} ({} threads) | {:.3} | {} | {} |",
            r.events.map_or("off".into(), |(delivered, issued)| format!(
                "on: {delivered} of {issued} events delivered"
            )),
            r.measured.latencies.len(),
            r.measured.errors,
            ms(r.measured.percentile(50)),
            ms(r.measured.percentile(99)),
            r.server_cores,
            r.signs_one_thread,
            r.signs_all_threads,
            r.threads,
            rate / r.signs_all_threads.max(1e-9),
            goal.map_or("-".into(), |g| format!(">= {g} /s")),
            match goal {
                Some(g) if rate >= g => "yes",
                Some(_) => "**no**",
                None => "-",
            },
        );
    }
    Ok(())
}

/// One side of an ACME row: issuances per second, latency, errors, CPU of the server.
fn acme_cells(m: &load::Measured, cores: f64) -> String {
    format!(
        "{:.0} | {} | {} | {} | {cores:.2}",
        m.throughput(),
        ms(m.percentile(50)),
        ms(m.percentile(99)),
        m.errors
    )
}

async fn acme_suite(cli: &Cli, bin: &Path) -> Result<(), String> {
    let (duration, warmup) = (Duration::from_secs_f64(cli.duration), Duration::from_secs_f64(cli.warmup));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    let database = server::Database::create(cli.database_url.as_deref(), "acme")?;
    let options = ["--demo-orders", "0", "--acme-always-valid"];
    let server =
        Server::start(bin, &data, database.options.iter().map(String::as_str).chain(options)).await?;
    // Fresh names per issuance, so that no authorization is reused: a contract of its own on a
    // wildcard product covers them all.
    let partner_key = credential(&data, "partner_subaccount_key")?;
    let (status, body) = load::request(
        server.addr,
        "POST",
        "/partner-subscription/api/v1/acme",
        &[("x-partner-apikey", &partner_key)],
        Some(
            serde_json::json!({"product_name_id": "wildcard_dv_geotrust", "sans": ["*.bench.test"]})
                .to_string(),
        ),
    )
    .await?;
    let created: Value = serde_json::from_slice(&body).unwrap_or_default();
    let eab = &created["eab_set"];
    let (Some(kid), Some(hmac)) = (eab["key_id"].as_str(), eab["hmac_key"].as_str()) else {
        return Err(format!("a contract for *.bench.test: {status} {}", String::from_utf8_lossy(&body)));
    };
    let hmac = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, hmac)
        .map_err(|e| format!("hmac_key: {e}"))?;
    let certkeep = acme::Directory {
        url: format!("http://{}/acme/directory", server.addr),
        eab: Some((kid.to_owned(), hmac)),
        root: None,
        domain: "bench.test".into(),
    };
    let with_pebble = pebble::available(&cli.pebble);
    if !with_pebble {
        println!();
        println!(
            "NOTE: `{}` is not installed (apt-get install pebble): the ACME suite runs without Pebble.",
            cli.pebble.display()
        );
    }
    println!();
    println!(
        "ACME on {}: full issuances (newOrder, authorization, http-01 challenge, finalize, download), \
         always-valid, {} s per row after {} s of warm-up; load average at start {}",
        cli.engine(),
        cli.duration,
        cli.warmup,
        load_average()
    );
    println!();
    println!(
        "| clients | certkeep issuances/s | p50 ms | p99 ms | errors | server CPU (cores) | Pebble issuances/s | p50 ms | p99 ms | errors | Pebble CPU (cores) | certkeep / Pebble | goal | met |"
    );
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    );
    let names = Arc::new(AtomicU64::new(0));
    for &clients in &cli.acme_clients {
        if !warmup.is_zero() {
            acme::run(&certkeep, clients, warmup, &names).await?;
        }
        let before = server.cpu_seconds()?;
        let ours = acme::run(&certkeep, clients, duration, &names).await?;
        let our_cores = (server.cpu_seconds()? - before) / ours.elapsed.as_secs_f64();
        // A fresh Pebble per row: Debian's 2.4.0 stops answering some requests under concurrent
        // load (see BENCHMARKS.md), which must not spill into the next row.
        let theirs = if with_pebble {
            Some(pebble_row(&cli.pebble, clients, duration, warmup, &names).await)
        } else {
            None
        };
        let rate = ours.throughput();
        let (peer, ratio) = match &theirs {
            // A Pebble that issued nothing in the window has no ratio to show.
            Some(Ok((m, cores))) if m.throughput() == 0.0 => (acme_cells(m, *cores), None),
            Some(Ok((m, cores))) => (acme_cells(m, *cores), Some(rate / m.throughput())),
            Some(Err(e)) => (format!("stopped answering ({e}) | - | - | - | -"), None),
            None => ("- | - | - | - | -".into(), None),
        };
        let cpu_ms = if rate > 0.0 { our_cores / rate * 1e3 } else { f64::INFINITY };
        let (goal, met) = acme_goal(clients, rate, ratio, cpu_ms);
        println!(
            "| {clients} | {} | {peer} | {} | {goal} | {} |",
            acme_cells(&ours, our_cores),
            ratio.map_or("-".into(), |r| format!("{r:.1}x")),
            if met { "yes" } else { "**no**" }
        );
    }
    Ok(())
}

/// Issue 16's goal for an ACME row with `clients` (its text, and whether the row meets it): at
/// most 1 ms of server CPU per issuance, and at least twice Pebble's rate at one client, at least
/// 1,000 issuances/s at ten.
fn acme_goal(clients: usize, rate: f64, ratio: Option<f64>, cpu_ms: f64) -> (String, bool) {
    let cpu = cpu_ms <= 1.0;
    match clients {
        1 => ("<= 1 ms CPU, >= 2x Pebble".into(), cpu && ratio.is_some_and(|r| r >= 2.0)),
        10 => ("<= 1 ms CPU, >= 1000 /s".into(), cpu && rate >= 1000.0),
        _ => ("<= 1 ms CPU".into(), cpu),
    }
}

/// Pebble's side of an ACME row, on a fresh Pebble: Debian's 2.4.0 stops answering some
/// requests under concurrent load (see BENCHMARKS.md), which must not spill into the next row.
async fn pebble_row(
    bin: &Path,
    clients: usize,
    duration: Duration,
    warmup: Duration,
    names: &Arc<AtomicU64>,
) -> Result<(load::Measured, f64), String> {
    let p = pebble::Pebble::start(bin).await?;
    let directory = acme::Directory {
        url: p.directory.clone(),
        eab: None,
        root: Some(p.root.clone()),
        domain: "bench.test".into(),
    };
    if !warmup.is_zero() {
        acme::run(&directory, clients, warmup, names).await?;
    }
    let before = p.cpu_seconds()?;
    let m = acme::run(&directory, clients, duration, names).await?;
    let cores = (p.cpu_seconds()? - before) / m.elapsed.as_secs_f64();
    Ok((m, cores))
}

async fn read_suite(cli: &Cli, bin: &Path) -> Result<(), String> {
    let credentials = cli.data_dir.join("demo-credentials.toml");
    let url_file = cli.data_dir.join(DATABASE_URL_FILE);
    if !credentials.exists() {
        eprintln!("generating {} orders in {} on {}", cli.orders, cli.data_dir.display(), cli.engine());
        let database = server::Database::create(cli.database_url.as_deref(), "read")?;
        let took = server::generate(bin, &cli.data_dir, cli.orders, &database.options).await?;
        if let Some(url) = database.options.get(1) {
            std::fs::write(&url_file, url).map_err(|e| format!("{}: {e}", url_file.display()))?;
        }
        // The inventory stays for the next run on this data directory, which names it.
        database.keep();
        println!(
            "Generated {} orders on {} in {:.1} s (load average {})",
            cli.orders,
            cli.engine(),
            took.as_secs_f64(),
            load_average()
        );
    }
    // The inventory stays on the engine it was generated on.
    let database = match std::fs::read_to_string(&url_file) {
        Ok(url) => vec!["--database-url".to_owned(), url.trim().to_owned()],
        Err(_) if cli.database_url.is_some() => {
            return Err(format!(
                "{} holds a SQLite inventory: give --database-url an empty --data-dir",
                cli.data_dir.display()
            ));
        }
        Err(_) => Vec::new(),
    };
    let key = credential(&cli.data_dir, "certcentral_api_key")?;
    let server = Server::start(bin, &cli.data_dir, &database).await?;
    let sample = sample(&server, &key).await?;
    drop(server);
    println!();
    println!(
        "{} orders on {} visible to the admin key; {} s per scenario after {} s of warm-up; load average \
         at start {}",
        sample.total,
        if database.is_empty() { "SQLite" } else { "PostgreSQL" },
        cli.duration,
        cli.warmup,
        load_average()
    );
    println!();
    println!(
        "| scenario | requests | errors | concurrency | req/s | p50 ms | p99 ms | server peak RSS MiB | goal | met |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for s in scenarios(&sample, cli.concurrency, cli.csv_runs) {
        if cli.only.as_ref().is_some_and(|only| !s.name.contains(only.as_str())) {
            continue;
        }
        // A fresh server per scenario: its peak RSS is this scenario's (after the warm-up).
        let server = Server::start(bin, &cli.data_dir, &database).await?;
        let export = s.max_requests.is_some();
        let load = Load {
            concurrency: s.concurrency,
            duration: Duration::from_secs_f64(if export { 3600.0 } else { cli.duration }),
            max_requests: s.max_requests,
        };
        if !export && cli.warmup > 0.0 {
            let warmup = Load { duration: Duration::from_secs_f64(cli.warmup), ..load };
            load::run(server.addr, &key, &s.targets, &warmup).await?;
        }
        server.reset_peak_rss()?;
        let m = load::run(server.addr, &key, &s.targets, &load).await?;
        let peak = server.peak_rss()? as f64 / (1024.0 * 1024.0);
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {} | {peak:.0} | {} | {} |",
            s.name,
            m.latencies.len(),
            m.errors,
            s.concurrency,
            m.throughput(),
            ms(m.percentile(50)),
            ms(m.percentile(99)),
            s.goal.describe(),
            if s.goal.met(&m, peak) { "yes" } else { "**no**" },
        );
        if s.max_requests.is_some() && !m.latencies.is_empty() {
            eprintln!("  CSV: {:.1} MiB per export", m.bytes as f64 / m.latencies.len() as f64 / 1048576.0);
        }
    }
    println!();
    println!("load average at end {}", load_average());
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    // One thread drives the load, so that the server keeps the other cores.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("certkeep-bench: {e}");
        std::process::exit(1);
    }
}
