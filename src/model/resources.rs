//! CPU and memory as the scheduler counts them: quantities as the API writes them (`250m`,
//! `1Gi`), a pod's effective requests, and the room a scale-up can count on. A leaf of the
//! model: it imports nothing from its siblings, so the service row can carry [`Room`].

use k8s_openapi::api::core::v1::{Container, PodSpec, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// CPU in millicores and memory in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resources {
    pub cpu_m: i64,
    pub memory: i64,
}

impl Resources {
    // Requests are whatever pod specs say: sums saturate instead of wrapping (or panicking).
    pub fn plus(self, other: Resources) -> Resources {
        Resources { cpu_m: self.cpu_m.saturating_add(other.cpu_m), memory: self.memory.saturating_add(other.memory) }
    }

    pub fn minus(self, other: Resources) -> Resources {
        Resources { cpu_m: self.cpu_m.saturating_sub(other.cpu_m), memory: self.memory.saturating_sub(other.memory) }
    }

    pub fn at_least(self, other: Resources) -> Resources {
        Resources { cpu_m: self.cpu_m.max(other.cpu_m), memory: self.memory.max(other.memory) }
    }

    pub fn is_zero(self) -> bool {
        self.cpu_m <= 0 && self.memory <= 0
    }

    /// `250m cpu, 256Mi memory`, as a preview line says it.
    pub fn describe(self) -> String {
        format!("{} cpu, {} memory", format_cpu(self.cpu_m), format_memory(self.memory))
    }
}

/// What a scale-up of one service can count on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Room {
    /// Why the nodes' capacity is not known (the scale preview says so rather than guess).
    Unknown(String),
    /// The pods request no cpu or memory: the scheduler's resource check always passes.
    NoRequests,
    Known {
        per_pod: Resources,
        /// How many more such pods the nodes' free allocatable holds.
        more_pods: u64,
        /// Nodes that take the service's pods (schedulable, taints tolerated).
        nodes: usize,
    },
}

/// What one more pod of a service asks of a node: its effective requests and the taints it
/// tolerates. Kept with the service so its [`Room`] follows the nodes' free capacity
/// without the service being built again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodNeed {
    pub per_pod: Resources,
    pub tolerations: Vec<Toleration>,
}

impl PodNeed {
    pub fn of(spec: Option<&PodSpec>) -> PodNeed {
        PodNeed {
            per_pod: spec.map(pod_requests).unwrap_or_default(),
            tolerations: spec.and_then(|s| s.tolerations.clone()).unwrap_or_default(),
        }
    }
}

/// The largest quantity taken, in base units: 2^63 (what Kubernetes itself can hold). Past
/// it, or not a finite number (`inf`, `NaN`, `1e999`), a quantity does not parse.
pub const QUANTITY_MAX: f64 = 9_223_372_036_854_775_808.0;

/// A quantity in base units (`250m` = 0.25, `1Gi` = 2^30, `1e3` = 1000); `None` when it
/// does not parse or is past [`QUANTITY_MAX`] either way.
pub fn quantity(text: &str) -> Option<f64> {
    quantity_unbounded(text).filter(|n| n.is_finite() && n.abs() <= QUANTITY_MAX)
}

fn quantity_unbounded(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let text = text.trim();
    if let Some((number, factor)) =
        SUFFIXES.iter().find_map(|(suffix, factor)| Some((text.strip_suffix(suffix)?, *factor)))
    {
        return number.parse::<f64>().ok().map(|n| n * factor);
    }
    // A plain number, or one with a decimal exponent (`1e3`, `5E-1`).
    text.parse::<f64>().ok()
}

/// A cpu quantity in millicores, rounded up (0 when it does not parse).
pub fn cpu_m(q: &Quantity) -> i64 {
    quantity(&q.0).map_or(0, |cores| (cores * 1000.0).ceil() as i64)
}

/// A memory quantity in bytes, rounded up (0 when it does not parse).
pub fn bytes(q: &Quantity) -> i64 {
    quantity(&q.0).map_or(0, |b| b.ceil() as i64)
}

/// What one container asks the scheduler for: its requests, else its limits (the API
/// server defaults a missing request to the limit).
fn container_requests(c: &Container) -> Resources {
    let Some(r) = c.resources.as_ref() else { return Resources::default() };
    let get = |name: &str| {
        r.requests.as_ref().and_then(|m| m.get(name)).or_else(|| r.limits.as_ref().and_then(|m| m.get(name)))
    };
    Resources { cpu_m: get("cpu").map_or(0, cpu_m), memory: get("memory").map_or(0, bytes) }
}

/// A pod's effective requests, as the scheduler computes them: the sum of its containers,
/// or the largest init container when that is more.
pub fn pod_requests(spec: &PodSpec) -> Resources {
    let running = spec.containers.iter().map(container_requests).fold(Resources::default(), Resources::plus);
    let init =
        spec.init_containers.iter().flatten().map(container_requests).fold(Resources::default(), Resources::at_least);
    running.at_least(init)
}

/// `250m`, `2`, `1.5` (cores), as kubectl writes cpu.
pub fn format_cpu(milli: i64) -> String {
    if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else if milli % 100 == 0 && milli > 1000 {
        format!("{:.1}", milli as f64 / 1000.0)
    } else {
        format!("{milli}m")
    }
}

/// `256Mi`, `16Gi`, `1.5Gi`: the largest binary unit that keeps one decimal at most.
pub fn format_memory(bytes: i64) -> String {
    const UNITS: [(&str, i64); 4] = [("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes.abs() >= size {
            let value = bytes as f64 / size as f64;
            return if value.fract().abs() < 0.05 {
                format!("{}{unit}", value.round() as i64)
            } else {
                format!("{value:.1}{unit}")
            };
        }
    }
    bytes.to_string()
}
