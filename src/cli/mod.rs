//! Command-line entry: parse, then hand each command to the folder that owns it.

pub mod args;
mod change;
mod doctor;
mod drain;
mod fleet;
mod gate;
mod gitops_repo;
mod nodes;
mod rollout;
mod runbook;
mod scale;
mod snapshot;

use std::io::Write;

use clap::CommandFactory;
use color_eyre::Result;

pub use args::{Cli, Command};
use args::{ConfigAction, FleetAction, GlobalArgs, SimAction, SimServeArgs};

use crate::cluster::connect::{ConnectOptions, Connection};
use crate::config::check::CheckContext;
use crate::config::paths::Paths;
use crate::exit::{self, Exit};

/// Worker threads of the cockpit's async runtime. Its work is a handful of watch streams
/// and one model rebuild at a time, so more workers buy no speed, and every thread that
/// allocates gets a malloc arena of its own, with its own freed memory kept: against
/// 10,000 pods, 8 workers (an 8-core laptop's default) held about 20 MB more than 2.
pub const COCKPIT_WORKERS: usize = 2;

/// The async runtime for `cli`'s command. The simulator (`sim serve`) keeps one worker
/// per core: it serves any number of clients.
pub fn runtime(cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if !matches!(cli.command, Some(Command::Sim { .. })) {
        builder.worker_threads(COCKPIT_WORKERS);
        crate::memory::one_arena();
    }
    builder.enable_all().build()
}

/// Runs one invocation and returns its exit status.
pub async fn run(mut cli: Cli) -> Result<Exit> {
    let paths = Paths::from_env();
    cli.global = with_profile_fleet(cli.global, &paths);
    match cli.command {
        None => interactive(&cli.global, &paths, cli.gitops_repo).await,
        Some(Command::Config { action: ConfigAction::Paths }) => {
            print_paths(&paths)?;
            Ok(Exit::Ok)
        }
        Some(Command::Config { action: ConfigAction::Check }) => {
            let ctx = CheckContext {
                paths: &paths,
                theme: cli.global.theme.as_deref(),
                keymap: cli.global.keymap.as_deref(),
                profile: cli.global.profile.as_deref(),
            };
            Ok(crate::config::check::run(&ctx, &mut std::io::stdout().lock())?)
        }
        Some(Command::Config { action: ConfigAction::Init { stdout, force } }) => {
            config_init(&cli.global, &paths, stdout, force).await
        }
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            // Rendered first: the generator panics on a failed write, and `| head` is no bug.
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd, "kubectl-cockpit", &mut text);
            std::io::stdout().lock().write_all(&text)?;
            Ok(Exit::Ok)
        }
        Some(Command::Man) => {
            let cmd = Cli::command().name("kubectl-cockpit").bin_name("kubectl-cockpit");
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(Exit::Ok)
        }
        Some(Command::Sim { action: SimAction::Serve(args) }) => sim_serve(args).await,
        Some(Command::Status { output }) if cli.global.is_fleet() => fleet::status(&cli.global, output).await,
        Some(Command::Status { output }) => status(&cli.global, output).await,
        Some(Command::Fleet { action: FleetAction::Diff { service, output } }) => {
            fleet::diff(&cli.global, &service, output).await
        }
        Some(Command::Lint { output }) if cli.global.is_fleet() => fleet::lint(&cli.global, output).await,
        Some(Command::Lint { output }) => lint(&cli.global, output).await,
        Some(Command::Budget { output, at_hpa_max, pg_url_env: None }) if cli.global.is_fleet() => {
            fleet::budget(&cli.global, output, at_hpa_max).await
        }
        Some(Command::Gate { services, since, output }) => gate::run(&cli.global, &services, since, output).await,
        Some(Command::Budget { output, at_hpa_max, pg_url_env }) => {
            budget(&cli.global, output, at_hpa_max, pg_url_env.as_deref()).await
        }
        Some(Command::Scale(args)) => scale::run(&cli.global, args, &paths).await,
        Some(Command::SetImage(args)) => scale::set_image(&cli.global, args, &paths).await,
        Some(Command::Gitops { action }) => scale::gitops(&cli.global, action, &paths).await,
        Some(Command::Rollout { action }) => rollout::run(&cli.global, action, &paths).await,
        Some(Command::Runbook { action }) => runbook::run(&cli.global, action, &paths).await,
        Some(Command::Doctor { output }) => doctor::run(&cli.global, &paths, output).await,
        Some(Command::Nodes { output }) => nodes::list(&cli.global, output).await,
        Some(Command::DrainPlan { nodes, output }) => nodes::drain_plan(&cli.global, &nodes, output).await,
        Some(Command::Drain(args)) => drain::run(&cli.global, args, &paths).await,
    }
}

/// The interactive cockpit. Everything that can fail with a one-line error (kubeconfig,
/// connection) happens before the terminal is taken over.
async fn interactive(global: &GlobalArgs, paths: &Paths, gitops_repo: Option<std::path::PathBuf>) -> Result<Exit> {
    use crate::config::keymap::load_keymap;
    use crate::config::theme::{TerminalColors, load_theme};
    // A checkout that is not there is said before the terminal is taken over.
    if let Some(repo) = gitops_repo.as_ref().filter(|r| !r.is_dir()) {
        return Err(exit::usage(format!("--gitops-repo {}: not a directory", repo.display())));
    }
    let (theme, theme_problems) = load_theme(global.theme.as_deref(), paths, &TerminalColors::from_env());
    let (keymap, keymap_problems) = load_keymap(global.keymap.as_deref(), paths);
    let (session, target, fleet) = if global.is_fleet() {
        let (session, options) = fleet::start_session(global, paths).await?;
        (session, None, Some(options))
    } else {
        let target = connect(global).await?;
        let session =
            crate::cluster::session::start(target.connection.clone(), target.options.clone(), profiles(global, paths));
        (session, Some(target), None)
    };
    let view = session.views.borrow().clone();
    // In a fleet, the runs any of its clusters left (each resumes on its own cluster).
    let contexts = match &target {
        Some(target) => vec![target.connection.context.clone()],
        None => view.contexts.clone(),
    };
    let mut app = crate::ui::app::App::new(theme, keymap, view, global.read_only);
    app.runbooks.choices = runbook_choices(paths);
    app.gitops_repo = gitops_repo;
    app.offer_interrupted(contexts.iter().flat_map(|context| interrupted_runs(paths, context)).collect());
    app.helm = crate::cluster::helm::HelmSetup::new(
        crate::cluster::helm::locate(),
        global.kubeconfig.as_deref(),
        global.as_user.as_deref(),
        &global.as_group,
    );
    let problems: Vec<String> = theme_problems.iter().chain(&keymap_problems).map(ToString::to_string).collect();
    if let Some(first) = problems.first() {
        let more = if problems.len() > 1 {
            format!(" (+{} more; run `config check`)", problems.len() - 1)
        } else {
            String::new()
        };
        app.report_error(format!("{first}{more}"));
    }
    let setup = crate::effects::RunbookSetup {
        paths: paths.clone(),
        options: target.as_ref().map(|t| t.options.clone()).or(fleet).unwrap_or_default(),
        profiles: profiles(global, paths),
    };
    let ending = crate::ui::runtime::run(app, session, global.max_fps, setup).await?;
    drop(target);
    if let crate::ui::runtime::Ending::Signal(signal) = ending {
        eprintln!("kubectl-cockpit: stopped by {}", signal.name());
        return Ok(Exit::Signalled(signal));
    }
    Ok(Exit::Ok)
}

/// The runbooks the cockpit offers, with their parameters.
fn runbook_choices(paths: &Paths) -> Vec<crate::ui::runbooks::RunbookChoice> {
    use crate::config::runbook as files;
    files::list(paths)
        .into_iter()
        .map(|l| {
            let params = files::find(&l.name, paths).map(|f| files::declared_params(&f)).unwrap_or_default();
            crate::ui::runbooks::RunbookChoice { name: l.name, description: l.description, params }
        })
        .collect()
}

/// Runs of this context that were interrupted (a crash, a kill, a dropped session) and
/// that no other cockpit is running now: the cockpit offers to continue them.
fn interrupted_runs(paths: &Paths, context: &str) -> Vec<crate::actions::runbook::state::RunState> {
    use crate::actions::runbook::state::{RunLock, unfinished};
    unfinished(&paths.runbook_state())
        .into_iter()
        .filter(|(path, state)| state.context == context && !RunLock::is_held(path))
        .map(|(_, state)| state)
        .collect()
}

/// `status`: one synced look through the same watches and model as the cockpit, printed
/// once. A kind the user may not list is a warning and a "no access" column, not a failure.
async fn status(global: &GlobalArgs, output: args::StatusFormat) -> Result<Exit> {
    use crate::report::status::{StatusReport, json, table};

    let snap = snapshot::take(global, None).await?;
    let report = StatusReport {
        context: &snap.target.connection.context,
        services: &snap.services,
        namespace_findings: &snap.namespace_findings,
        visibility: snap.visibility,
        no_access: &snap.no_access,
        now: snap.now,
    };
    let mut out = std::io::stdout().lock();
    match output {
        args::StatusFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json(&report))?)?,
        args::StatusFormat::Table => write!(out, "{}", table(&report, false))?,
        args::StatusFormat::Wide => write!(out, "{}", table(&report, true))?,
    }
    out.flush()?;
    Ok(Exit::Ok)
}

/// `budget`: the connection budget per database, measured live where a connection string
/// is configured. Exit 1 when a database is over 100 % (at HPA max with `--at-hpa-max`);
/// 2 when the profile has errors (a budget without it would be wrong, not partial).
async fn budget(global: &GlobalArgs, output: args::Format, at_hpa_max: bool, pg_url_env: Option<&str>) -> Result<Exit> {
    use crate::model::budget::BudgetState;
    use crate::report::budget::{json, table, worst};

    let mut snap = snapshot::take(global, None).await?;
    let unmeasured = snap.budgets.iter().filter(|b| b.url_env.is_none()).count();
    if pg_url_env.is_some() && unmeasured > 1 {
        return Err(exit::usage(format!(
            "--pg-url-env is ambiguous: {unmeasured} databases have no url_env; set url_env per database in the profile"
        )));
    }
    crate::cluster::measure::measure_all(&mut snap.budgets, &snap.services, pg_url_env).await;
    let mut out = std::io::stdout().lock();
    match output {
        args::Format::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&json(&snap.budgets, &snap.discovery_notes))?)?
        }
        args::Format::Table => write!(out, "{}", table(&snap.budgets, at_hpa_max, &snap.discovery_notes))?,
    }
    out.flush()?;
    Ok(if worst(&snap.budgets, at_hpa_max) == BudgetState::Over { Exit::Failed } else { Exit::Ok })
}

/// `lint`: the preflight findings of every service in scope. Exit 1 when any error-level
/// finding remains (after the profile's overrides), 2 when the profile has errors.
async fn lint(global: &GlobalArgs, output: args::Format) -> Result<Exit> {
    use crate::report::lint::{collect, has_errors, json, table};

    let snap = snapshot::take(global, None).await?;
    let found = collect(&snap.services, &snap.namespace_findings);
    let mut out = std::io::stdout().lock();
    match output {
        args::Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json(&found))?)?,
        args::Format::Table => write!(out, "{}", table(&found))?,
    }
    out.flush()?;
    Ok(if has_errors(&found) { Exit::Failed } else { Exit::Ok })
}

/// `sim serve`: run the simulated cluster until SIGINT, SIGTERM or SIGHUP.
async fn sim_serve(args: SimServeArgs) -> Result<Exit> {
    let mut terminations = crate::exit::Terminations::listen()?;
    let opts = crate::sim::SimOptions {
        scenario: args.scenario,
        manifests: args.manifests,
        pods: args.pods,
        addr: args.addr,
        churn: args.churn,
        event_ttl: args.event_ttl.map(std::time::Duration::from_secs),
        ..Default::default()
    };
    let sim = crate::sim::start(opts).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "simulated cluster listening on {}", sim.https_url())?;
        if let Some(path) = &args.kubeconfig_out {
            sim.write_kubeconfig(path)?;
            writeln!(out, "kubeconfig written to {} (context {})", path.display(), crate::sim::kubeconfig::CONTEXT)?;
        }
        out.flush()?;
    }
    let signal = terminations.next().await;
    drop(sim);
    Ok(Exit::Signalled(signal))
}

fn print_paths(paths: &Paths) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "config   {}", paths.config_dir.display())?;
    writeln!(out, "themes   {}", paths.themes().display())?;
    writeln!(out, "keymaps  {}", paths.keymaps().display())?;
    writeln!(out, "profiles {}", paths.profiles().display())?;
    writeln!(out, "runbooks {}", paths.runbooks().display())?;
    writeln!(out, "data     {}", paths.data_dir.display())?;
    writeln!(out, "audit    {}", paths.audit_log().display())?;
    Ok(())
}

/// `--profile PATH` whose profile says `fleet = [...]`, without `--context` or
/// `--all-contexts`: those contexts, as if given with `--context a,b`. A profile that does
/// not load changes nothing here (the command says why it does not load).
fn with_profile_fleet(global: GlobalArgs, paths: &Paths) -> GlobalArgs {
    if global.profile.is_none() || global.context.is_some() || global.all_contexts || global.demo {
        return global;
    }
    let (loaded, _) = profiles(&global, paths).load("");
    if loaded.profile.fleet.is_empty() {
        return global;
    }
    GlobalArgs { context: Some(loaded.profile.fleet.join(",")), ..global }
}

/// Which profile applies: `--profile`, `profiles/<context>.toml`, or the demo's own.
/// `config init`: a starter profile from what discovery finds, written where the cockpit
/// looks for this context's profile (or `--profile`), never over one without `--force`.
async fn config_init(global: &GlobalArgs, paths: &Paths, to_stdout: bool, force: bool) -> Result<Exit> {
    // The profile is the context's, not a namespace's: every namespace unless one is named.
    let global = GlobalArgs { all_namespaces: global.all_namespaces || global.namespace.is_none(), ..global.clone() };
    let snap = snapshot::take_discovered(&global).await?;
    let context = &snap.target.connection.context;
    let file = match &global.profile {
        Some(path) => path.clone(),
        None => paths.profiles().join(format!("{}.toml", crate::config::paths::sanitize_file_name(context))),
    };
    if !to_stdout && file.exists() && !force {
        return Err(exit::usage(format!(
            "{} exists: pass --force to overwrite it, or --stdout to print the starter profile",
            file.display()
        )));
    }
    let written = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let text = crate::report::starter::starter_profile(context, &snap.budgets, &snap.services, &written);
    if to_stdout {
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(Exit::Ok);
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| exit::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(&file, text).map_err(|e| exit::usage(format!("cannot write {}: {e}", file.display())))?;
    println!(
        "wrote {} ({} databases); check it with `kubectl cockpit config check`",
        file.display(),
        snap.budgets.len()
    );
    Ok(Exit::Ok)
}

pub fn profiles(global: &GlobalArgs, paths: &Paths) -> crate::config::profile::ProfileChoice {
    crate::config::profile::ProfileChoice::new(global.profile.as_deref(), paths, global.demo)
}

/// The connection options the global flags describe.
pub fn connect_options(global: &GlobalArgs) -> ConnectOptions {
    ConnectOptions {
        kubeconfig: global.kubeconfig.clone(),
        inline_kubeconfig: None,
        context: global.context.clone(),
        namespace: global.namespace.clone(),
        all_namespaces: global.all_namespaces,
        request_timeout: global.request_timeout,
        as_user: global.as_user.clone(),
        as_groups: global.as_group.clone(),
    }
}

/// The cluster a command talks to. With `--demo` it is a simulated cluster started in
/// this process; it lives as long as this value.
pub struct Target {
    pub connection: Connection,
    /// The options the connection was made with (context switches reuse them).
    pub options: ConnectOptions,
    pub demo: Option<crate::sim::RunningSim>,
}

/// Connects to the cluster the flags point at. `--demo` starts the built-in simulated
/// cluster on an ephemeral loopback port and connects to it over https like to any other
/// cluster; without `-n` it shows all namespaces, since the demo spreads services over several.
pub async fn connect(global: &GlobalArgs) -> Result<Target> {
    if global.is_fleet() {
        return Err(exit::usage(
            "this command works on one cluster at a time: pass one --context \
             (several contexts are for status, fleet diff and the cockpit)",
        ));
    }
    let (opts, demo) = options_for(global).await?;
    let connection = crate::cluster::connect::connect(&opts).await?;
    Ok(Target { connection, options: opts, demo })
}

/// The connection options of the flags; with `--demo`, the simulated cluster they point at
/// (started here, living as long as the returned value).
async fn options_for(global: &GlobalArgs) -> Result<(ConnectOptions, Option<crate::sim::RunningSim>)> {
    let mut opts = connect_options(global);
    let demo = if global.demo {
        let sim =
            crate::sim::start(crate::sim::SimOptions { scenario: global.demo_scenario.clone(), ..Default::default() })
                .await?;
        opts.inline_kubeconfig = Some(sim.kubeconfig());
        opts.kubeconfig = None;
        opts.all_namespaces |= global.namespace.is_none();
        Some(sim)
    } else {
        None
    };
    Ok((opts, demo))
}
