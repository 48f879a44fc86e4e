//! Drift across clusters: the same service (namespace/name) run in several clusters whose
//! images, replicas, HPA bounds, env var names or probe settings differ. Env var values
//! are never compared nor shown (they may be secrets): only which names are set.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::service::{ProbeSummary, Service};

/// One thing that differs, with what each cluster says (in the order the clusters were given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `replicas`, `image api`, `hpa max`, `env api`, `readiness probe api`.
    pub field: String,
    pub values: Vec<String>,
}

/// What a cluster that does not run the service shows in every row.
pub const ABSENT: &str = "(absent)";

/// What a cluster shows for a thing its copy of the service does not have.
const NONE: &str = "-";

/// The differences of one service across clusters: `sides` holds each cluster's copy, or
/// `None` where the cluster has no such service. Empty when every copy is the same.
pub fn compare(sides: &[Option<&Service>]) -> Vec<Difference> {
    let mut rows: Vec<Difference> = Vec::new();
    let row = |rows: &mut Vec<Difference>, field: String, values: Vec<String>| {
        // A cluster without the service differs in `exists`, not in every row again.
        let present: BTreeSet<&String> = values.iter().filter(|v| v.as_str() != ABSENT).collect();
        if present.len() > 1 {
            rows.push(Difference { field, values });
        }
    };
    let each = |f: &dyn Fn(&Service) -> String| -> Vec<String> {
        sides.iter().map(|s| s.map_or_else(|| ABSENT.to_string(), f)).collect()
    };
    if sides.iter().any(Option::is_none) && sides.iter().any(Option::is_some) {
        rows.push(Difference {
            field: "exists".into(),
            values: sides.iter().map(|s| s.map_or(ABSENT, |_| "yes").to_string()).collect(),
        });
    }
    row(&mut rows, "kind".into(), each(&|s| s.key.kind.as_str().to_string()));
    row(&mut rows, "replicas".into(), each(&|s| s.replicas.desired.to_string()));
    row(&mut rows, "hpa min".into(), each(&|s| s.hpa.as_ref().map_or_else(|| NONE.into(), |h| h.min.to_string())));
    row(&mut rows, "hpa max".into(), each(&|s| s.hpa.as_ref().map_or_else(|| NONE.into(), |h| h.max.to_string())));

    let containers: BTreeSet<&str> =
        sides.iter().flatten().flat_map(|s| s.containers.iter().map(|c| c.container.as_str())).collect();
    for container in &containers {
        row(
            &mut rows,
            format!("image {container}"),
            each(&|s| {
                s.containers.iter().find(|c| c.container == *container).map_or_else(|| NONE.into(), |c| c.image.clone())
            }),
        );
    }

    // Env var names: each cluster shows the names not every copy sets (the common ones
    // would only hide the difference).
    let env_containers: BTreeSet<&str> =
        sides.iter().flatten().flat_map(|s| s.env.iter().map(|e| e.container.as_str())).collect();
    for container in &env_containers {
        let names = |s: &Service| -> BTreeSet<String> {
            s.env.iter().filter(|e| e.container == *container).map(|e| e.name.clone()).collect()
        };
        let sets: Vec<Option<BTreeSet<String>>> = sides.iter().map(|s| s.map(names)).collect();
        let present: Vec<&BTreeSet<String>> = sets.iter().flatten().collect();
        if present.windows(2).all(|w| w[0] == w[1]) {
            continue;
        }
        let common: BTreeSet<&String> = present
            .iter()
            .skip(1)
            .fold(present[0].iter().collect(), |acc, set| acc.into_iter().filter(|n| set.contains(*n)).collect());
        let values = sets
            .iter()
            .map(|set| match set {
                None => ABSENT.to_string(),
                Some(set) => {
                    let own: Vec<&str> = set.iter().filter(|n| !common.contains(n)).map(String::as_str).collect();
                    if own.is_empty() { NONE.to_string() } else { own.join(", ") }
                }
            })
            .collect();
        rows.push(Difference { field: format!("env {container}"), values });
    }

    let probes: BTreeSet<(String, &'static str)> =
        sides.iter().flatten().flat_map(|s| s.probes.iter().map(|p| (p.container.clone(), probe_word(p)))).collect();
    for (container, kind) in &probes {
        let probe_of =
            |s: &Service| s.probes.iter().find(|p| p.container == *container && probe_word(p) == *kind).cloned();
        let found: Vec<Option<Option<ProbeSummary>>> = sides.iter().map(|s| s.map(probe_of)).collect();
        // Whether the probe is there at all, then each setting among the copies that have it.
        let presence = found.iter().map(|f| match f {
            None => ABSENT.to_string(),
            Some(None) => NONE.to_string(),
            Some(Some(_)) => "yes".to_string(),
        });
        row(&mut rows, format!("{kind} probe {container}"), presence.collect());
        let settings: [(&str, ProbeSetting); 5] = [
            ("handler", |p| p.handler.clone()),
            ("initial delay", |p| format!("{}s", p.initial_delay_s)),
            ("period", |p| format!("{}s", p.period_s)),
            ("timeout", |p| format!("{}s", p.timeout_s)),
            ("failure threshold", |p| p.failure_threshold.to_string()),
        ];
        for (setting, value) in settings {
            let values: Vec<String> = found
                .iter()
                .map(|f| match f {
                    None => ABSENT.to_string(),
                    Some(None) => NONE.to_string(),
                    Some(Some(p)) => value(p),
                })
                .collect();
            let with_probe: BTreeSet<&String> =
                found.iter().zip(&values).filter(|(f, _)| matches!(f, Some(Some(_)))).map(|(_, v)| v).collect();
            if with_probe.len() > 1 {
                rows.push(Difference { field: format!("{kind} probe {container} {setting}"), values });
            }
        }
    }
    rows
}

/// One setting of a probe, as the difference shows it.
type ProbeSetting = fn(&ProbeSummary) -> String;

fn probe_word(p: &ProbeSummary) -> &'static str {
    match p.probe {
        super::service::ProbeKind::Startup => "startup",
        super::service::ProbeKind::Readiness => "readiness",
        super::service::ProbeKind::Liveness => "liveness",
    }
}

/// Namespace and name: what makes two clusters' services "the same service".
pub type SameService = (String, String);

/// Every service that runs in at least two of `clusters` and differs between them, with
/// its differences (values in the order of `clusters`).
pub fn across<S: std::borrow::Borrow<Service>>(clusters: &[&[S]]) -> BTreeMap<SameService, Vec<Difference>> {
    let mut copies: BTreeMap<SameService, Vec<Option<&Service>>> = BTreeMap::new();
    for (i, services) in clusters.iter().enumerate() {
        for s in services.iter().map(std::borrow::Borrow::borrow) {
            let sides = copies
                .entry((s.key.namespace.clone(), s.key.name.clone()))
                .or_insert_with(|| vec![None; clusters.len()]);
            sides[i].get_or_insert(s);
        }
    }
    copies
        .into_iter()
        .filter(|(_, sides)| sides.iter().flatten().count() > 1)
        .filter_map(|(same, sides)| {
            let differences = compare(&sides);
            (!differences.is_empty()).then_some((same, differences))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::{ContainerImage, EnvValue, EnvVar, HpaSummary, ProbeKind};

    fn service(image: &str, replicas: i32, env: &[&str]) -> Service {
        let mut s = Service::example("shop", "api", replicas);
        s.containers = vec![ContainerImage { container: "api".into(), image: image.into() }];
        s.env = env
            .iter()
            .map(|n| EnvVar {
                container: "api".into(),
                name: n.to_string(),
                value: EnvValue::Literal("secret-value".into()),
            })
            .collect();
        s
    }

    #[test]
    fn identical_copies_do_not_drift() {
        let a = service("api:1.0", 3, &["A"]);
        assert!(compare(&[Some(&a), Some(&a.clone())]).is_empty());
    }

    #[test]
    fn images_replicas_and_env_names_are_compared_never_env_values() {
        let a = service("api:1.0", 3, &["DB_URL", "LOG_LEVEL"]);
        let mut b = service("api:1.1", 2, &["DB_URL", "FEATURE_X"]);
        b.env[0].value = EnvValue::Literal("another-secret".into());
        let d = compare(&[Some(&a), Some(&b)]);
        let field = |name: &str| d.iter().find(|d| d.field == name).map(|d| d.values.clone());
        assert_eq!(field("replicas"), Some(vec!["3".into(), "2".into()]));
        assert_eq!(field("image api"), Some(vec!["api:1.0".into(), "api:1.1".into()]));
        assert_eq!(field("env api"), Some(vec!["LOG_LEVEL".into(), "FEATURE_X".into()]));
        let text = format!("{d:?}");
        assert!(!text.contains("secret"), "an env value leaked: {text}");
    }

    #[test]
    fn hpa_bounds_probes_and_absence() {
        let a = service("api:1.0", 3, &[]);
        let mut b = a.clone();
        b.hpa = Some(HpaSummary {
            name: "api".into(),
            min: 2,
            max: 10,
            current: 3,
            desired: 3,
            targets: vec![],
            resource_version: None,
        });
        let probe = |period| ProbeSummary {
            container: "api".into(),
            probe: ProbeKind::Readiness,
            handler: "HTTP GET /ready :8080".into(),
            initial_delay_s: 0,
            period_s: period,
            timeout_s: 1,
            failure_threshold: 3,
            grace_s: 30,
        };
        let mut a2 = a.clone();
        a2.probes = vec![probe(10)];
        b.probes = vec![probe(5)];
        let d = compare(&[Some(&a2), Some(&b), None]);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["exists", "hpa min", "hpa max", "readiness probe api period"]);
        assert_eq!(d[0].values, ["yes", "yes", ABSENT]);
        assert_eq!(d[2].values, ["-", "10", ABSENT]);
        assert_eq!(d[3].values, ["10s", "5s", ABSENT]);
        b.probes.clear();
        let d = compare(&[Some(&a2), Some(&b)]);
        let probe_rows: Vec<(&str, &[String])> =
            d.iter().filter(|d| d.field.contains("probe")).map(|d| (d.field.as_str(), d.values.as_slice())).collect();
        assert_eq!(probe_rows, [("readiness probe api", &["yes".to_string(), "-".to_string()][..])]);
    }

    #[test]
    fn across_a_fleet_only_shared_services_that_differ() {
        let a = vec![service("api:1.0", 3, &[]), Service::example("shop", "only-here", 1)];
        let b = vec![service("api:1.1", 3, &[])];
        let found = across(&[a.as_slice(), b.as_slice()]);
        assert_eq!(found.keys().collect::<Vec<_>>(), [&("shop".to_string(), "api".to_string())]);
    }
}
