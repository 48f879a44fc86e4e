//! How simulated containers behave, per image: pull and start times, readiness pattern,
//! crash loop, shutdown time, log generators. Every delay here is in *scenario time*;
//! the world multiplies it by the scenario's time scale.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::sim::spec::FaultSpec;

/// The simulator section of a scenario, resolved.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Real time per scenario time: 1.0 plays at human pace, 0.01 plays five minutes in three seconds.
    pub time_scale: f64,
    pub nodes: Vec<NodeConfig>,
    /// Behaviour of images no rule matches.
    pub defaults: Behaviour,
    /// First matching rule wins.
    pub rules: Vec<ImageRule>,
    /// Initial scripted CPU utilisation per HPA.
    pub loads: Vec<HpaLoad>,
    pub hpa: HpaTuning,
    pub timeline: Vec<Step>,
    /// Start as a cluster that has run for a while (see `world::settle`).
    pub settled: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            time_scale: 1.0,
            nodes: default_nodes(),
            defaults: Behaviour::default(),
            rules: Vec::new(),
            loads: Vec::new(),
            hpa: HpaTuning::default(),
            timeline: Vec::new(),
            settled: false,
        }
    }
}

pub fn default_nodes() -> Vec<NodeConfig> {
    (1..=3)
        .map(|i| NodeConfig {
            name: format!("sim-node-{i}"),
            cpu: "8".into(),
            memory: "32Gi".into(),
            pods: 110,
            labels: BTreeMap::new(),
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    pub name: String,
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
    pub labels: BTreeMap<String, String>,
}

/// Shell-style pattern with `*` as the only wildcard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(pub String);

impl Glob {
    pub fn any() -> Self {
        Glob("*".into())
    }

    pub fn matches(&self, text: &str) -> bool {
        glob_match(self.0.as_bytes(), text.as_bytes())
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((c, rest)) => text.split_first().is_some_and(|(t, trest)| t == c && glob_match(rest, trest)),
    }
}

#[derive(Clone, Debug)]
pub struct ImageRule {
    pub image: Glob,
    pub namespace: Glob,
    pub behaviour: Behaviour,
}

impl ImageRule {
    pub fn matches(&self, image: &str, namespace: &str) -> bool {
        self.image.matches(image) && self.namespace.matches(namespace)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Behaviour {
    /// Image pull time (first start on a node only).
    pub pull: Duration,
    /// From container start until it answers its probes.
    pub start: Duration,
    pub readiness: Readiness,
    pub crash: Option<Crash>,
    /// From SIGTERM until the container has exited.
    pub shutdown: Duration,
    pub logs: Vec<LogGenerator>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            pull: Duration::from_secs(2),
            start: Duration::from_secs(3),
            readiness: Readiness::Healthy,
            crash: None,
            shutdown: Duration::from_secs(1),
            logs: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Readiness {
    /// Every probe passes once started.
    Healthy,
    /// Started and alive, but readiness always fails (HTTP 503).
    Never,
    /// Readiness passes for `ready`, then fails for `unready`, and again; each pod starts
    /// at a different point of the cycle.
    Flapping { ready: Duration, unready: Duration },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Crash {
    /// The process exits this long after it started.
    pub after: Duration,
    pub exit_code: i32,
    /// Last log line before it exits.
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogGenerator {
    pub name: String,
    /// One line per interval (with a little jitter).
    pub every: Duration,
    /// Off until a timeline step enables it.
    pub enabled: bool,
    pub lines: Vec<Template>,
}

/// A log line template: text with placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct Template(pub Vec<Piece>);

#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Pod,
    Namespace,
    Container,
    Node,
    PodIp,
    /// Increments per generator run of a container.
    Counter,
    Int(i64, i64),
    Pick(Vec<String>),
    Hex(usize),
    Time,
}

pub const PLACEHOLDERS: &str =
    "{pod}, {namespace}, {container}, {node}, {ip}, {counter}, {int:LOW-HIGH}, {pick:a|b|c}, {hex:N}, {time}";

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(open) = rest.find('{') {
            // JSON log lines are full of braces: only `{` + a lowercase name opens a placeholder.
            if !rest[open + 1..].starts_with(|c: char| c.is_ascii_lowercase()) {
                literal.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
                continue;
            }
            literal.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("unclosed placeholder in {text:?}: expected one of {PLACEHOLDERS}"));
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            let inner = &rest[open + 1..open + close];
            pieces.push(parse_placeholder(inner).ok_or_else(|| {
                format!("unknown placeholder {{{inner}}} in {text:?}: expected one of {PLACEHOLDERS}")
            })?);
            rest = &rest[open + close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template(pieces))
    }

    /// Whether the template mentions anything at all (an empty line is a mistake).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_placeholder(inner: &str) -> Option<Piece> {
    let (name, arg) = inner.split_once(':').map(|(n, a)| (n, Some(a))).unwrap_or((inner, None));
    Some(match (name, arg) {
        ("pod", None) => Piece::Pod,
        ("namespace", None) => Piece::Namespace,
        ("container", None) => Piece::Container,
        ("node", None) => Piece::Node,
        ("ip", None) => Piece::PodIp,
        ("counter", None) => Piece::Counter,
        ("time", None) => Piece::Time,
        ("int", Some(range)) => {
            let (lo, hi) = range.split_once('-')?;
            let (lo, hi): (i64, i64) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
            if lo > hi {
                return None;
            }
            Piece::Int(lo, hi)
        }
        ("pick", Some(choices)) => Piece::Pick(choices.split('|').map(str::to_string).collect()),
        ("hex", Some(n)) => Piece::Hex(n.parse().ok().filter(|n| *n > 0 && *n <= 64)?),
        _ => return None,
    })
}

/// What a template is rendered with.
pub struct LineContext<'a> {
    pub pod: &'a str,
    pub namespace: &'a str,
    pub container: &'a str,
    pub node: &'a str,
    pub ip: &'a str,
    pub counter: u64,
}

impl Template {
    pub fn render(&self, cx: &LineContext<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Pod => out.push_str(cx.pod),
                Piece::Namespace => out.push_str(cx.namespace),
                Piece::Container => out.push_str(cx.container),
                Piece::Node => out.push_str(cx.node),
                Piece::PodIp => out.push_str(cx.ip),
                Piece::Counter => out.push_str(&cx.counter.to_string()),
                Piece::Int(lo, hi) => out.push_str(&fastrand::i64(*lo..=*hi).to_string()),
                Piece::Pick(choices) => out.push_str(&choices[fastrand::usize(..choices.len())]),
                Piece::Hex(n) => (0..*n).for_each(|_| out.push(fastrand::alphanumeric().to_ascii_lowercase())),
                Piece::Time => out.push_str(&jiff::Timestamp::now().to_string()),
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HpaLoad {
    pub namespace: String,
    pub name: String,
    /// Average CPU utilisation (percent of request) measured now; the demand behind it
    /// stays, so more replicas lower it as real traffic would.
    pub utilization: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HpaTuning {
    /// How often the HPA controller evaluates (the real default is 15s).
    pub sync: Duration,
    /// Scale-down stabilisation when the HPA's own `behavior` does not set one.
    pub scale_down_stabilization: Duration,
}

impl Default for HpaTuning {
    fn default() -> Self {
        HpaTuning { sync: Duration::from_secs(15), scale_down_stabilization: Duration::from_secs(300) }
    }
}

#[derive(Clone, Debug)]
pub struct Step {
    pub at: Duration,
    pub action: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    pub fn plural(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Action {
    /// Turn a named log generator on or off for containers matching image/namespace.
    Logs {
        image: Glob,
        namespace: Glob,
        generator: String,
        enabled: bool,
    },
    /// Change how an image behaves from now on (e.g. a tag that never becomes ready).
    SetBehaviour(ImageRule),
    /// As `kubectl set image`: change a workload's container image.
    SetImage {
        namespace: String,
        kind: WorkloadKind,
        name: String,
        container: Option<String>,
        image: String,
    },
    /// Set the scripted CPU utilisation behind an HPA.
    HpaLoad(HpaLoad),
    /// As `kubectl scale`.
    Scale {
        namespace: String,
        kind: WorkloadKind,
        name: String,
        replicas: i64,
    },
    Fault(FaultSpec),
}

impl SimConfig {
    /// The behaviour of a container image in a namespace.
    pub fn behaviour_for(&self, image: &str, namespace: &str) -> &Behaviour {
        self.rules.iter().find(|r| r.matches(image, namespace)).map(|r| &r.behaviour).unwrap_or(&self.defaults)
    }

    /// Real time for a scenario delay.
    pub fn real(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale)
    }

    pub fn real_secs(&self, secs: f64) -> Duration {
        Duration::try_from_secs_f64((secs * self.time_scale).max(0.0)).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_image_patterns() {
        let g = Glob("ghcr.io/soundspan/*:latest".into());
        assert!(g.matches("ghcr.io/soundspan/soundspan-backend:latest"));
        assert!(!g.matches("ghcr.io/soundspan/soundspan-backend:v2"));
        assert!(Glob::any().matches(""));
    }

    #[test]
    fn templates_render_placeholders() {
        let t = Template::parse("[{pod}] took {int:5-5}ms #{counter} {pick:a}").unwrap();
        let cx = LineContext { pod: "p", namespace: "n", container: "c", node: "x", ip: "1", counter: 7 };
        assert_eq!(t.render(&cx), "[p] took 5ms #7 a");
        assert!(Template::parse("{podname}").unwrap_err().contains("unknown placeholder {podname}"));
        let json = Template::parse(r#"{"status":{int:200-200},"x":{}}"#).unwrap();
        assert_eq!(
            json.0,
            vec![Piece::Text(r#"{"status":"#.into()), Piece::Int(200, 200), Piece::Text(r#","x":{}}"#.into())]
        );
        assert!(Template::parse("{int:9-1}").is_err());
    }
}
