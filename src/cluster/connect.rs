//! Kubeconfig handling like kubectl's: `--kubeconfig`, else `$KUBECONFIG` (a list, merged),
//! else `~/.kube/config`, else in-cluster; `--context`; the namespace from the context;
//! impersonation; exec credential plugins (kube-rs runs them, under the request timeout
//! here); `--request-timeout`.
//!
//! Every failure here is the operator's to fix, so it becomes one line with exit code 3.

use std::path::PathBuf;
use std::time::Duration;

use color_eyre::Result;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::exit;

/// What the operator asked for on the command line.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    /// An in-memory kubeconfig (the built-in simulated cluster); wins over files.
    pub inline_kubeconfig: Option<Kubeconfig>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub request_timeout: Option<Duration>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
}

/// A client and what the cockpit shows about where it points.
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    pub context: String,
    /// The namespace in scope; with `all_namespaces` it is only the default for actions.
    pub namespace: String,
    pub all_namespaces: bool,
    pub server_url: String,
    pub user: Option<String>,
    pub request_timeout: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("context", &self.context)
            .field("namespace", &self.namespace)
            .field("server_url", &self.server_url)
            .finish()
    }
}

/// Used when `--request-timeout` is not given: long enough for a slow VPN, short enough
/// that a black-holed address does not hang the terminal for minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

impl Connection {
    /// The namespace a list or watch is scoped to: `None` means all namespaces.
    pub fn scope(&self) -> Option<&str> {
        if self.all_namespaces { None } else { Some(&self.namespace) }
    }
}

/// Loads the kubeconfig the way kubectl does and returns the merged config plus a hint of
/// where it came from (for error messages).
fn load_kubeconfig(opts: &ConnectOptions) -> Result<Option<(Kubeconfig, String)>> {
    if let Some(inline) = &opts.inline_kubeconfig {
        return Ok(Some((inline.clone(), "built-in simulated cluster".into())));
    }
    if let Some(path) = &opts.kubeconfig {
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| exit::cluster(format!("cannot read kubeconfig {}: {}", path.display(), one_line(&e))))?;
        return Ok(Some((kc, path.display().to_string())));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(&list).filter(|p| p.exists()).collect();
        if paths.is_empty() {
            return Ok(None);
        }
        let mut merged: Option<Kubeconfig> = None;
        for path in &paths {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| exit::cluster(format!("cannot read kubeconfig {}: {}", path.display(), one_line(&e))))?;
            merged = Some(match merged {
                None => kc,
                // kubectl's rule: the first file to set a value wins.
                Some(m) => {
                    m.merge(kc).map_err(|e| exit::cluster(format!("cannot merge $KUBECONFIG: {}", one_line(&e))))?
                }
            });
        }
        let hint = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
        return Ok(merged.map(|m| (m, hint)));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if let Some(path) = home.map(|h| h.join(".kube").join("config")).filter(|p| p.exists()) {
        let kc = Kubeconfig::read_from(&path)
            .map_err(|e| exit::cluster(format!("cannot read kubeconfig {}: {}", path.display(), one_line(&e))))?;
        return Ok(Some((kc, path.display().to_string())));
    }
    Ok(None)
}

/// The contexts of the kubeconfig the options point at (for the context switcher).
pub fn context_names(opts: &ConnectOptions) -> Vec<String> {
    match load_kubeconfig(opts) {
        Ok(Some((kc, _))) => kc.contexts.iter().map(|c| c.name.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Builds the client config without touching the network.
pub async fn client_config(opts: &ConnectOptions) -> Result<(kube::Config, String)> {
    let (mut config, context) = match load_kubeconfig(opts)? {
        Some((kc, source)) => {
            let context = opts.context.clone().or_else(|| kc.current_context.clone()).unwrap_or_default();
            if context.is_empty() {
                return Err(exit::cluster(format!("kubeconfig {source} has no current context; pass --context NAME")));
            }
            if !kc.contexts.iter().any(|c| c.name == context) {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(exit::cluster(format!(
                    "context \"{context}\" not found in kubeconfig {source} (contexts: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            }
            let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
            let config = kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| exit::cluster(format!("kubeconfig {source}, context \"{context}\": {}", one_line(&e))))?;
            (config, context)
        }
        None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
            let config = kube::Config::incluster()
                .map_err(|e| exit::cluster(format!("in-cluster configuration: {}", one_line(&e))))?;
            (config, "in-cluster".to_string())
        }
        None => {
            return Err(exit::cluster(
                "no kubeconfig found (looked at $KUBECONFIG and ~/.kube/config); pass --kubeconfig PATH, \
                 or try the built-in simulated cluster with --demo",
            ));
        }
    };
    if let Some(user) = &opts.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !opts.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(opts.as_groups.clone());
    }
    let timeout = effective_timeout(opts.request_timeout);
    config.connect_timeout = Some(timeout);
    // Watches are long-lived reads: no read timeout, or every quiet watch would be cut.
    config.read_timeout = None;
    // kube retries 429/503/504 itself for minutes by default, invisibly. The watchers have
    // their own backoff, and an operator must see an outage as it happens (watch health),
    // so failures are surfaced instead.
    config.default_retry = false;
    if let Some(ns) = &opts.namespace {
        config.default_namespace = ns.clone();
    }
    Ok((config, context))
}

fn effective_timeout(requested: Option<Duration>) -> Duration {
    match requested {
        Some(d) if d.is_zero() => Duration::from_secs(24 * 3600),
        Some(d) => d,
        None => DEFAULT_TIMEOUT,
    }
}

/// Connects and checks the server answers (`GET /version`) within the timeout, so an
/// unreachable cluster is one clear line before any screen is drawn.
pub async fn connect(opts: &ConnectOptions) -> Result<Connection> {
    let (config, context) = client_config(opts).await?;
    let server_url = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let namespace = config.default_namespace.clone();
    let user = opts.as_user.clone();
    let timeout = effective_timeout(opts.request_timeout);
    let client = build_client(config, opts.request_timeout)
        .await
        .map_err(|e| exit::cluster(format!("cannot use {server_url} (context \"{context}\"): {e}")))?;
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Err(_) => {
            return Err(exit::cluster(format!(
                "cannot reach {server_url} (context \"{context}\"): no answer within {}",
                crate::config::duration::format_duration(timeout)
            )));
        }
        Ok(Err(e)) => {
            return Err(exit::cluster(format!(
                "cannot reach {server_url} (context \"{context}\"): {}",
                describe_kube_error(&e)
            )));
        }
        Ok(Ok(_)) => {}
    }
    Ok(Connection {
        client,
        context,
        namespace,
        all_namespaces: opts.all_namespaces,
        server_url,
        user,
        request_timeout: timeout,
    })
}

/// How long an exec credential plugin may take when no `--request-timeout` is given: a
/// plugin that opens a browser for a login needs a while, one that hangs must not hang
/// the terminal.
pub const EXEC_PLUGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client. kube runs the kubeconfig's exec credential plugin right here, on the
/// calling thread, waiting for it however long it takes; it runs on a thread of its own so
/// a plugin that hangs is given up on after the request timeout (30 s when none), with one
/// line naming it. (The thread and the plugin are left behind; the command exits.)
pub async fn build_client(mut config: kube::Config, request_timeout: Option<Duration>) -> Result<kube::Client, String> {
    let Some(plugin) = config.auth_info.exec.as_ref().map(plugin_command) else {
        return kube::Client::try_from(config).map_err(|e| one_line(&e));
    };
    quiet_plugin_without_terminal(&mut config);
    let limit = match request_timeout {
        None => EXEC_PLUGIN_TIMEOUT,
        requested => effective_timeout(requested),
    };
    let (done, answer) = tokio::sync::oneshot::channel();
    // A plain thread, not tokio's blocking pool: nothing waits for it when the command
    // ends, and a hung plugin does not hold one of the pool's threads.
    std::thread::spawn(move || {
        let _ = done.send(kube::Client::try_from(config));
    });
    match tokio::time::timeout(limit, answer).await {
        Err(_) => Err(format!(
            "the exec credential plugin \"{plugin}\" gave no credentials within {}",
            crate::config::duration::format_duration(limit)
        )),
        Ok(Err(_)) => Err(format!("the exec credential plugin \"{plugin}\" did not finish")),
        Ok(Ok(Err(e))) => Err(describe_plugin_error(&e, &plugin)),
        Ok(Ok(Ok(client))) => Ok(client),
    }
}

/// The plugin as the kubeconfig names it (its command, not its arguments).
fn plugin_command(exec: &kube::config::ExecConfig) -> String {
    exec.command.clone().unwrap_or_else(|| "(no command)".into())
}

/// kubectl runs a plugin interactively only when there is a terminal to interact on
/// (`interactiveMode: IfAvailable`, the default); kube always does unless told `Never`.
/// Without a terminal (scripts, CI) the plugin's stderr is captured instead, so its
/// complaint comes back in the one line of the error, not as a stray line of its own.
fn quiet_plugin_without_terminal(config: &mut kube::Config) {
    use kube::config::ExecInteractiveMode;
    use std::io::IsTerminal;
    if let Some(exec) = config.auth_info.exec.as_mut()
        && !matches!(exec.interactive_mode, Some(ExecInteractiveMode::Always))
        && !std::io::stdin().is_terminal()
    {
        exec.interactive_mode = Some(ExecInteractiveMode::Never);
    }
}

/// An exec plugin's failure in an operator's words. kube's own message for a plugin that
/// exits non-zero prints Rust's debug form of the process output (bytes as numbers).
fn describe_plugin_error(e: &kube::Error, plugin: &str) -> String {
    use kube::client::AuthError;
    let cause = match e {
        kube::Error::Auth(AuthError::AuthExecRun { out, .. }) => {
            let said = last_line(&out.stderr).or_else(|| last_line(&out.stdout));
            match said {
                Some(said) => format!("{}: {said}", out.status),
                None => out.status.to_string(),
            }
        }
        kube::Error::Auth(AuthError::AuthExecStart(io)) => io.to_string(),
        // "Executing CMD failed: Os { code: 2, kind: NotFound, message: \"…\" }"
        kube::Error::Auth(AuthError::AuthExec(text)) => match text.split_once("message: \"") {
            Some((_, rest)) => rest.split('"').next().unwrap_or(rest).to_string(),
            None => text.clone(),
        },
        other => one_line(other),
    };
    format!("the exec credential plugin \"{plugin}\" failed: {cause}")
}

/// The last non-empty line of a process's output, trimmed.
fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_string)
}

/// A kube error as one line an operator understands, with the innermost cause.
pub fn describe_kube_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => match status.code {
            401 => "unauthorized: the credentials were rejected (401)".to_string(),
            403 => format!("forbidden: {}", status.message),
            code => format!("{} ({code})", status.message),
        },
        other => {
            let text = one_line(other);
            transport_cause(&text).map(str::to_string).unwrap_or(text)
        }
    }
}

/// A kube error as [`describe_kube_error`] says it, with the cause of a broken connection
/// in an operator's words and the address it was trying: a refused connection, a
/// certificate the kubeconfig's CA does not trust (after the cluster's CA changed), a name
/// that does not resolve.
pub fn describe_kube_error_at(e: &kube::Error, server_url: &str) -> String {
    if let kube::Error::Api(_) = e {
        return describe_kube_error(e);
    }
    let text = one_line(e);
    match transport_cause(&text) {
        Some(cause) => format!("{cause} at {server_url}"),
        None => text,
    }
}

/// The cause of a failed connection, read from the error chain's text (hyper, rustls and
/// the OS wrap it in layers of types; their messages are what is stable).
fn transport_cause(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("unknownissuer") || has("invalid peer certificate") || has("certificate verify failed") {
        Some("certificate not trusted by the kubeconfig's CA (did the cluster's CA change?)")
    } else if has("notvalidforname") || has("certificate is not valid for") {
        Some("certificate not valid for this address (did the cluster's address change?)")
    } else if has("connection refused") {
        Some("connection refused")
    } else if has("dns error") || has("failed to lookup address") {
        Some("address does not resolve")
    } else if has("connection reset") || has("broken pipe") || has("connection closed") {
        Some("connection lost")
    } else if has("timed out") || has("deadline has elapsed") {
        Some("no answer in time")
    } else {
        None
    }
}

/// An error and its causes on one line, deepest cause last, without repeats.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_connections_are_said_in_an_operators_words() {
        let cause = |text: &str| transport_cause(text);
        assert_eq!(
            cause("ServiceError: client error (Connect): invalid peer certificate: UnknownIssuer"),
            Some("certificate not trusted by the kubeconfig's CA (did the cluster's CA change?)")
        );
        assert_eq!(
            cause("client error (Connect): tcp connect error: Connection refused (os error 111)"),
            Some("connection refused")
        );
        assert_eq!(cause("dns error: failed to lookup address information"), Some("address does not resolve"));
        assert_eq!(cause("something else entirely"), None);
    }

    #[test]
    fn a_plugins_complaint_is_its_last_line() {
        assert_eq!(
            last_line(b"starting\nerror: SSO session expired\n\n").as_deref(),
            Some("error: SSO session expired")
        );
        assert_eq!(last_line(b" \n"), None);
    }
}
