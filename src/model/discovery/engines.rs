//! Which workloads are database servers or poolers, read from the images they run and
//! the settings those images take. No annotation needed: a first run on a cluster nobody
//! prepared still finds its PostgreSQL and its PgBouncer.

use crate::model::service::ContainerImage;

/// What a workload runs, as far as the budget cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    PgBouncer,
}

/// The image's repository name, last path segment, lower-cased:
/// `docker.io/bitnami/postgresql:16.2@sha256:…` → `postgresql`.
fn repository(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    last.split(':').next().unwrap_or_default().to_ascii_lowercase()
}

/// Images that run a tool beside a database rather than the database itself.
const NOT_A_SERVER: &[&str] = &["exporter", "operator", "backup", "pgadmin", "client", "proxy", "pgbouncer", "migrat"];

/// PostgreSQL and its common builds: postgres, postgresql (Bitnami, CloudNativePG),
/// pgvector, postgis, timescaledb(-ha), spilo (Zalando), crunchy-postgres, percona-postgresql.
const POSTGRES_IMAGES: &[&str] = &[
    "postgres",
    "pgvector",
    "postgis",
    "timescaledb",
    "spilo",
    "crunchy-postgres",
    "percona-postgresql",
    "supabase-postgres",
];

pub fn engine_of(image: &str) -> Option<Engine> {
    let repo = repository(image);
    if repo.contains("pgbouncer") && !repo.contains("exporter") {
        return Some(Engine::PgBouncer);
    }
    let postgres = POSTGRES_IMAGES.iter().any(|p| repo.starts_with(p));
    (postgres && !NOT_A_SERVER.iter().any(|n| repo.contains(n))).then_some(Engine::Postgres)
}

/// The engine a pod template runs: the first container that is a server or a pooler
/// (sidecars such as exporters are not).
pub fn engine_of_containers(containers: &[ContainerImage]) -> Option<(Engine, &str)> {
    containers.iter().find_map(|c| engine_of(&c.image).map(|e| (e, c.container.as_str())))
}

/// PostgreSQL's own `max_connections` when nothing sets it.
pub const POSTGRES_DEFAULT_MAX_CONNECTIONS: u32 = 100;

/// PgBouncer's defaults (pgbouncer.ini's documented values).
pub const PGBOUNCER_DEFAULT_POOL_SIZE: u32 = 20;
pub const PGBOUNCER_DEFAULT_MAX_CLIENT_CONN: u32 = 100;

/// A PgBouncer setting by its ini name, as the common images take it from env:
/// `DEFAULT_POOL_SIZE` (edoburu), `PGBOUNCER_DEFAULT_POOL_SIZE` (Bitnami).
pub fn pooler_env_names(setting: &str) -> [String; 2] {
    let upper = setting.to_ascii_uppercase();
    [upper.clone(), format!("PGBOUNCER_{upper}")]
}

/// The host a pooler forwards to, by its images' env: `DB_HOST` (edoburu),
/// `POSTGRESQL_HOST` (Bitnami), `DATABASE_URL`, `PGBOUNCER_DATABASE_HOST`.
pub fn pooler_upstream_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["DB_HOST", "POSTGRESQL_HOST", "POSTGRES_HOST", "DATABASE_URL", "PGBOUNCER_DATABASE_HOST"].contains(&upper.as_str())
}

/// The settings of a `pgbouncer.ini`: `[pgbouncer]` keys, and the host of each
/// `[databases]` entry (`app = host=pg.data port=5432 dbname=app`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolerIni {
    pub settings: Vec<(String, String)>,
    pub hosts: Vec<String>,
}

pub fn parse_pgbouncer_ini(text: &str) -> Option<PoolerIni> {
    let mut section = String::new();
    let mut ini = PoolerIni::default();
    let mut seen_pgbouncer = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            seen_pgbouncer |= section == "pgbouncer";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key, value) = (key.trim(), value.trim());
        match section.as_str() {
            "pgbouncer" => ini.settings.push((key.to_ascii_lowercase(), value.to_string())),
            "databases" => {
                if let Ok(host) = super::address::host_of(value, super::address::Shape::Url) {
                    ini.hosts.push(host);
                }
            }
            _ => {}
        }
    }
    seen_pgbouncer.then_some(ini)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_poolers_are_known_by_their_images() {
        for image in [
            "postgres:16",
            "docker.io/bitnami/postgresql:16.2.0@sha256:0123",
            "ghcr.io/cloudnative-pg/postgresql:16.3",
            "pgvector/pgvector:pg16",
            "postgis/postgis:16-3.4",
            "timescale/timescaledb-ha:pg16",
            "ghcr.io/zalando/spilo-16:3.2-p2",
            "registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi8-16.2",
        ] {
            assert_eq!(engine_of(image), Some(Engine::Postgres), "{image}");
        }
        for image in ["edoburu/pgbouncer:1.22", "bitnami/pgbouncer:1", "percona/percona-pgbouncer:1.0"] {
            assert_eq!(engine_of(image), Some(Engine::PgBouncer), "{image}");
        }
        for image in [
            "prometheuscommunity/postgres-exporter:v0.15",
            "registry.opensource.zalan.do/acid/postgres-operator:v1.12",
            "dpage/pgadmin4",
            "nginx:1.27",
            "prometheuscommunity/pgbouncer-exporter:v0.7",
            "ghcr.io/example/postgres-backup:1",
        ] {
            assert_eq!(engine_of(image), None, "{image}");
        }
    }

    #[test]
    fn a_pgbouncer_ini_gives_its_pool_settings_and_upstream() {
        let ini = parse_pgbouncer_ini(
            "[databases]\nledger = host=pg.data port=5432 dbname=ledger\n\n[pgbouncer]\n; comment\ndefault_pool_size = 25\nmax_client_conn=400\n",
        )
        .unwrap();
        assert_eq!(ini.hosts, ["pg.data"]);
        assert_eq!(ini.settings, [("default_pool_size".into(), "25".into()), ("max_client_conn".into(), "400".into())]);
        assert_eq!(parse_pgbouncer_ini("key = value\n"), None, "not a pgbouncer.ini");
    }
}
