//! `doctor`: why the cockpit shows nothing here, in one screen. Each check says ok, warn
//! or fail, with the fix; a check that needs the cluster is skipped (not failed twice) when
//! the cluster cannot be reached. Exit 0 when nothing fails, 1 otherwise.

use std::io::{IsTerminal, Write};
use std::path::Path;

use color_eyre::Result;

use super::args::{Format, GlobalArgs};
use crate::cluster::access::{Access, review};
use crate::cluster::connect::{ConnectOptions, build_client, client_config, describe_kube_error};
use crate::cluster::mutate::CHANGE_PERMISSIONS;
use crate::cluster::watch::ResourceKind;
use crate::config::paths::Paths;
use crate::exit::Exit;
use crate::report::doctor::{Check, healthy, json, table};

pub async fn run(global: &GlobalArgs, paths: &Paths, output: Format) -> Result<Exit> {
    let (opts, _demo) = super::options_for(global).await?;
    let mut checks = Vec::new();
    let context = cluster_checks(&opts, &mut checks).await;
    if let Some(context) = &context {
        checks.push(profile_check(global, paths, context));
    } else {
        checks.push(Check::skipped("profile", "no context to choose a profile for"));
    }
    checks.extend(folder_checks(paths));
    checks.extend(terminal_checks());
    checks.push(helm_check());
    let mut out = std::io::stdout().lock();
    match output {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json(context.as_deref(), &checks))?)?,
        Format::Table => write!(out, "{}", table(&checks))?,
    }
    out.flush()?;
    Ok(if healthy(&checks) { Exit::Ok } else { Exit::Failed })
}

/// Kubeconfig, credentials plugin, server, RBAC. Returns the context when one was found.
async fn cluster_checks(opts: &ConnectOptions, checks: &mut Vec<Check>) -> Option<String> {
    let (config, context) = match client_config(opts).await {
        Ok(found) => found,
        Err(e) => {
            let fix = "pass --kubeconfig PATH and --context NAME, or set $KUBECONFIG (try --demo to see the cockpit)";
            checks.push(Check::fail("kubeconfig", e.to_string(), fix));
            for name in ["server", "auth", "rbac"] {
                checks.push(Check::skipped(name, "no usable kubeconfig"));
            }
            return None;
        }
    };
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    checks.push(Check::ok("kubeconfig", format!("context \"{context}\", server {server}")));
    if let Some(exec) = &config.auth_info.exec {
        checks.push(exec_plugin_check(exec.command.as_deref(), exec.install_hint.as_deref()));
    }
    let timeout = config.connect_timeout.unwrap_or(std::time::Duration::from_secs(15));
    // The scope the cockpit would watch: -n, else the context's own namespace.
    let namespace = (!opts.all_namespaces).then(|| config.default_namespace.clone());
    // The same client the cockpit builds: a credentials plugin that hangs is given up on.
    let client = match build_client(config, opts.request_timeout).await {
        Ok(client) => client,
        Err(why) => {
            let fix = if why.contains("credential plugin") {
                "install or repair the credentials plugin (the auth plugin line)"
            } else {
                "check the kubeconfig's cluster and user entries"
            };
            checks.push(Check::fail("server", why, fix));
            checks.push(Check::skipped("rbac", "no client for the server"));
            return Some(context);
        }
    };
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(info)) => checks.push(Check::ok("server", format!("{server} answers: Kubernetes {}", info.git_version))),
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => describe_kube_error(&e),
                _ => format!("no answer within {}s", timeout.as_secs()),
            };
            let fix =
                "check the network path (VPN, bastion, proxy) and the server address; --request-timeout waits longer";
            checks.push(Check::fail("server", format!("{server}: {why}"), fix));
            checks.push(Check::skipped("rbac", "the server cannot be reached"));
            return Some(context);
        }
    }
    rbac_checks(&client, namespace.as_deref(), checks).await;
    Some(context)
}

/// A credentials plugin (`exec` in the kubeconfig) that is not installed is the most
/// common reason a fresh bastion shows nothing: say which program is missing.
fn exec_plugin_check(command: Option<&str>, install_hint: Option<&str>) -> Check {
    let Some(command) = command else {
        return Check::fail("auth plugin", "the kubeconfig's exec entry names no command", "fix the kubeconfig");
    };
    let found = if command.contains('/') {
        Path::new(command).is_file().then(|| command.into())
    } else {
        crate::cluster::helm::on_path(command)
    };
    match found {
        Some(path) => Check::ok("auth plugin", format!("{command} ({})", path.display())),
        None => Check::fail(
            "auth plugin",
            format!("credentials plugin {command:?} is not installed (not on PATH)"),
            install_hint.map_or_else(|| format!("install {command}"), |h| h.trim().replace('\n', " ")),
        ),
    }
}

/// What the cockpit watches (list and watch per kind) and every change it offers.
async fn rbac_checks(client: &kube::Client, namespace: Option<&str>, checks: &mut Vec<Check>) {
    let place = |ns: Option<&str>| ns.map_or_else(|| "in all namespaces".to_string(), |n| format!("in ns {n}"));
    for kind in ResourceKind::ALL.into_iter().filter(|k| *k != ResourceKind::NodePods) {
        // An operator's kind on a cluster without that operator: nothing to be allowed.
        if let Some(group_version) = kind.served_only_as()
            && !crate::cluster::network::serves(client, group_version, kind.plural()).await
        {
            continue;
        }
        let scope = if kind.cluster_wide() { None } else { namespace };
        let place = |ns: Option<&str>| if kind == ResourceKind::Nodes { "(cluster-scoped)".into() } else { place(ns) };
        let mut missing = Vec::new();
        for verb in ["list", "watch"] {
            let access =
                Access { verb, group: kind.group(), resource: kind.plural(), subresource: "", namespace: scope };
            match review(client, &access).await {
                Ok(true) => {}
                Ok(false) => missing.push(verb),
                Err(why) => {
                    let fix = "the credentials may be expired or rejected: log in again (or check --as)";
                    checks.push(Check::fail("auth", format!("the server does not answer access reviews: {why}"), fix));
                    return;
                }
            }
        }
        let name = format!("rbac {}", kind.plural());
        let wanted = format!("list, watch {} {}", kind.plural(), place(scope));
        if missing.is_empty() {
            checks.push(Check::ok(name, wanted));
        } else {
            let detail = format!("may not {} {} {}", missing.join(", "), kind.plural(), place(scope));
            let fix = format!("ask for a Role granting {wanted}");
            checks.push(if kind.is_optional() {
                let what = match kind {
                    ResourceKind::Nodes => "node capacity in scale previews is unknown",
                    ResourceKind::Services => "database hosts are not resolved to their servers",
                    ResourceKind::CnpgClusters | ResourceKind::ZalandoClusters => {
                        "operators' PostgreSQL clusters are not read for the budget"
                    }
                    kind if kind.is_gitops() => {
                        "GitOps owners or their sources are unknown (a gitops-synced gate waits)"
                    }
                    _ => "Helm release history is unknown",
                };
                Check::warn(name, format!("{detail}: {what}"), fix)
            } else {
                Check::fail(name, format!("{detail}: shown as \"no access\", never as empty"), fix)
            });
        }
    }
    for permission in CHANGE_PERMISSIONS {
        let name = format!("rbac change {}", permission.describe(None).replace(" in all namespaces", ""));
        match review(client, &permission.access(namespace)).await {
            Ok(true) => checks.push(Check::ok(name, permission.describe(namespace))),
            Ok(false) => checks.push(Check::warn(
                name,
                format!("may not {}: such changes are refused", permission.describe(namespace)),
                format!("ask for a Role granting {}", permission.describe(namespace)),
            )),
            Err(why) => checks.push(Check::warn(name, format!("not answered: {why}"), "run doctor again")),
        }
    }
}

fn profile_check(global: &GlobalArgs, paths: &Paths, context: &str) -> Check {
    let (loaded, problems) = super::profiles(global, paths).load(context);
    if let Some(refusal) = crate::config::profile::refusal(&problems) {
        let first = problems.iter().find(|p| p.is_error()).map(ToString::to_string).unwrap_or_default();
        return Check::fail("profile", format!("{refusal}; first: {first}"), "kubectl cockpit config check");
    }
    match loaded.file {
        Some(file) => Check::ok("profile", format!("{} loads", file.display())),
        None => Check::ok(
            "profile",
            format!(
                "none for context \"{context}\" (budgets from annotations, env and defaults; {} for one)",
                paths.profiles().join(format!("{context}.toml")).display()
            ),
        ),
    }
}

/// The config folder (themes, keymaps, profiles) must be readable; the data folder
/// writable, or no change can be audited.
fn folder_checks(paths: &Paths) -> Vec<Check> {
    let writable = |dir: &Path| {
        std::fs::create_dir_all(dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(dir).map(drop))
            .map_err(|e| e.to_string())
    };
    let mut checks = Vec::new();
    match writable(&paths.data_dir) {
        Ok(()) => checks.push(Check::ok(
            "data folder",
            format!("{} is writable (audit log, runbook state)", paths.data_dir.display()),
        )),
        Err(e) => checks.push(Check::fail(
            "data folder",
            format!("{}: {e}: changes cannot be audited, so none can be made", paths.data_dir.display()),
            "set KUBECTL_COCKPIT_DATA to a writable folder",
        )),
    }
    match writable(&paths.config_dir) {
        Ok(()) => checks.push(Check::ok("config folder", format!("{}", paths.config_dir.display()))),
        Err(e) => checks.push(Check::warn(
            "config folder",
            format!("{}: {e}", paths.config_dir.display()),
            "set KUBECTL_COCKPIT_CONFIG to a folder you own",
        )),
    }
    checks
}

/// What the interactive cockpit will find in this terminal.
fn terminal_checks() -> Vec<Check> {
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let mut checks = Vec::new();
    if !std::io::stdout().is_terminal() && !std::io::stdin().is_terminal() {
        checks.push(Check::ok("terminal", "not a terminal (doctor runs in a script): not checked"));
        return checks;
    }
    match crossterm::terminal::size() {
        Ok((cols, rows)) if cols >= 80 && rows >= 24 => {
            checks.push(Check::ok("terminal size", format!("{cols}x{rows}")))
        }
        Ok((cols, rows)) => checks.push(Check::warn(
            "terminal size",
            format!("{cols}x{rows}: smaller than 80x24, columns are dropped"),
            "enlarge the window",
        )),
        Err(e) => checks.push(Check::warn("terminal size", e.to_string(), "run it in a terminal")),
    }
    let colors = crate::config::theme::TerminalColors::from_env();
    let term = env("TERM");
    let detail = if colors.no_color {
        "NO_COLOR is set: the monochrome theme".to_string()
    } else if colors.truecolor {
        "truecolor (COLORTERM)".to_string()
    } else if term.contains("256color") {
        format!("256 colours (TERM={term})")
    } else {
        format!("TERM={term}: colours mapped to the 256-colour palette")
    };
    checks.push(if term == "dumb" || term.is_empty() {
        Check::warn("colours", format!("TERM={term:?}"), "set TERM (e.g. xterm-256color), or use --theme ansi16")
    } else {
        Check::ok("colours", detail)
    });
    let locale = [env("LC_ALL"), env("LC_CTYPE"), env("LANG")].into_iter().find(|v| !v.is_empty()).unwrap_or_default();
    let utf8 = locale.to_ascii_lowercase().replace('-', "").contains("utf8");
    checks.push(if utf8 {
        Check::ok("utf-8", locale)
    } else {
        Check::warn(
            "utf-8",
            format!("locale {locale:?} is not UTF-8: lines and arrows may show as garbage"),
            "export LANG=C.UTF-8",
        )
    });
    checks
}

fn helm_check() -> Check {
    match crate::cluster::helm::locate() {
        Some(path) => Check::ok("helm", format!("{} (Helm rollbacks run from the cockpit)", path.display())),
        None => Check::warn(
            "helm",
            "not on PATH: Helm rollbacks are offered as a command to copy",
            "install helm to roll releases back from the cockpit",
        ),
    }
}
