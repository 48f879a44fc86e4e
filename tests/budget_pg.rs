//! The connection budget's live measurement against a real PostgreSQL server, started for
//! each test from the distribution's binaries (tests/support/postgres.rs): what it counts,
//! how it fails, and that no failure shows the password.

mod support;

use std::time::{Duration, Instant};

use cockpit::cluster::postgres::{ClientGroup, Measurement, measure, redact};
use support::postgres::{APP, APP_PASSWORD, MAX_CONNECTIONS, MONITOR, MONITOR_PASSWORD, PgServer, free_port};
use tokio_postgres::NoTls;

const TIMEOUT: Duration = Duration::from_secs(5);
const SECRET: &str = "s3cr3t-pw";

/// A connection as `user`, named `application`, held open as an application's pool holds it.
async fn hold(server: &PgServer, user: &str, password: &str, application: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&server.url_for(user, password, Some(application)), NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

async fn hold_many(
    server: &PgServer,
    n: usize,
    user: &str,
    password: &str,
    application: &str,
) -> Vec<tokio_postgres::Client> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(hold(server, user, password, application).await);
    }
    held
}

fn group(application: &str, user: &str, count: u32) -> ClientGroup {
    ClientGroup {
        application_name: application.into(),
        user: user.into(),
        client_addr: Some("127.0.0.1".into()),
        count,
    }
}

fn assert_secret_kept(message: &str) {
    assert!(!message.contains(SECRET), "the password leaked: {message}");
}

#[tokio::test]
async fn counts_client_backends_by_application_role_and_address() {
    let server = PgServer::start();
    let _statewave = hold_many(&server, 3, APP, APP_PASSWORD, "statewave").await;
    let _workers = hold_many(&server, 2, APP, APP_PASSWORD, "app-worker").await;

    let m = measure(&server.url_for(MONITOR, MONITOR_PASSWORD, None), TIMEOUT).await.expect("measure");

    let reserved: u32 = server.psql("SHOW superuser_reserved_connections").parse().unwrap();
    assert_eq!(
        m,
        Measurement {
            max_connections: MAX_CONNECTIONS,
            superuser_reserved: reserved,
            reserved_connections: 0,
            total: 5,
            clients: vec![group("statewave", APP, 3), group("app-worker", APP, 2)],
            hidden: 0,
        }
    );
    assert_eq!(m.available_to_applications(), MAX_CONNECTIONS - reserved);
    assert_measuring_session_is_gone(&server).await;
}

/// The measurement closes its connection: no `kubectl-cockpit` session stays on the server.
async fn assert_measuring_session_is_gone(server: &PgServer) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kubectl-cockpit'");
        if left == "0" {
            return;
        }
        assert!(Instant::now() < deadline, "{left} measuring session(s) still open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn other_roles_sessions_are_hidden_from_a_role_without_pg_monitor() {
    let server = PgServer::start();
    let _mine = hold(&server, APP, APP_PASSWORD, "statewave").await;
    let _theirs = hold_many(&server, 2, MONITOR, MONITOR_PASSWORD, "dashboard").await;

    let m = measure(&server.url_for(APP, APP_PASSWORD, None), TIMEOUT).await.expect("measure");

    assert_eq!(m.clients, [group("statewave", APP, 1)]);
    assert_eq!((m.total, m.hidden), (1, 2));
}

#[tokio::test]
async fn login_failures_do_not_show_the_password() {
    let server = PgServer::start();
    let url = server.url_for(APP, SECRET, None);

    let err = measure(&url, TIMEOUT).await.expect_err("wrong password").to_string();
    assert_eq!(err, format!("password authentication failed for user \"{APP}\""));
    assert_secret_kept(&err);
    assert_secret_kept(&redact(&url));

    // This server has no TLS.
    let err = measure(&format!("{url}?sslmode=require"), TIMEOUT).await.expect_err("no TLS here").to_string();
    assert!(err.contains("server does not support TLS"), "{err}");
    assert_secret_kept(&err);
}

#[tokio::test]
async fn a_closed_port_is_refused_at_once_without_showing_the_password() {
    let port = free_port();
    let url = format!("postgres://{APP}:{SECRET}@127.0.0.1:{port}/postgres");
    let started = Instant::now();

    let err = measure(&url, Duration::from_secs(3)).await.expect_err("nothing listens").to_string();

    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(err, format!("connection refused (127.0.0.1:{port})"));
    assert_secret_kept(&err);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepted by the kernel's backlog, never answered: connecting works, the startup hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://{APP}:{SECRET}@127.0.0.1:{port}/postgres");
    let started = Instant::now();

    let err = measure(&url, Duration::from_millis(300)).await.expect_err("no answer").to_string();

    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(err, format!("timed out after 300ms (127.0.0.1:{port})"));
    assert_secret_kept(&err);
}

#[tokio::test]
async fn tls_follows_sslmode() {
    // This server refuses TCP logins without TLS, so every success below went over TLS. Its
    // certificate is for `localhost`, signed by a CA of its own.
    let server = PgServer::start_with_tls();
    let ca = server.ca_cert();
    let url = |host: &str, params: &str| {
        format!("postgres://{MONITOR}:{MONITOR_PASSWORD}@{host}:{}/postgres?{params}", server.port())
    };
    let verify_ca = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
    let require_with_root = format!("sslmode=require&sslrootcert={}", ca.display());
    let verify_full = format!("sslmode=verify-full&sslrootcert={}", ca.display());

    for (host, params) in [
        ("127.0.0.1", "sslmode=require"),
        ("127.0.0.1", verify_ca.as_str()),
        ("127.0.0.1", require_with_root.as_str()),
        ("localhost", verify_full.as_str()),
    ] {
        let m = measure(&url(host, params), TIMEOUT).await.unwrap_or_else(|e| panic!("{host} {params}: {e}"));
        assert_eq!(m.max_connections, MAX_CONNECTIONS, "{params}");
    }

    let plain = measure(&url("127.0.0.1", "sslmode=disable"), TIMEOUT).await.expect_err("TLS is required");
    assert!(plain.to_string().contains("no encryption"), "{plain}");

    let wrong_name = measure(&url("127.0.0.1", &verify_full), TIMEOUT).await.expect_err("the name is localhost");
    assert!(wrong_name.to_string().contains("not valid for name"), "{wrong_name}");

    let unknown_ca = measure(&url("localhost", "sslmode=verify-full"), TIMEOUT).await.expect_err("not a system CA");
    assert!(unknown_ca.to_string().contains("invalid peer certificate"), "{unknown_ca}");
}
