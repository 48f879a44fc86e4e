//! The command-line contract (`../shared/CLI.md`): flags and subcommands. Scripts depend on
//! these names; change them only by adding.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::duration::parse_duration;

const ABOUT: &str = "A terminal cockpit for the services you run on Kubernetes.";

const LONG_ABOUT: &str = "\
A terminal cockpit for the services you run on Kubernetes.

One screen answers: is it safe to change this service right now, and how do I change it \
safely? Replicas, rollout and probe state, PDB headroom, database connection budget and live \
SLO log panes per Deployment and StatefulSet; guided scaling, rollouts and runbooks with \
previews, dry-runs, confirmation and an audit trail.

Without a command, the interactive cockpit starts. Try it without a cluster: --demo.";

const AFTER_HELP: &str = "\
Examples:
  kubectl cockpit --demo                  the cockpit on the built-in simulated cluster
  kubectl cockpit -n shop                 the services of namespace shop
  kubectl cockpit status -A -o json       every service, as JSON, for scripts
  kubectl cockpit budget --at-hpa-max     connection budgets if every HPA hits its max
  kubectl cockpit gate --service api      the rollout SLO gate for one service

Exit codes: 0 ok, 1 check failed, 2 usage or configuration error, 3 cluster unreachable,
4 refused by a guard, 5 declined at the prompt.";

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-cockpit",
    bin_name = "kubectl cockpit",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The interactive cockpit's "change it in git": the local checkout of the GitOps
    /// repository whose manifests (or HelmRelease values) the scale and set-image wizards
    /// edit (the diff shown and confirmed; nothing is committed or pushed)
    #[arg(long, value_name = "PATH")]
    pub gitops_repo: Option<PathBuf>,
}

/// kubectl-compatible flags, accepted before or after any subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Kubeconfig file [default: $KUBECONFIG (colon-separated, merged), then ~/.kube/config]
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use; several, comma separated (`a,b,c`), for a fleet
    #[arg(long, global = true, value_name = "NAME[,NAME…]")]
    pub context: Option<String>,
    /// Every context of the kubeconfig at once (a fleet)
    #[arg(long, global = true, conflicts_with = "context")]
    pub all_contexts: bool,
    /// Namespace [default: the context's namespace, else "default"]
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// All namespaces
    #[arg(short = 'A', long = "all-namespaces", global = true)]
    pub all_namespaces: bool,
    /// Per-request timeout, e.g. 30s, 2m (0 = no timeout)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
    /// Impersonate this user, as kubectl --as
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Impersonate this group (repeatable), as kubectl --as-group
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// Cockpit profile: databases, pools, SLO rules, singletons [default: profiles/<context>.toml in the config dir]
    #[arg(long, global = true, value_name = "PATH")]
    pub profile: Option<PathBuf>,
    /// Theme name or file [default: dark; monochrome when NO_COLOR is set]
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Keymap name or file [default: default]
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub keymap: Option<String>,
    /// Offer and perform no mutation
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Run against the built-in simulated cluster (no kubeconfig needed)
    #[arg(long, global = true)]
    pub demo: bool,
    /// Scenario for --demo (built-in name or YAML file) [default: demo]
    #[arg(long, global = true, value_name = "NAME|PATH", requires = "demo", hide_short_help = true)]
    pub demo_scenario: Option<String>,
    /// Highest redraw rate of the interactive cockpit, frames per second
    #[arg(long, global = true, value_name = "FPS", default_value_t = 20, hide_short_help = true)]
    pub max_fps: u32,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One-shot service table
    Status {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = StatusFormat::Table)]
        output: StatusFormat,
    },
    /// Connection budget per database (exit 1 when a database is over 100 %)
    Budget {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
        /// Judge the budget as if every HPA ran at its maximum
        #[arg(long)]
        at_hpa_max: bool,
        /// Environment variable holding a PostgreSQL URL for live measurement
        #[arg(long, value_name = "NAME")]
        pg_url_env: Option<String>,
    },
    /// Rollout SLO gate (exit 0 pass, 1 fail)
    Gate {
        /// Service to check (repeatable) [default: every service with SLO rules]
        #[arg(long = "service", value_name = "S")]
        services: Vec<String>,
        /// How far back to read logs and events
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "15m")]
        since: Duration,
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Preflight findings (exit 1 when any error-level finding)
    Lint {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Guided scale, with the same guards as the cockpit
    Scale(ScaleArgs),
    /// Change a container's image (a rolling update), with the same guards as the cockpit
    SetImage(SetImageArgs),
    /// The GitOps owner (Flux Kustomization or HelmRelease, Argo CD Application) of a
    /// service: suspend it before a change by hand, resume it after
    Gitops {
        #[command(subcommand)]
        action: GitopsAction,
    },
    /// Rollout actions: restart, pause, resume, history, undo
    Rollout {
        #[command(subcommand)]
        action: RolloutAction,
    },
    /// Staged rollout and rollback runbooks
    Runbook {
        #[command(subcommand)]
        action: RunbookAction,
    },
    /// Nodes: allocatable vs requested, pods by owner, and what draining each would do
    Nodes {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// What draining NODE... (in order) would evict, skip and lose, and which disruption
    /// budgets block it (exit 0 drainable now, 1 blocked)
    DrainPlan {
        #[arg(value_name = "NODE", required = true)]
        nodes: Vec<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Guided drain of NODE: the drain-plan preview, guards, the server's dry-run, then
    /// cordon and evictions one service at a time, each budget respected
    Drain(DrainArgs),
    /// Several clusters at once (`--context a,b` or `--all-contexts`)
    Fleet {
        #[command(subcommand)]
        action: FleetAction,
    },
    /// Checks kubeconfig, reachability, auth, RBAC per kind and change, profile, config
    /// folders, terminal and helm (exit 1 when something fails)
    Doctor {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// The simulated cluster
    Sim {
        #[command(subcommand)]
        action: SimAction,
    },
    /// Where configuration lives, and whether it is valid
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Man page (roff) on standard output
    Man,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Wide,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct ScaleArgs {
    /// NAME, NAMESPACE/NAME or KIND/NAME (deploy/api, sts/redis)
    pub service: String,
    pub replicas: i32,
    /// Show the plan and the server's dry-run answer; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Override a guard that can be overridden (singleton)
    #[arg(long)]
    pub force: bool,
    /// Change it in git instead: edit the manifest that sets the replicas in this local
    /// checkout (the diff is shown; nothing is committed or pushed; --dry-run writes nothing)
    #[arg(long, value_name = "PATH")]
    pub gitops_repo: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct SetImageArgs {
    /// NAME, NAMESPACE/NAME or KIND/NAME (deploy/api, sts/redis)
    pub service: String,
    /// IMAGE (a single container) or CONTAINER=IMAGE
    #[arg(value_name = "[CONTAINER=]IMAGE")]
    pub image: String,
    /// Show the plan and the server's dry-run answer; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Change it in git instead: edit the manifest (or HelmRelease values) that sets the
    /// image in this local checkout (the diff is shown; nothing is committed or pushed)
    #[arg(long, value_name = "PATH")]
    pub gitops_repo: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum GitopsAction {
    /// Stop the owner reconciling (Flux `spec.suspend: true`; Argo CD auto-sync off)
    Suspend(GitopsArgs),
    /// Let the owner reconcile again (it sets back what was changed by hand)
    Resume(GitopsArgs),
}

#[derive(Args, Debug)]
pub struct GitopsArgs {
    /// NAME, NAMESPACE/NAME or KIND/NAME: the service whose owner it is
    pub service: String,
    /// Show the plan and the server's dry-run answer; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

#[derive(clap::Args, Debug)]
pub struct DrainArgs {
    pub node: String,
    /// Show the plan and the server's dry-run answer; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Accept what a guard warns of (pods or emptyDir data lost, a single replica down,
    /// replacements with no room); a budget that blocks the drain is never overridden
    #[arg(long)]
    pub force: bool,
    /// How long one eviction may wait on its budget, and one service on its replacements
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
}

#[derive(Subcommand, Debug)]
pub enum RolloutAction {
    /// Restart every pod with a rolling update
    Restart(RolloutArgs),
    /// Pause the rollout
    Pause(RolloutArgs),
    /// Resume a paused rollout
    Resume(RolloutArgs),
    /// Revisions with their images and change causes
    History(RolloutArgs),
    /// Roll back to the previous (or a chosen) revision
    Undo(RolloutArgs),
}

#[derive(Args, Debug)]
pub struct RolloutArgs {
    /// NAME, NAMESPACE/NAME or KIND/NAME
    pub service: String,
    /// Revision to roll back to (undo) [default: the previous one]
    #[arg(long, value_name = "N")]
    pub to_revision: Option<i64>,
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub yes: bool,
}

#[derive(Subcommand, Debug)]
pub enum RunbookAction {
    /// Runbooks found (built-in, config dir)
    List,
    /// A runbook's steps and gates
    Show { name: String },
    /// Validate a runbook; every error with file, line and field
    Validate { name: String },
    /// Run a runbook
    Run(RunbookRunArgs),
}

#[derive(Args, Debug)]
pub struct RunbookRunArgs {
    /// Runbook name or file
    pub name: String,
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub dry_run: bool,
    /// Continue an interrupted run
    #[arg(long)]
    pub resume: bool,
    /// Parameter (repeatable), e.g. --param replicas=3
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum FleetAction {
    /// Differences of one service across the selected clusters: images, replicas, HPA
    /// bounds, env var names (never values) and probe settings (exit 0 same, 1 differs)
    Diff {
        /// NAME, NAMESPACE/NAME or KIND/NAME (deploy/api, sts/redis)
        service: String,
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

impl GlobalArgs {
    /// The contexts named with `--context a,b,c` (one or none: not a fleet by itself).
    pub fn named_contexts(&self) -> Vec<String> {
        self.context
            .iter()
            .flat_map(|c| c.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Several clusters were asked for: `--all-contexts` or `--context` with a comma.
    pub fn is_fleet(&self) -> bool {
        self.all_contexts || self.named_contexts().len() > 1
    }

    /// These flags for one cluster of the fleet.
    pub fn for_context(&self, context: &str) -> GlobalArgs {
        GlobalArgs { context: Some(context.to_string()), all_contexts: false, ..self.clone() }
    }
}

#[derive(Subcommand, Debug)]
pub enum SimAction {
    /// Run the simulated cluster until interrupted
    Serve(SimServeArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct SimServeArgs {
    /// Built-in scenario name or a scenario YAML file [default: demo]
    #[arg(long, value_name = "NAME|PATH")]
    pub scenario: Option<String>,
    /// Load a directory of manifests (multi-document YAML) with healthy default behaviour
    #[arg(long, value_name = "DIR")]
    pub manifests: Option<PathBuf>,
    /// Generate a large cluster with about N pods (benchmarks)
    #[arg(long, value_name = "N")]
    pub pods: Option<usize>,
    /// Listen address [default: 127.0.0.1:0, an ephemeral port]
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Write a kubeconfig (context cockpit-sim) for this server here
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Pod updates per second, as a busy cluster makes them (readiness flips, restarts,
    /// heartbeats, Events, a rollout a minute); changed at run time with POST /sim/churn
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub churn: f64,
    /// Seconds an Event lives after its last write, as kube-apiserver's --event-ttl
    /// [default: 3600]
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub event_ttl: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Where configuration, themes, keymaps, profiles, runbooks and data live
    Paths,
    /// Validate every theme, keymap, profile and runbook found (exit 2 on errors)
    Check,
    /// Write a starter profile for the current context from what the cluster shows
    Init {
        /// Print it instead of writing the file
        #[arg(long)]
        stdout: bool,
        /// Overwrite an existing profile
        #[arg(long)]
        force: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["kubectl-cockpit", "status", "-n", "shop", "--demo", "-o", "json"]).unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("shop"));
        assert!(cli.global.demo);
        assert!(matches!(cli.command, Some(Command::Status { output: StatusFormat::Json })));
    }

    #[test]
    fn several_contexts_make_a_fleet() {
        let cli = Cli::try_parse_from(["kubectl-cockpit", "status", "--context", "eu, us,"]).unwrap();
        assert_eq!(cli.global.named_contexts(), ["eu", "us"]);
        assert!(cli.global.is_fleet());
        assert_eq!(cli.global.for_context("us").context.as_deref(), Some("us"));
        let one = Cli::try_parse_from(["kubectl-cockpit", "--context", "eu"]).unwrap();
        assert!(!one.global.is_fleet());
        let all = Cli::try_parse_from(["kubectl-cockpit", "fleet", "diff", "shop/api", "--all-contexts"]).unwrap();
        assert!(all.global.is_fleet());
        assert!(Cli::try_parse_from(["kubectl-cockpit", "--all-contexts", "--context", "a"]).is_err());
    }

    #[test]
    fn request_timeout_takes_kubectl_durations() {
        let cli = Cli::try_parse_from(["kubectl-cockpit", "--request-timeout", "2m"]).unwrap();
        assert_eq!(cli.global.request_timeout, Some(Duration::from_secs(120)));
        assert!(Cli::try_parse_from(["kubectl-cockpit", "--request-timeout", "2"]).is_err());
    }
}
