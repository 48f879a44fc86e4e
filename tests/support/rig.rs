//! A simulated cluster with the demo scenario, the real binary and the real `kubectl`
//! pointed at it, and the audit log of the binary's data dir: the rig of the tests that
//! change things.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cockpit::sim::{RunningSim, SimOptions};

pub struct Rig {
    sim: Option<RunningSim>,
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Rig {
    pub fn start(opts: SimOptions) -> Rig {
        let rig = Rig::start_scenario(opts);
        rig.wait_until("the demo to settle", || rig.stored_replicas("soundspan", "soundspan-frontend").1 == 2);
        rig
    }

    /// The simulator as `opts` say (another scenario than the demo), not waited on.
    pub fn start_scenario(opts: SimOptions) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = rt.block_on(cockpit::sim::start(opts)).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("admin.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        Rig { sim: Some(sim), rt, dir, kubeconfig }
    }

    pub fn sim(&self) -> &RunningSim {
        self.sim.as_ref().unwrap()
    }

    pub fn cockpit_as(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env("KUBECTL_COCKPIT_CONFIG", self.dir.path().join("config"))
            .env("KUBECTL_COCKPIT_DATA", self.dir.path().join("data"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn cockpit(&self, args: &[&str]) -> Output {
        self.cockpit_as(&self.kubeconfig, args)
    }

    /// The binary started in the background, with the rig's folders (to be killed).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("KUBECTL_COCKPIT_CONFIG", self.config_dir())
            .env("KUBECTL_COCKPIT_DATA", self.data_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// (spec.replicas, status.readyReplicas) as kubectl reports them.
    pub fn replicas(&self, ns: &str, name: &str) -> (i64, i64) {
        let text =
            self.kubectl(&["get", "deploy", name, "-n", ns, "-o", "jsonpath={.spec.replicas} {.status.readyReplicas}"]);
        let mut parts = text.split_whitespace().map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// The same numbers straight from the simulator's store: cheap enough to poll, and
    /// independent of the permissions of the user under test.
    pub fn stored_replicas(&self, ns: &str, name: &str) -> (i64, i64) {
        let rt = cockpit::sim::resources::resource("deployments").unwrap();
        let d = self.sim().store().get(rt, ns, name).unwrap();
        (d["spec"]["replicas"].as_i64().unwrap_or(0), d["status"]["readyReplicas"].as_i64().unwrap_or(0))
    }

    pub fn wait_until(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn audit(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("data").join("audit.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

/// What a command printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.sim.take();
    }
}
