//! The simulated cluster: a Kubernetes API server emulator on loopback that the real
//! `kubectl` and kube-rs accept. It is the demo (`--demo`), the test bed and the
//! benchmark rig. The cockpit reaches it only over the network (https, with a CA made at
//! start), like any other cluster.
//!
//! Two halves meet here:
//! - the API server (`server`, `tls`, `api`, `auth`, `faults`, `metrics`, `crd`): https
//!   and plain HTTP on one port, discovery, verbs, tables, patches, watches, logs
//!   endpoint, RBAC, fault injection, and the kinds CustomResourceDefinitions add;
//! - the world (`world`): scenarios, controllers, kubelet, log generators, timeline.
//!
//! They share only `store` (objects), `logs` (container logs) and `spec` (users, faults).
//! [`start`] wires them: load the scenario, seed the store, bind, serve, run the world.

pub mod api;
pub mod auth;
pub mod churn;
pub mod crd;
pub mod error;
pub mod expiry;
pub mod faults;
pub mod kubeconfig;
pub mod logs;
pub mod meta;
pub mod metrics;
pub mod resources;
pub mod server;
pub mod spec;
pub mod store;
pub mod tls;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use tokio::task::JoinHandle;

use api::ApiState;
use auth::Auth;
use faults::Faults;
use logs::LogStore;
use spec::{FaultSink, UserSpec};
use store::Store;
use world::{Scenario, ScenarioSource, WorldContext};

/// How often a watch that allows bookmarks gets one, unless told otherwise.
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

/// What to simulate and where to listen (the `sim serve` flags, plus test knobs).
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Built-in scenario name (`demo` when nothing is given) or a scenario YAML path.
    pub scenario: Option<String>,
    /// A directory of plain manifests.
    pub manifests: Option<PathBuf>,
    /// A generated large cluster with about this many pods.
    pub pods: Option<usize>,
    /// `HOST:PORT`; default `127.0.0.1:0` (an ephemeral port).
    pub addr: Option<String>,
    /// Users added to the scenario's (tests of RBAC).
    pub extra_users: Vec<UserSpec>,
    /// Bookmark period for watches; default [`DEFAULT_BOOKMARK_INTERVAL`].
    pub bookmark_interval: Option<Duration>,
    /// Serve the API over an empty store with no controllers (tests of the API half seed
    /// objects themselves and must not race a controller over them).
    pub api_only: bool,
    /// Pod updates per second from the start (see [`churn`]); 0: none.
    pub churn: f64,
    /// How long an Event lives after its last write; default [`expiry::DEFAULT_EVENT_TTL`].
    pub event_ttl: Option<Duration>,
}

impl SimOptions {
    /// The scenario these options name: `--manifests`, `--pods`, a scenario file (a
    /// path with `/` or ending in `.yaml`/`.yml`) or a built-in name (default `demo`).
    pub fn source(&self) -> Result<ScenarioSource> {
        let chosen = [self.scenario.is_some(), self.manifests.is_some(), self.pods.is_some()];
        if chosen.iter().filter(|c| **c).count() > 1 {
            return Err(crate::exit::usage("choose one of --scenario, --manifests and --pods"));
        }
        if let Some(dir) = &self.manifests {
            return Ok(ScenarioSource::Manifests(dir.clone()));
        }
        if let Some(pods) = self.pods {
            return Ok(ScenarioSource::Large { pods });
        }
        let name = self.scenario.clone().unwrap_or_else(|| "demo".into());
        if name.contains('/') || name.ends_with(".yaml") || name.ends_with(".yml") {
            Ok(ScenarioSource::File(PathBuf::from(name)))
        } else {
            Ok(ScenarioSource::Builtin(name))
        }
    }
}

/// A simulated cluster serving on `addr`; dropping it stops the server and the world.
pub struct RunningSim {
    pub addr: SocketAddr,
    pub scenario: String,
    state: Arc<ApiState>,
    /// The CA that signed the server's certificate (PEM), for kubeconfigs.
    ca_pem: String,
    server: JoinHandle<()>,
    world: JoinHandle<()>,
}

/// Loads the scenario the options name and starts it (see [`start_with`]).
pub async fn start(opts: SimOptions) -> Result<RunningSim> {
    let source = opts.source()?;
    let scenario = world::load(&source).wrap_err_with(|| format!("loading scenario {source:?}"))?;
    start_with(scenario, opts).await
}

/// Starts an already loaded scenario: seeds the store, binds the listener, then serves
/// and runs the world in background tasks of the current tokio runtime.
pub async fn start_with(mut scenario: Scenario, opts: SimOptions) -> Result<RunningSim> {
    scenario.users.extend(opts.extra_users.iter().cloned());
    let store = Arc::new(Store::default());
    let logs = Arc::new(LogStore::default());
    let faults = Arc::new(Faults::new(store.clone()));
    let ctx = WorldContext { store: store.clone(), logs: logs.clone(), faults: faults.clone() };
    if !opts.api_only {
        world::seed(&scenario, &ctx).wrap_err_with(|| format!("seeding scenario {}", scenario.name))?;
    }
    let wanted = opts.addr.clone().unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&wanted).await.wrap_err_with(|| format!("listening on {wanted}"))?;
    let addr = listener.local_addr().wrap_err("reading the listening address")?;
    let tls = tls::generate()?;
    let state = Arc::new(ApiState {
        store,
        logs,
        faults,
        metrics: Default::default(),
        auth: Auth::new(scenario.users.clone(), new_token()),
        bookmark_interval: opts.bookmark_interval.unwrap_or(DEFAULT_BOOKMARK_INTERVAL),
        addr,
        churn: Default::default(),
    });
    state.churn.set(opts.churn);
    let server = server::spawn(listener, state.clone(), tls.acceptor);
    let name = scenario.name.clone();
    // Events expire as the API server's leases make them, controllers or not.
    let ttl = opts.event_ttl.unwrap_or(expiry::DEFAULT_EVENT_TTL);
    let expiry = AbortOnDrop(tokio::spawn(expiry::run(state.store.clone(), ttl)));
    let world = match opts.api_only {
        true => tokio::spawn(async move {
            let _expiry = expiry;
            std::future::pending::<()>().await;
        }),
        false => {
            // The churn ends with the world (the guard aborts it when this task is dropped).
            let churn = AbortOnDrop(tokio::spawn(churn::run(state.store.clone(), state.churn.clone())));
            tokio::spawn(async move {
                let (_churn, _expiry) = (churn, expiry);
                world::run(scenario, ctx).await;
            })
        }
    };
    Ok(RunningSim { addr, scenario: name, state, ca_pem: tls.ca_pem, server, world })
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn new_token() -> String {
    (0..32).map(|_| format!("{:x}", fastrand::u8(..16))).collect()
}

impl RunningSim {
    /// The plain-HTTP address of the port. Enough where no credentials matter (a scenario
    /// without users) and for kube-rs, which sends tokens over HTTP too; kubectl sends
    /// tokens and `--as` only to [`RunningSim::https_url`].
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The https address of the same port, whose certificate [`RunningSim::ca_pem`] signed.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The throw-away CA of this run (PEM), which clients of [`RunningSim::https_url`] trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig for this server as `admin` (full rights, even when the scenario
    /// declares users), over https so that kubectl sends the token and `--as`.
    pub fn kubeconfig(&self) -> kube::config::Kubeconfig {
        self.tls_kubeconfig(self.state.auth.admin_token())
    }

    /// A kubeconfig for one of the scenario's users, over https; `None` for an unknown name.
    pub fn kubeconfig_for_user(&self, user: &str) -> Option<kube::config::Kubeconfig> {
        self.state.auth.token_of(user).map(|token| self.tls_kubeconfig(token))
    }

    fn tls_kubeconfig(&self, token: &str) -> kube::config::Kubeconfig {
        kubeconfig::tls_kubeconfig(&self.https_url(), &self.ca_pem, token)
    }

    /// Writes [`RunningSim::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> Result<()> {
        kubeconfig::write(path, &self.kubeconfig())
    }

    pub fn store(&self) -> Arc<Store> {
        self.state.store.clone()
    }

    pub fn logs(&self) -> Arc<LogStore> {
        self.state.logs.clone()
    }

    pub fn faults(&self) -> Arc<dyn FaultSink> {
        self.state.faults.clone()
    }

    /// The `GET /sim/metrics` document.
    pub fn metrics(&self) -> serde_json::Value {
        self.state.metrics.snapshot()
    }

    /// Whether the world task ended (it runs until the simulator stops, unless it failed).
    pub fn world_finished(&self) -> bool {
        self.world.is_finished()
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.server.abort();
        self.world.abort();
    }
}
