//! `certkeep`: a self-hosted certificate authority and certificate inventory.

mod config;
mod demo;
mod setup;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use certkeep_core::{Clock, FixedClock, SystemClock};
use certkeep_server::{AppState, RateLimiter};
use clap::{Args, Parser, Subcommand};
use config::{FileConfig, LogFormat};
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
    /// Serve every front door (CertCentral API, health checks).
    Serve(ServeArgs),
    /// Create a data directory holding a demo inventory of really-issued orders (for
    /// benchmarks); `serve --demo --data-dir DIR` serves it.
    Generate(GenerateArgs),
}

#[derive(Args)]
struct CommonArgs {
    /// TOML configuration file.
    #[arg(long, env = "CERTKEEP_CONFIG")]
    config: Option<PathBuf>,
    /// Directory holding the database and the CA.
    #[arg(long, env = "CERTKEEP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (`sqlite:///path/certkeep.db`; default: certkeep.db in the data directory).
    #[arg(long, env = "CERTKEEP_DATABASE_URL")]
    database_url: Option<String>,
    /// Log format.
    #[arg(long, env = "CERTKEEP_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// CA key algorithm: ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096.
    #[arg(long, env = "CERTKEEP_CA_KEY_ALGORITHM")]
    ca_key_algorithm: Option<String>,
}

#[derive(Args)]
struct InitArgs {
    #[command(flatten)]
    common: CommonArgs,
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
    common: CommonArgs,
    /// Number of orders in the main account.
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Seed of the generator: the same seed gives the same inventory (but for serial numbers).
    #[arg(long, default_value_t = demo::DEFAULT_SEED)]
    seed: u64,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on.
    #[arg(long, env = "CERTKEEP_LISTEN")]
    listen: Option<SocketAddr>,
    /// Create the CA and a demo inventory on first start (in a temporary directory unless
    /// --data-dir is given) and print the credentials to use it.
    #[arg(long)]
    demo: bool,
    /// Number of orders in the demo inventory.
    #[arg(long, default_value_t = 3000)]
    demo_orders: usize,
    /// Per-key rate limits, REQUESTS/SECONDS, comma-separated (e.g. DigiCert's `100/5,1000/180`).
    #[arg(long, env = "CERTKEEP_RATE_LIMIT", value_delimiter = ',')]
    rate_limit: Vec<String>,
    /// Freeze the clock at this RFC 3339 instant (days remaining and expiry follow it).
    #[arg(long, env = "CERTKEEP_FIXED_TIME")]
    fixed_time: Option<String>,
}

/// Credentials of a demo instance, kept in its data directory so that a restart can print them.
#[derive(Serialize, Deserialize)]
struct DemoCredentials {
    certcentral_api_key: String,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEMO_CREDENTIALS: &str = "demo-credentials.toml";

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => run_init(args),
        Command::Serve(args) => run_serve(args),
        Command::Generate(args) => run_generate(args),
    };
    if let Err(message) = result {
        eprintln!("certkeep: {message}");
        std::process::exit(1);
    }
}

fn file_config(common: &CommonArgs) -> Result<FileConfig, String> {
    common.config.as_deref().map(config::read_file).transpose().map(Option::unwrap_or_default)
}

fn layout(common: &CommonArgs, file: &FileConfig, data_dir: Option<PathBuf>) -> Result<Layout, String> {
    let data_dir = data_dir
        .ok_or("no data directory: give --data-dir (or CERTKEEP_DATA_DIR, or data_dir in the config)")?;
    let database = match common.database_url.as_ref().or(file.database_url.as_ref()) {
        Some(url) => config::sqlite_path(url)?,
        None => data_dir.join("certkeep.db"),
    };
    Ok(Layout { data_dir, database })
}

fn init_logging(common: &CommonArgs, file: &FileConfig) {
    let format = common.log_format.or(file.log_format).unwrap_or_default();
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

fn init_options<'a>(
    common: &CommonArgs,
    file: &'a FileConfig,
    now: OffsetDateTime,
    backdate: Duration,
) -> Result<InitOptions<'a>, String> {
    let algorithm =
        common.ca_key_algorithm.as_deref().or(file.ca.key_algorithm.as_deref()).unwrap_or("ecdsa-p256");
    Ok(InitOptions {
        key_algorithm: config::key_algorithm(algorithm)?,
        ca_name: file.ca.name.as_deref().unwrap_or("certkeep"),
        ca_not_before: now - backdate,
        account_name: "certkeep",
        admin_email: "admin@example.com",
        now,
    })
}

fn run_init(args: InitArgs) -> Result<(), String> {
    let file = file_config(&args.common)?;
    init_logging(&args.common, &file);
    let layout = layout(&args.common, &file, args.common.data_dir.clone().or(file.data_dir.clone()))?;
    let now = OffsetDateTime::now_utc();
    let options = InitOptions {
        account_name: &args.account_name,
        admin_email: &args.admin_email,
        ..init_options(&args.common, &file, now, Duration::hours(1))?
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
    let file = file_config(&args.common)?;
    init_logging(&args.common, &file);
    let layout = layout(&args.common, &file, args.common.data_dir.clone().or(file.data_dir.clone()))?;
    let demo = Demo { orders: args.orders, seed: args.seed, progress: true };
    let credentials = create_demo(&layout, &args.common, &file, OffsetDateTime::now_utc(), &demo)?;
    println!("Generated {}", layout.data_dir.display());
    println!("  orders:            {}", args.orders);
    println!("  X-DC-DEVKEY:       {}", credentials.certcentral_api_key);
    println!("  serve it with:     certkeep serve --demo --data-dir {}", layout.data_dir.display());
    Ok(())
}

fn run_serve(args: ServeArgs) -> Result<(), String> {
    let file = file_config(&args.common)?;
    init_logging(&args.common, &file);
    let fixed = args.fixed_time.as_deref().or(file.fixed_time.as_deref()).map(config::instant).transpose()?;
    let clock: Arc<dyn Clock> = match fixed {
        Some(t) => Arc::new(FixedClock(t)),
        None => Arc::new(SystemClock),
    };
    let rate_limits = if args.rate_limit.is_empty() {
        config::rate_limits(&file.rate_limits)?
    } else {
        config::rate_limits(&args.rate_limit)?
    };
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().expect("static address"),
    };

    // A demo without a data directory lives in a temporary one, removed on exit.
    let mut _temporary = None;
    let data_dir = match args.common.data_dir.clone().or(file.data_dir.clone()) {
        Some(dir) => Some(dir),
        None if args.demo => {
            let dir =
                tempfile::Builder::new().prefix("certkeep-demo-").tempdir().map_err(|e| e.to_string())?;
            let path = dir.path().to_owned();
            _temporary = Some(dir);
            Some(path)
        }
        None => None,
    };
    let layout = layout(&args.common, &file, data_dir)?;

    let demo = if args.demo {
        Some(demo_instance(&layout, &args, &file, clock.now())?)
    } else if layout.is_initialized() {
        None
    } else {
        return Err(format!(
            "{} is not initialized: run `certkeep init --data-dir {0}` first (or serve --demo)",
            layout.data_dir.display()
        ));
    };
    let store = Arc::new(setup::open_store(&layout)?);
    let ca = setup::load_ca(&layout)?;
    let state = AppState {
        store,
        clock,
        ca: setup::ca_info(&ca),
        rate_limiter: Arc::new(RateLimiter::new(rate_limits)),
    };

    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        print_banner(addr, &layout, demo.as_ref());
        tracing::info!(%addr, "serving");
        certkeep_server::serve(listener, certkeep_server::app(state), shutdown_signal())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Initializes and fills a demo data directory on first use; reads its credentials after.
fn demo_instance(
    layout: &Layout,
    args: &ServeArgs,
    file: &FileConfig,
    now: OffsetDateTime,
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
    let demo = Demo { orders: args.demo_orders, seed: demo::DEFAULT_SEED, progress: false };
    create_demo(layout, &args.common, file, now, &demo)
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
    common: &CommonArgs,
    file: &FileConfig,
    now: OffsetDateTime,
    demo: &Demo,
) -> Result<DemoCredentials, String> {
    let started = std::time::Instant::now();
    // The demo CA predates the oldest demo order so that every chain nests.
    let options = InitOptions {
        account_name: "Example Corp",
        ..init_options(common, file, now, Duration::days(3 * 365 + 30))?
    };
    let (store, ca, admin) = setup::init(layout, &options)?;
    let progress = demo.progress.then(demo::Progress::start);
    demo::populate(&store, &ca, &admin, now, demo.orders, demo.seed, progress)?;
    let credentials = DemoCredentials { certcentral_api_key: admin.api_key };
    let path = layout.data_dir.join(DEMO_CREDENTIALS);
    setup::write_private(&path, &toml::to_string(&credentials).map_err(|e| e.to_string())?)?;
    tracing::info!(orders = demo.orders, seconds = started.elapsed().as_secs_f32(), "demo inventory created");
    Ok(credentials)
}

fn print_banner(addr: SocketAddr, layout: &Layout, demo: Option<&DemoCredentials>) {
    let base = format!("http://{addr}");
    println!("certkeep is serving");
    println!("  base URL:          {base}");
    println!("  CertCentral API:   {base}/services/v2");
    match demo {
        Some(c) => println!("  X-DC-DEVKEY:       {}", c.certcentral_api_key),
        None => println!("  X-DC-DEVKEY:       the key printed by `certkeep init`"),
    }
    println!("  CA chain:          {}", layout.ca_dir().display());
    println!("  data directory:    {}", layout.data_dir.display());
    println!("  try: curl -H 'X-DC-DEVKEY: <key>' {base}/services/v2/order/certificate?limit=5");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
