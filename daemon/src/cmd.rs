//! The `elevated` command line: run, `check-config`, `explain`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Loaded;
use crate::sys::users;

/// elevated: just-in-time privilege elevation daemon.
#[derive(Debug, Parser)]
#[command(name = "elevated", version, about)]
pub struct Args {
    /// Settings file (default /etc/elevated/elevated.toml; built-in
    /// defaults when that does not exist).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do; without a command the daemon runs in the foreground.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Validate settings, policy, host and user files, like `visudo -c`.
    CheckConfig,
    /// Show what policy decides for a user and role, without touching the
    /// host: exit 0 allowed, 1 denied, 2 not answered (bad option, unknown
    /// user, configuration that does not load).
    Explain {
        /// The user.
        #[arg(long)]
        user: String,
        /// The role.
        #[arg(long)]
        role: String,
        /// The time to decide at: RFC 3339 (2026-11-24T10:00:00Z) or a
        /// duration meaning that long ago (2h, 1day), as `elevate audit
        /// --since` takes; default now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The window asked for (e.g. 30m; default the role's).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// A session fact as logind would report it (`session=remote`,
        /// `service=sshd`, `tty=pts/0`, `rhost=10.0.0.1`); repeatable. Other
        /// keys are refused.
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
    },
    /// End every grant now: revoke active grants, cancel pending requests,
    /// remove every drop-in and take back every group membership the daemon
    /// added. Run with the daemon stopped; the package's removal scripts
    /// call it. Only the settings file is read (a broken policy cannot stop
    /// it).
    RevokeAll {
        /// Recorded in every audit row.
        #[arg(long, default_value = "revoked by the administrator")]
        reason: String,
    },
    /// Print the manual page (roff) on stdout, for packagers.
    #[command(hide = true)]
    Man,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Cmd::Man) = args.command {
        return man();
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("ELEVATED_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match args.command {
        None => run_daemon(args.config),
        Some(Cmd::CheckConfig) => check_config(args.config),
        Some(Cmd::Man) => man(),
        Some(Cmd::RevokeAll { reason }) => revoke_all(args.config, &reason),
        Some(Cmd::Explain {
            user,
            role,
            at,
            duration,
            context,
        }) => crate::explain::explain(
            &crate::explain::Query {
                user,
                role,
                at,
                duration,
                context,
            },
            || load(args.config).ok(),
        ),
    }
}

/// `elevated man`: the manual page, section 8, on stdout.
fn man() -> ExitCode {
    use clap::CommandFactory;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match crate::manpage::render(Args::command())
        .and_then(|page| out.write_all(&page))
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("elevated man: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_daemon(config: Option<PathBuf>) -> ExitCode {
    // While this is the only thread: the runtime's threads may read the
    // environment at any time once they run.
    let systemd = crate::sys::systemd::Environment::take();
    if let Err(e) = crate::fault::init() {
        eprintln!("elevated: {e}");
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("elevated: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(crate::daemon::run(config, systemd)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("elevated: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the whole configuration, printing every error on stderr.
fn load(config: Option<PathBuf>) -> Result<Loaded, ExitCode> {
    Loaded::load(config.as_deref(), &crate::sys::hostname()).map_err(|errs| {
        for e in &errs.0 {
            eprintln!("{e}");
        }
        // Only reading was done: saying "nothing was changed" would
        // suggest that something could have been.
        let n = errs.0.len();
        eprintln!(
            "elevated: the configuration has {n} error{}",
            if n == 1 { "" } else { "s" }
        );
        ExitCode::FAILURE
    })
}

fn check_config(config: Option<PathBuf>) -> ExitCode {
    let cfg = match load(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let from = cfg
        .config_path
        .as_ref()
        .map_or("built-in defaults".to_owned(), |p| p.display().to_string());
    println!(
        "elevated: configuration OK (settings: {from}; policy: {} roles, {} rules from {}; host {})",
        cfg.policy.roles.len(),
        cfg.policy.rules().len(),
        cfg.settings.daemon.policy_dir.display(),
        cfg.host.name
    );
    let groups_of = |u: &str| users::by_name(u).ok().map(|a| a.groups);
    let warnings = crate::config::warnings::missing_dirs(&cfg)
        .into_iter()
        .chain(crate::config::warnings::self_approval(&cfg, groups_of));
    for w in warnings {
        eprintln!("elevated: warning: {w}");
    }
    ExitCode::SUCCESS
}

/// `elevated revoke-all`: see [`Cmd::RevokeAll`].
fn revoke_all(config: Option<PathBuf>, reason: &str) -> ExitCode {
    let (settings, config_path) = match crate::config::settings::Settings::load(config.as_deref()) {
        Ok(s) => s,
        Err(errs) => {
            for e in &errs.0 {
                eprintln!("{e}");
            }
            eprintln!("elevated revoke-all: the settings do not load; nothing was changed");
            return ExitCode::FAILURE;
        }
    };
    let db = settings.daemon.state_dir.join("elevated.db");
    if !db.exists() {
        println!(
            "elevated: no state database at {}: nothing to revoke",
            db.display()
        );
        return ExitCode::SUCCESS;
    }
    let store = match crate::store::Store::open(&db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("elevated revoke-all: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = Loaded::settings_only(settings, config_path, &crate::sys::hostname());
    let engine = std::sync::Arc::new(crate::engine::Engine::new(store, std::sync::Arc::new(cfg)));
    engine.attach();
    let result = engine.revoke_all("root", reason, engine.now());
    // Set-gid files and processes of the ended group grants are dealt with
    // before the command returns (and the package's files go).
    engine.wait_for_sweeps();
    match result {
        Ok(r) => {
            println!(
                "elevated: {} grant(s) revoked, {} pending request(s) cancelled, {} other group membership(s) taken back",
                r.revoked, r.cancelled, r.groups_removed
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("elevated revoke-all: {e}");
            ExitCode::FAILURE
        }
    }
}
