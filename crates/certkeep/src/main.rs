//! `certkeep`: a self-hosted certificate authority and certificate inventory.

mod config;
mod demo;
mod report;
mod setup;
mod tls;

use std::{path::PathBuf, sync::Arc};

use certkeep_core::lifecycle::DomainPolicy;
use certkeep_core::{ApiKeyRole, Clock, FixedClock, SystemClock};
use certkeep_server::{
    AppState, Authority, PkiUrls, RateLimiter, ServerCertificate, email_notice::EmailNotices,
    webhook::Webhooks,
};
use clap::{Args, Parser, Subcommand};
use config::{CaSettings, CommonFlags, CommonSettings, LogFormat, ServeFlags, ServeSettings, Tls};
use serde::{Deserialize, Serialize};
use setup::{InitOptions, Layout};
use time::{Duration, OffsetDateTime};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the CA, the database and an administrator; prints the administrator's API key once.
    Init(InitArgs),
    /// Serve every front door (CertCentral, Partner and NCP APIs, ACME, PKI, health checks).
    Serve(Box<ServeArgs>),
    /// Create or revoke NCP (NAVER Cloud) access keys.
    #[command(subcommand)]
    NcpKey(NcpKeyCommand),
    /// Operator tools for domains.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Users' console sign-in.
    #[command(subcommand)]
    User(UserCommand),
    /// Create a data directory holding a demo inventory of really-issued orders (for
    /// benchmarks); `serve --demo --data-dir DIR` serves it.
    Generate(GenerateArgs),
    /// Bring the database to the newest schema and exit (`serve` and `init` also do this).
    Migrate(CommonFlags),
    /// Database tools.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print the audit log (every change and every refused write), newest first.
    Audit(AuditArgs),
    /// Reports read from the store.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Replace `sealing.key` with a new key, re-sealing every sealed secret (NCP secret keys,
    /// EAB HMAC keys, registered private keys) in one transaction. Stop every server first.
    RotateSealingKey(CommonFlags),
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    common: CommonFlags,
    /// Only events at or after this RFC 3339 instant.
    #[arg(long)]
    since: Option<String>,
    /// Events to print at most.
    #[arg(long, default_value_t = 100)]
    limit: u64,
    /// Only this account's events (default: all, and refusals that named no account).
    #[arg(long)]
    account_id: Option<i64>,
    /// One JSON object per event instead of aligned columns.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Issued orders whose certificates expire within --days days, soonest first.
    Expiring(ExpiringArgs),
}

#[derive(Args)]
struct ExpiringArgs {
    #[command(flatten)]
    common: CommonFlags,
    /// Days ahead.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Only this account's orders (default: every tenant's).
    #[arg(long)]
    account_id: Option<i64>,
    /// The report's "now" (RFC 3339), instead of the system clock.
    #[arg(long, env = "CERTKEEP_FIXED_TIME")]
    fixed_time: Option<String>,
    /// One JSON object per order.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// CSV with a header line.
    #[arg(long)]
    csv: bool,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy a whole inventory into an empty database (e.g. SQLite to PostgreSQL), ids unchanged,
    /// then compare every table's row count and checksum on both sides.
    Copy {
        /// The database to copy (`sqlite:///path/certkeep.db` or `postgres://...`).
        #[arg(long)]
        from: String,
        /// The empty database to fill (created and migrated as needed).
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum NcpKeyCommand {
    /// Create an access key / secret key pair for an account; prints both once.
    Create {
        #[command(flatten)]
        common: CommonFlags,
        /// The account whose inventory the key sees.
        #[arg(long)]
        account_id: i64,
    },
    /// Revoke an access key.
    Revoke {
        #[command(flatten)]
        common: CommonFlags,
        /// The access key to revoke.
        access_key: String,
    },
}

#[derive(Subcommand)]
enum DomainCommand {
    /// Vouch for a domain of a private deployment: it counts as validated for the account
    /// (for the DCV reuse period in force) without a DCV check. Audited as `domain.vouch`.
    Vouch {
        #[command(flatten)]
        common: CommonFlags,
        /// The account the domain is validated for.
        #[arg(long)]
        account_id: i64,
        /// The domain (certificates may then name it and, unless it is a file-validated
        /// name, its subdomains).
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Set a user's console password (read from stdin, or asked for twice on a terminal; never
    /// a flag), replacing any earlier one and ending the sessions it opened.
    SetPassword {
        #[command(flatten)]
        common: CommonFlags,
        /// The user's id.
        #[arg(long)]
        user_id: i64,
        /// The sign-in may look at everything the user sees but change nothing.
        #[arg(long)]
        view_only: bool,
    },
}

#[derive(Args)]
struct InitArgs {
    #[command(flatten)]
    common: CommonFlags,
    /// Name of the first account.
    #[arg(long, default_value = "certkeep")]
    account_name: String,
    /// E-mail of the first administrator.
    #[arg(long, default_value = "admin@example.com")]
    admin_email: String,
}

#[derive(Args)]
struct GenerateArgs {
    #[command(flatten)]
    common: CommonFlags,
    /// Number of orders in the main account.
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Seed of the generator: the same seed gives the same inventory (but for serial numbers).
    #[arg(long, default_value_t = demo::DEFAULT_SEED)]
    seed: u64,
}

#[derive(Args)]
struct ServeArgs {
    /// Create the CA and a demo inventory on first start (in a temporary directory unless
    /// --data-dir is given) and print the credentials to use it.
    #[arg(long)]
    demo: bool,
    /// Number of orders in the demo inventory.
    #[arg(long, default_value_t = 3000)]
    demo_orders: usize,
    #[command(flatten)]
    settings: ServeFlags,
}

/// Credentials of a demo instance, kept in its data directory so that a restart can print them.
#[derive(Serialize, Deserialize)]
struct DemoCredentials {
    certcentral_api_key: String,
    partner_parent_key: String,
    partner_subaccount_key: String,
    acme_contract_id: i64,
    eab_kid: String,
    eab_hmac_key: String,
    /// Absent in demo directories created before the NCP front door.
    ncp_access_key: Option<String>,
    ncp_secret_key: Option<String>,
    /// Console sign-ins (user name, password); absent in demo directories created before the
    /// console.
    console_admin: Option<(String, String)>,
    console_viewer: Option<(String, String)>,
}

const DEMO_CREDENTIALS: &str = "demo-credentials.toml";

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => run_init(args),
        Command::Serve(args) => run_serve(*args),
        Command::NcpKey(command) => run_ncp_key(command),
        Command::Domain(command) => run_domain(command),
        Command::User(command) => run_user(command),
        Command::Generate(args) => run_generate(args),
        Command::Migrate(common) => run_migrate(common),
        Command::Db(DbCommand::Copy { from, to }) => run_db_copy(&from, &to),
        Command::Audit(args) => run_audit(args),
        Command::Report(ReportCommand::Expiring(args)) => run_report_expiring(args),
        Command::RotateSealingKey(common) => run_rotate_sealing_key(common),
    };
    if let Err(message) = result {
        eprintln!("certkeep: {message}");
        std::process::exit(1);
    }
}

fn run_migrate(common: CommonFlags) -> Result<(), String> {
    let settings = CommonSettings::load(&common)?;
    let url = match settings.database_url.clone() {
        Some(url) => url,
        None => settings.layout()?.database_url,
    };
    certkeep_store::open(&url).map_err(|e| format!("cannot migrate the database: {e}"))?;
    println!("the database is at the newest schema");
    Ok(())
}

fn run_rotate_sealing_key(common: CommonFlags) -> Result<(), String> {
    let layout = CommonSettings::load(&common)?.layout()?;
    if !layout.is_initialized() {
        return Err(format!("{} is not initialized: run `certkeep init` first", layout.data_dir.display()));
    }
    let store = setup::open_store(&layout)?;
    let resealed = setup::rotate_sealing_key(&*store, &layout)?;
    println!("sealing key replaced; {resealed} sealed values re-sealed under it");
    println!("Restart every server (replica) on this database: they still hold the old key.");
    Ok(())
}

fn run_db_copy(from: &str, to: &str) -> Result<(), String> {
    let tables = certkeep_store::copy_database(from, to).map_err(|e| format!("copy failed: {e}"))?;
    for t in &tables {
        println!("{:<22} {:>9} rows  checksum {:016x}", t.table, t.rows, t.checksum);
    }
    println!("copied {} tables; counts and checksums match", tables.len());
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter: tracing_subscriber::filter::Targets = std::env::var("CERTKEEP_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| "info".parse().expect("static filter"));
    use tracing_subscriber::prelude::*;
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Human => {
            registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).init()
        }
        LogFormat::Json => {
            registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).init()
        }
    }
}

fn init_options(
    settings: &CommonSettings,
    now: OffsetDateTime,
    backdate: Duration,
) -> Result<InitOptions<'_>, String> {
    Ok(InitOptions {
        key_algorithm: settings.ca.key_algorithm,
        ca_passphrase: ca_passphrase(&settings.ca)?,
        ca_name: &settings.ca.name,
        ca_country: &settings.ca.country,
        ca_not_before: now - backdate,
        // A configured /pki base goes into the intermediate now; else the first serve adds it.
        root_urls: settings.init_pki_url.as_deref().map(|url| PkiUrls::under(url).root().clone()),
        account_name: "certkeep",
        admin_email: "admin@example.com",
        now,
    })
}

/// The CA passphrase, from the file `--ca-passphrase-file` (or `[ca] passphrase_file`) names;
/// one trailing line break is not part of it.
fn ca_passphrase(ca: &CaSettings) -> Result<Option<Vec<u8>>, String> {
    let Some(path) = &ca.passphrase_file else {
        return Ok(None);
    };
    let mut text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for end in [b'\n', b'\r'] {
        if text.last() == Some(&end) {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(format!("{} holds an empty passphrase", path.display()));
    }
    Ok(Some(text))
}

fn run_init(args: InitArgs) -> Result<(), String> {
    let settings = CommonSettings::load(&args.common)?;
    init_logging(settings.log_format);
    let layout = settings.layout()?;
    let now = OffsetDateTime::now_utc();
    let options = InitOptions {
        account_name: &args.account_name,
        admin_email: &args.admin_email,
        ..init_options(&settings, now, Duration::hours(1))?
    };
    let (_, ca, admin) = setup::init(&layout, &options)?;
    println!("Initialized {}", layout.data_dir.display());
    println!("  CA:                {} ({})", ca.intermediate_common_name(), ca.key_algorithm());
    println!("  root certificate:  {}", layout.ca_dir().join("root.crt.pem").display());
    println!("  account:           {} (id {})", args.account_name, admin.account_id);
    println!("  X-DC-DEVKEY:       {}", admin.api_key);
    println!("Keep the API key: it is stored only as a hash and is not shown again.");
    Ok(())
}

fn run_generate(args: GenerateArgs) -> Result<(), String> {
    let settings = CommonSettings::load(&args.common)?;
    init_logging(settings.log_format);
    let layout = settings.layout()?;
    let demo = Demo { orders: args.orders, seed: args.seed, progress: true };
    // Certificates name their CRL and OCSP URLs under the demo's default /pki listener (the
    // listen port + 1); generate with CERTKEEP_PKI_URL set to where else it will be served.
    let pki_url = std::env::var("CERTKEEP_PKI_URL")
        .unwrap_or_else(|_| format!("http://{}", config::next_port(config::DEFAULT_LISTEN)));
    let urls = PkiUrls::under(&pki_url);
    let credentials = create_demo(&layout, &settings, OffsetDateTime::now_utc(), &demo, &urls)?;
    println!("Generated {}", layout.data_dir.display());
    println!("  orders:            {}", args.orders);
    println!("  X-DC-DEVKEY:       {}", credentials.certcentral_api_key);
    println!("  serve it with:     certkeep serve --demo --data-dir {}", layout.data_dir.display());
    Ok(())
}

fn run_serve(args: ServeArgs) -> Result<(), String> {
    let mut settings = ServeSettings::load(&args.settings, args.demo)?;
    init_logging(settings.common.log_format);
    let clock: Arc<dyn Clock> = match settings.fixed_time {
        Some(t) => Arc::new(FixedClock(t)),
        None => Arc::new(SystemClock),
    };

    // A demo without a data directory lives in a temporary one, removed on exit.
    let mut _temporary = None;
    if settings.common.data_dir.is_none() && args.demo {
        let dir = tempfile::Builder::new().prefix("certkeep-demo-").tempdir().map_err(|e| e.to_string())?;
        settings.common.data_dir = Some(dir.path().to_owned());
        _temporary = Some(dir);
    }
    let layout = settings.common.layout()?;

    // Bound first: the public URL (placed in certificates for CRL and OCSP) may need the port.
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let listen = settings.listen;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(listen))
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if settings.tls == Tls::Off { "http" } else { "https" };
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("{scheme}://{addr}"));
    // A listener of its own for one part of the service, when configured.
    let bind_for = |at: Option<std::net::SocketAddr>, what: &str| {
        at.map(|at| {
            runtime
                .block_on(tokio::net::TcpListener::bind(at))
                .map_err(|e| format!("cannot listen on {at} for {what}: {e}"))
        })
        .transpose()
    };
    let pki_listener = bind_for(settings.pki_listen, "/pki")?;
    let pki_addr = pki_listener.as_ref().map(|l| l.local_addr()).transpose().map_err(|e| e.to_string())?;
    let metrics_listener = bind_for(settings.metrics_listen, "/metrics")?;
    let pki_url = settings
        .pki_url
        .clone()
        .or_else(|| pki_addr.map(|a| format!("http://{a}")))
        .unwrap_or_else(|| public_url.clone());
    let urls = PkiUrls::under(&pki_url);

    let demo = if args.demo {
        Some(demo_instance(&layout, args.demo_orders, &settings.common, clock.now(), &urls)?)
    } else if layout.is_initialized() {
        None
    } else {
        return Err(format!(
            "{} is not initialized: run `certkeep init --data-dir {0}` first (or serve --demo)",
            layout.data_dir.display()
        ));
    };
    let store = setup::open_store(&layout)?;
    let sealing_key = setup::sealing_key(&layout)?;
    setup::seal_clear_secrets(&*store, &sealing_key)?;
    let ca =
        setup::load_ca(&layout, ca_passphrase(&settings.common.ca)?.as_deref(), urls.root(), clock.now())?;
    // Replicas on one PostgreSQL database count requests together; a SQLite file has one
    // process, which counts in memory.
    let rate_limits = settings.rate_limits;
    let rate_limiter = Arc::new(if layout.database_url.starts_with("sqlite://") {
        RateLimiter::new(rate_limits)
    } else {
        RateLimiter::shared(rate_limits, store.clone())
    });
    let authority = Arc::new(Authority::new(ca, urls));
    let https = tls_certificate(&settings.tls, &layout, &public_url, &authority)?;
    let metrics = certkeep_server::metrics::Metrics::watching(&*store);
    let state = AppState {
        store,
        clock,
        authority: authority.clone(),
        rate_limiter,
        domains: settings.domains,
        issuance: settings.issuance,
        public_url: public_url.clone(),
        sealing_key: Arc::new(sealing_key),
        ncp_time_zone: settings.ncp_time_zone,
        acme: settings.acme,
        refusal_budget: Default::default(),
        key_cache: Default::default(),
        metrics,
        metrics_token: settings.metrics_token.clone(),
        webhooks: Arc::new(Webhooks::new(settings.webhooks, authority.ca().root_pem())?),
        email: settings.email.map(|e| Arc::new(EmailNotices::new(e))),
    };
    let state_url = public_url;
    let limits = settings.limits;

    runtime.block_on(async move {
        let shutdown = shutdown_signal().map_err(|e| format!("signal handlers: {e}"))?;
        let trust_all = state.domains == DomainPolicy::TrustAll;
        let tls = https.is_some();
        print_banner(
            &state_url,
            pki_addr.map(|_| pki_url.as_str()),
            &layout,
            demo.as_ref(),
            (tls, trust_all),
        );
        tracing::info!(%addr, https = https.is_some(), "serving");
        if let Some(pki) = pki_listener {
            // Ends with the process: a CRL or OCSP fetch holds nothing to finish.
            tokio::spawn(certkeep_server::serve_with(
                pki,
                certkeep_server::pki_app(state.clone()),
                limits,
                std::future::pending(),
            ));
        }
        if let Some(operator) = metrics_listener {
            if let Ok(at) = operator.local_addr() {
                tracing::info!(%at, "serving /metrics");
            }
            tokio::spawn(certkeep_server::serve_with(
                operator,
                certkeep_server::metrics_app(state.clone()),
                limits,
                std::future::pending(),
            ));
        }
        tokio::spawn(certkeep_server::acme::resume_cut_off_validations(state.clone()));
        tokio::spawn(certkeep_server::webhook::deliver_forever(state.clone()));
        tokio::spawn(certkeep_server::email_notice::send_forever(state.clone()));
        tokio::spawn(certkeep_server::expiry_notice::notice_forever(
            state.clone(),
            settings.notices.interval,
        ));
        let app = certkeep_server::app(state);
        match https {
            None => certkeep_server::serve_with(listener, app, limits, shutdown).await,
            Some((certificate, own)) => {
                if let Some(own) = own {
                    tokio::spawn(tls::renew_forever(own, authority, certificate.clone()));
                }
                let config = certificate.server_config()?;
                certkeep_server::serve_tls(listener, config, app, limits, shutdown).await
            }
        }
        .map_err(|e| e.to_string())?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// The certificate HTTPS is served with, and what renews it when it is certkeep's own.
type Https = (Arc<ServerCertificate>, Option<tls::OwnCertificate>);

/// The HTTPS certificate: the configured files, or certkeep's own (with what renews it); `None`
/// for plain HTTP.
fn tls_certificate(
    tls: &Tls,
    layout: &Layout,
    public_url: &str,
    authority: &Authority,
) -> Result<Option<Https>, String> {
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    match tls {
        Tls::Off => Ok(None),
        Tls::Files { cert, key } => {
            let certificate = ServerCertificate::from_pem(&read(cert)?, &read(key)?)
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            Ok(Some((Arc::new(certificate), None)))
        }
        Tls::Own { hosts } => {
            let hosts = hosts.clone().unwrap_or_else(|| tls::default_hosts(public_url));
            let own = tls::OwnCertificate::new(&layout.data_dir.join("tls"), &hosts)?;
            let (chain, key, _) = own.current(authority, OffsetDateTime::now_utc())?;
            Ok(Some((Arc::new(ServerCertificate::from_pem(&chain, &key)?), Some(own))))
        }
    }
}

/// Initializes and fills a demo data directory on first use; reads its credentials after.
fn demo_instance(
    layout: &Layout,
    orders: usize,
    settings: &CommonSettings,
    now: OffsetDateTime,
    urls: &PkiUrls,
) -> Result<DemoCredentials, String> {
    let path = layout.data_dir.join(DEMO_CREDENTIALS);
    if layout.is_initialized() {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{} holds no demo credentials ({e}); it was not created by serve --demo",
                layout.data_dir.display()
            )
        })?;
        return toml::from_str(&text).map_err(|e| format!("invalid {}: {e}", path.display()));
    }
    let demo = Demo { orders, seed: demo::DEFAULT_SEED, progress: false };
    create_demo(layout, settings, now, &demo, urls)
}

/// The size and shape of a demo inventory.
struct Demo {
    orders: usize,
    seed: u64,
    /// Show a progress line on stderr.
    progress: bool,
}

/// Creates a data directory with a CA and a demo inventory, and stores its credentials.
fn create_demo(
    layout: &Layout,
    settings: &CommonSettings,
    now: OffsetDateTime,
    demo: &Demo,
    urls: &PkiUrls,
) -> Result<DemoCredentials, String> {
    let started = std::time::Instant::now();
    // The demo CA predates the oldest demo order so that every chain nests.
    let options = InitOptions {
        account_name: "Example Corp",
        root_urls: Some(urls.root().clone()),
        ..init_options(settings, now, Duration::days(3 * 365 + 30))?
    };
    let (store, ca, admin) = setup::init(layout, &options)?;
    let progress = demo.progress.then(demo::Progress::start);
    demo::populate(&*store, (&ca, urls), &admin, now, demo.orders, demo.seed, progress)?;
    let sealing_key = setup::sealing_key(layout)?;
    let partner = demo::populate_partner(&*store, &sealing_key, &admin, now)?;
    let (ncp_access_key, ncp_secret_key) =
        setup::create_ncp_key(&*store, &sealing_key, admin.account_id, now)?;
    let console = demo::console_logins(&*store, &admin, now)?;
    let credentials = DemoCredentials {
        certcentral_api_key: admin.api_key,
        partner_parent_key: partner.parent_key,
        partner_subaccount_key: partner.subaccount_key,
        acme_contract_id: partner.contract_id,
        eab_kid: partner.eab_kid,
        eab_hmac_key: partner.eab_hmac,
        ncp_access_key: Some(ncp_access_key),
        ncp_secret_key: Some(ncp_secret_key),
        console_admin: Some((console.admin_username, console.admin_password)),
        console_viewer: Some((console.viewer_username, console.viewer_password)),
    };
    let path = layout.data_dir.join(DEMO_CREDENTIALS);
    setup::write_private(&path, &toml::to_string(&credentials).map_err(|e| e.to_string())?)?;
    tracing::info!(orders = demo.orders, seconds = started.elapsed().as_secs_f32(), "demo inventory created");
    Ok(credentials)
}

/// Prints where to point tools. Written in one piece, and a closed stdout (a supervisor that
/// stopped reading) is not an error worth stopping the server for.
fn print_banner(
    public_url: &str,
    pki_url: Option<&str>,
    layout: &Layout,
    demo: Option<&DemoCredentials>,
    (tls, trust_all): (bool, bool),
) {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let base = public_url.trim_end_matches('/');
    let mut b = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(b, "  {:<26} {value}", format!("{label}:"));
    };
    line("base URL", base);
    line("CertCentral API", &format!("{base}/services/v2"));
    line("Partner API", &format!("{base}/partner-subscription/api/v1"));
    line("ACME directory", &format!("{base}/acme/directory"));
    line("NCP API", &format!("{base}/api/v2/certificate/getPaidCertificates"));
    let pki = pki_url.unwrap_or(base).trim_end_matches('/');
    line("CRL / OCSP", &format!("{pki}/pki/crl  {pki}/pki/ocsp"));
    match demo {
        Some(c) => {
            line("X-DC-DEVKEY", &c.certcentral_api_key);
            line("X-PARTNER-APIKEY (parent)", &c.partner_parent_key);
            line("X-PARTNER-APIKEY (sub)", &c.partner_subaccount_key);
            line("ACME contract", &c.acme_contract_id.to_string());
            line("EAB key id", &c.eab_kid);
            line("EAB HMAC key", &c.eab_hmac_key);
            if let Some((access, secret)) = c.ncp_access_key.as_ref().zip(c.ncp_secret_key.as_ref()) {
                line("NCP access key", access);
                line("NCP secret key", secret);
            }
            if let Some((user, password)) = &c.console_admin {
                line("console", &format!("{base}/console"));
                line("console user", &format!("{user}  password {password}"));
            }
            if let Some((user, password)) = &c.console_viewer {
                line("console view-only user", &format!("{user}  password {password}"));
            }
        }
        None => {
            line("X-DC-DEVKEY", "the key printed by `certkeep init`");
            line("console", &format!("{base}/console (certkeep user set-password --user-id N)"));
        }
    }
    line("CA chain", &layout.ca_dir().display().to_string());
    if tls {
        line("HTTPS trust root", &layout.ca_dir().join("root.crt.pem").display().to_string());
    }
    line("data directory", &layout.data_dir.display().to_string());
    if trust_all {
        line(
            "domain validation",
            "trust-all: every name is issued unchecked (--domain-validation validated checks DCV)",
        );
    }
    let banner = format!("certkeep is serving\n{b}");
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
}

fn run_ncp_key(command: NcpKeyCommand) -> Result<(), String> {
    let common = match &command {
        NcpKeyCommand::Create { common, .. } | NcpKeyCommand::Revoke { common, .. } => common,
    };
    let layout = CommonSettings::load(common)?.layout()?;
    if !layout.is_initialized() {
        return Err(format!("{} is not initialized: run `certkeep init` first", layout.data_dir.display()));
    }
    let store = setup::open_store(&layout)?;
    let now = OffsetDateTime::now_utc();
    match command {
        NcpKeyCommand::Create { account_id, .. } => {
            let (access, secret) =
                setup::create_ncp_key(&*store, &setup::sealing_key(&layout)?, account_id, now)?;
            println!("NCP key created for account {account_id}");
            println!("  x-ncp-iam-access-key:  {access}");
            println!("  secret key:            {secret}");
            println!("Keep the secret key: it is not shown again.");
        }
        NcpKeyCommand::Revoke { access_key, .. } => {
            if !store.revoke_ncp_key(&access_key, now).map_err(|e| e.to_string())? {
                return Err(format!("no active NCP access key {access_key:?}"));
            }
            println!("NCP access key {access_key} revoked");
        }
    }
    Ok(())
}

fn run_domain(command: DomainCommand) -> Result<(), String> {
    let DomainCommand::Vouch { common, account_id, name } = command;
    let settings = CommonSettings::load(&common)?;
    let layout = settings.layout()?;
    if !layout.is_initialized() {
        return Err(format!("{} is not initialized: run `certkeep init` first", layout.data_dir.display()));
    }
    let store = setup::open_store(&layout)?;
    let now = OffsetDateTime::now_utc();
    let domain = certkeep_core::lifecycle::vouch_domain(
        &*store,
        now,
        settings.vouch_test_names,
        account_id,
        &name,
        "cli",
    )
    .map_err(|e| e.to_string())?;
    let until = certkeep_core::dcv::validation_expires(now, now)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    println!("domain {} (id {}) is validated for account {account_id} until {until}", domain.name, domain.id);
    Ok(())
}

fn run_user(command: UserCommand) -> Result<(), String> {
    use std::io::{BufRead, IsTerminal};
    let UserCommand::SetPassword { common, user_id, view_only } = command;
    let layout = CommonSettings::load(&common)?.layout()?;
    if !layout.is_initialized() {
        return Err(format!("{} is not initialized: run `certkeep init` first", layout.data_dir.display()));
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New console password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("The same again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read stdin: {e}"))?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    let store = setup::open_store(&layout)?;
    let role = if view_only { ApiKeyRole::ViewOnly } else { ApiKeyRole::Inherit };
    setup::set_console_password(&*store, user_id, &password, role, OffsetDateTime::now_utc())?;
    println!(
        "console password set for user {user_id} ({}); sign in at /console/sign-in",
        if view_only { "view only" } else { "full access" }
    );
    Ok(())
}

fn run_audit(args: AuditArgs) -> Result<(), String> {
    let layout = CommonSettings::load(&args.common)?.layout()?;
    if !layout.is_initialized() {
        return Err(format!("{} is not initialized: run `certkeep init` first", layout.data_dir.display()));
    }
    let since = args.since.as_deref().map(config::instant).transpose()?;
    let query = certkeep_core::audit::AuditQuery { since, offset: 0, limit: args.limit };
    let page =
        setup::open_store(&layout)?.audit_events(args.account_id, &query).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    for record in &page.records {
        let e = &record.event;
        let at = e.at.format(&time::format_description::well_known::Rfc3339).map_err(|e| e.to_string())?;
        let line = if args.json {
            serde_json::json!({
                "id": record.id, "date": at, "account_id": e.account_id, "user_id": e.user_id,
                "api_key_id": e.api_key_id, "action": e.action, "object": e.object, "detail": e.detail,
                "outcome": if e.refused { "refused" } else { "success" }, "ip_address": e.source,
            })
            .to_string()
        } else {
            let id = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            format!(
                "{:>8} {at} {:<7} account={} user={} key={} from={} {} {} {}",
                record.id,
                if e.refused { "REFUSED" } else { "ok" },
                id(e.account_id),
                id(e.user_id),
                id(e.api_key_id),
                e.source,
                e.action,
                e.object,
                e.detail
            )
        };
        use std::io::Write as _;
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    if !args.json && page.total > page.records.len() as u64 {
        eprintln!("({} of {} events; --limit for more)", page.records.len(), page.total);
    }
    Ok(())
}

fn run_report_expiring(args: ExpiringArgs) -> Result<(), String> {
    let layout = CommonSettings::load(&args.common)?.layout()?;
    if !layout.is_initialized() {
        return Err(format!("{} is not initialized: run `certkeep init` first", layout.data_dir.display()));
    }
    let now = match args.fixed_time.as_deref() {
        Some(t) => config::instant(t)?,
        None => time::OffsetDateTime::now_utc(),
    };
    let format = match (args.json, args.csv) {
        (true, _) => report::Format::Json,
        (_, true) => report::Format::Csv,
        _ => report::Format::Table,
    };
    let store = setup::open_store(&layout)?;
    report::expiring(&*store, now, args.days, args.account_id, format, &mut std::io::stdout().lock())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed by this call, before the banner
/// tells anyone the server is up, so a signal right after it still stops gracefully.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut interrupt, mut terminate) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
