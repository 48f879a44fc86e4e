//! Connection strings as services write them, read for the one thing the cockpit needs:
//! which host they point at. User names and passwords are never kept: a URL is cut down
//! to its host before anything else sees it, and a literal shown on screen has its
//! credentials blanked first.

/// What an environment variable that names a database holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A URL or a libpq DSN (`postgres://…`, `host=… port=…`).
    Url,
    /// A bare host name (`PGHOST`).
    Host,
}

/// Whether an environment variable names the database a service connects to, by the
/// names frameworks and teams use: `DATABASE_URL`, `*_DATABASE_URL`, `*_DSN`, `PGHOST`,
/// `*_DB_HOST`, `*_POSTGRES_HOST`, `*_PG_HOST` (each also without a prefix).
pub fn database_var(name: &str) -> Option<Shape> {
    let name = name.to_ascii_uppercase();
    let any = |suffix: &str| name == suffix.trim_start_matches('_') || name.ends_with(suffix);
    if any("_DATABASE_URL") || any("_DSN") || any("_POSTGRES_URL") || any("_PG_URL") {
        Some(Shape::Url)
    } else if name == "PGHOST"
        || any("_DB_HOST")
        || any("_POSTGRES_HOST")
        || any("_POSTGRESQL_HOST")
        || any("_PG_HOST")
        || any("_DATABASE_HOST")
    {
        Some(Shape::Host)
    } else {
        None
    }
}

/// Why a value names no PostgreSQL host the cockpit can follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoHost {
    /// Another kind of database (`mysql://`, `redis://`): not this budget's business.
    OtherEngine(String),
    /// Not a URL, DSN or host name the cockpit can read.
    Unreadable,
}

/// The host a value points at, lower-cased, without port: from a URL
/// (`postgres://u:p@pg.data:5432/app`, `postgresql+asyncpg://…`, `jdbc:postgresql://…`;
/// the first of several hosts), a libpq keyword DSN (`host=pg port=5432`), or a bare host.
pub fn host_of(value: &str, shape: Shape) -> Result<String, NoHost> {
    let value = value.trim();
    let host = match shape {
        Shape::Host => first_host(value),
        Shape::Url if value.contains("://") => url_host(value)?,
        Shape::Url => keyword_host(value).ok_or(NoHost::Unreadable)?,
    };
    if valid_host(&host) { Ok(host.to_ascii_lowercase()) } else { Err(NoHost::Unreadable) }
}

fn url_host(value: &str) -> Result<String, NoHost> {
    let (scheme, rest) = value.split_once("://").ok_or(NoHost::Unreadable)?;
    let scheme = scheme.trim_start_matches("jdbc:").to_ascii_lowercase();
    if !scheme.starts_with("postgres") && scheme != "pgsql" {
        return Err(NoHost::OtherEngine(scheme));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The password may hold '@' when not percent-encoded: the host follows the last one.
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, hosts)| hosts);
    if hosts.is_empty() {
        // `postgres:///app?host=/var/run/postgresql`: a socket, or the host in the query.
        return query_host(rest).ok_or(NoHost::Unreadable);
    }
    Ok(first_host(hosts))
}

/// `?host=pg.data` in a URL's query.
fn query_host(rest: &str) -> Option<String> {
    let query = rest.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix("host=")).map(first_host).filter(|h| !h.starts_with('/'))
}

/// `host=pg.data port=5432 dbname=app`.
fn keyword_host(value: &str) -> Option<String> {
    value.split_whitespace().find_map(|kv| kv.strip_prefix("host=")).map(|h| first_host(h.trim_matches('\'')))
}

/// The first of `a:5432,b:5432`, without its port (`[::1]:5432` keeps its brackets off).
fn first_host(hosts: &str) -> String {
    let first = hosts.split(',').next().unwrap_or_default().trim();
    if let Some(v6) = first.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default().to_string();
    }
    first.split(':').next().unwrap_or_default().to_string()
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

/// A literal as the screen may show it: `postgres://app:s3cret@pg:5432/app` becomes
/// `postgres://…@pg:5432/app`, and `password=…` in a DSN becomes `password=…`.
pub fn without_credentials(value: &str) -> String {
    let mut out = value.to_string();
    if let Some((scheme, rest)) = value.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            out = format!("{scheme}://…@{}", &rest[at + 1..]);
        }
    }
    if out.contains("password=") {
        out = out
            .split(' ')
            .map(|kv| if kv.starts_with("password=") { "password=…" } else { kv })
            .collect::<Vec<_>>()
            .join(" ");
        // A URL's query may carry it too (`?password=…&sslmode=require`).
        if let Some((head, query)) = out.split_once('?') {
            let query: Vec<&str> =
                query.split('&').map(|kv| if kv.starts_with("password=") { "password=…" } else { kv }).collect();
            out = format!("{head}?{}", query.join("&"));
        }
    }
    out
}

/// Where a host name points inside the cluster: `pg` (the caller's namespace), `pg.data`,
/// `pg.data.svc`, `pg.data.svc.cluster.local` (any cluster domain). `None`: a name the
/// cluster's DNS does not serve as a Service (an external host, an IP address).
pub fn in_cluster<'a>(host: &'a str, own_namespace: &'a str) -> Option<(&'a str, &'a str)> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] => Some((own_namespace, name)),
        [name, namespace] => Some((namespace, name)),
        [name, namespace, "svc", ..] => Some((namespace, name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_teams_give_their_database_settings() {
        for url in ["DATABASE_URL", "LEDGER_DATABASE_URL", "APP_DSN", "DSN", "database_url"] {
            assert_eq!(database_var(url), Some(Shape::Url), "{url}");
        }
        for host in ["PGHOST", "DB_HOST", "ORDERS_DB_HOST", "APP_POSTGRES_HOST", "X_PG_HOST", "POSTGRESQL_HOST"] {
            assert_eq!(database_var(host), Some(Shape::Host), "{host}");
        }
        for other in ["REDIS_URL", "HOSTNAME", "DB_POOL_SIZE", "PGPORT", "KAFKA_HOST"] {
            assert_eq!(database_var(other), None, "{other}");
        }
    }

    #[test]
    fn urls_give_their_host_and_nothing_else() {
        let cases = [
            ("postgres://app:s3cret@pg.data:5432/app", "pg.data"),
            ("postgresql+asyncpg://app:p@ss@word@PG:5432/app?sslmode=require", "pg"),
            ("jdbc:postgresql://db-1.shop.svc.cluster.local:5432/orders", "db-1.shop.svc.cluster.local"),
            ("postgres://a:b@first:5432,second:5432/app", "first"),
            ("postgres:///app?host=pg-rw", "pg-rw"),
            ("postgres://[fd00::1]:5432/app", "fd00::1"),
        ];
        for (url, host) in cases {
            assert_eq!(host_of(url, Shape::Url).as_deref(), Ok(host), "{url}");
        }
        assert_eq!(host_of("host=pgbouncer port=6432 dbname=app", Shape::Url).as_deref(), Ok("pgbouncer"));
        assert_eq!(host_of("pg.data:5432", Shape::Host).as_deref(), Ok("pg.data"));
    }

    #[test]
    fn malformed_and_foreign_values_are_not_hosts() {
        assert_eq!(host_of("mysql://u:p@db/app", Shape::Url), Err(NoHost::OtherEngine("mysql".into())));
        for bad in ["", "postgres://", "postgres:///app?host=/var/run/postgresql", "not a url", "host=", "p g"] {
            assert_eq!(host_of(bad, Shape::Url), Err(NoHost::Unreadable), "{bad:?}");
        }
        assert_eq!(host_of("   ", Shape::Host), Err(NoHost::Unreadable));
        assert_eq!(host_of("a\u{1b}[2Jb", Shape::Host), Err(NoHost::Unreadable));
    }

    #[test]
    fn credentials_never_reach_the_screen() {
        assert_eq!(without_credentials("postgres://app:s3cret@pg:5432/app"), "postgres://…@pg:5432/app");
        assert_eq!(without_credentials("postgres://app:p@ss@pg/app"), "postgres://…@pg/app");
        assert_eq!(without_credentials("host=pg user=app password=s3cret"), "host=pg user=app password=…");
        assert_eq!(
            without_credentials("postgres://pg/app?password=s3cret&sslmode=require"),
            "postgres://pg/app?password=…&sslmode=require"
        );
        assert_eq!(without_credentials("plain value"), "plain value");
    }

    #[test]
    fn cluster_dns_names_resolve_to_a_service() {
        assert_eq!(in_cluster("pg", "shop"), Some(("shop", "pg")));
        assert_eq!(in_cluster("pg.data", "shop"), Some(("data", "pg")));
        assert_eq!(in_cluster("pg.data.svc", "shop"), Some(("data", "pg")));
        assert_eq!(in_cluster("pg.data.svc.cluster.local", "shop"), Some(("data", "pg")));
        assert_eq!(in_cluster("db.example.com", "shop"), None);
        assert_eq!(in_cluster("10.0.0.7", "shop"), None);
    }
}
