//! The pure parts: redaction, TLS settings, grouping. The live server is in tests/budget_pg.rs.

use super::*;

fn group(app: &str, user: &str, addr: Option<&str>, count: u32) -> ClientGroup {
    ClientGroup { application_name: app.into(), user: user.into(), client_addr: addr.map(Into::into), count }
}

#[test]
fn redact_hides_the_password_in_a_url() {
    assert_eq!(redact("postgres://app:s3cr3t@db:5432/orders"), "postgres://app:****@db:5432/orders");
    assert_eq!(
        redact("postgresql://app:s3cr3t@db/orders?sslmode=require&application_name=x"),
        "postgresql://app:****@db/orders?sslmode=require&application_name=x"
    );
    // No password: nothing to hide, nothing changed.
    assert_eq!(redact("postgres://app@db:5432/orders"), "postgres://app@db:5432/orders");
    assert_eq!(redact("postgres://db:5432/orders"), "postgres://db:5432/orders");
}

#[test]
fn redact_hides_passwords_libpq_would_misread() {
    // Unescaped `@`, `?` and `/` in the password: better to hide too much than any of it.
    for url in ["postgres://app:p@ss@db/orders", "postgres://app:p?ss@db/orders", "postgres://app:p/ss@db/orders"] {
        let shown = redact(url);
        assert!(!shown.contains("ss@"), "{url} -> {shown}");
        assert!(shown.starts_with("postgres://app:****@"), "{url} -> {shown}");
    }
}

#[test]
fn redact_hides_a_password_parameter() {
    assert_eq!(
        redact("postgres://db/orders?user=app&password=s3cr3t&sslmode=disable"),
        "postgres://db/orders?user=app&password=****&sslmode=disable"
    );
    assert_eq!(redact("postgres://db/orders?pass%77ord=s3cr3t"), "postgres://db/orders?pass%77ord=****");
}

#[test]
fn redact_hides_the_password_in_key_value_form() {
    assert_eq!(redact("host=db port=5432 user=app password=s3cr3t"), "host=db port=5432 user=app password=****");
    assert_eq!(redact("host=db password = 's3 cr\\'3t' user=app"), "host=db password=**** user=app");
    // What cannot be read could be the password.
    assert_eq!(redact("host=db password='s3cr3t"), "host=db ****");
    assert_eq!(redact("host=db =s3cr3t"), "host=db ****");
}

#[test]
fn passwords_are_found_as_written_and_decoded() {
    assert_eq!(passwords_in("postgres://app:s3%40cr3t@db/x"), ["s3%40cr3t", "s3@cr3t"]);
    assert_eq!(passwords_in("host=db password='a b'"), ["'a b'", "a b"]);
    assert!(passwords_in("postgres://app@db/x").is_empty());
}

#[test]
fn secrets_are_scrubbed_from_messages() {
    let secrets = passwords_in("postgres://app:s3cr3t@db/x");
    assert_eq!(without_secrets("role s3cr3t is odd".into(), &secrets), "role **** is odd");
    assert_eq!(without_secrets("fine".into(), &[String::new()]), "fine");
}

#[test]
fn sslmode_is_read_as_libpq_reads_it() {
    assert_eq!(tls_mode(None, None), Ok(Tls::Off));
    for plain in ["disable", "allow", "prefer"] {
        assert_eq!(tls_mode(Some(plain), None), Ok(Tls::Off), "{plain}");
    }
    assert_eq!(tls_mode(Some("require"), None), Ok(Tls::Encrypt));
    assert_eq!(tls_mode(Some("require"), Some("/ca.pem")), Ok(Tls::VerifyCa));
    assert_eq!(tls_mode(Some("verify-ca"), None), Ok(Tls::VerifyCa));
    assert_eq!(tls_mode(Some("verify-full"), None), Ok(Tls::VerifyFull));
    let err = tls_mode(Some("verify_full"), None).unwrap_err();
    assert!(err.to_string().contains("invalid sslmode \"verify_full\""), "{err}");
}

#[test]
fn tls_parameters_are_taken_out_for_tokio_postgres() {
    let (rest, mode, root) =
        take_tls_params("postgres://u:p@db/x?sslmode=verify-full&application_name=a&sslrootcert=%2Fca.pem");
    assert_eq!(rest, "postgres://u:p@db/x?application_name=a");
    assert_eq!(mode.as_deref(), Some("verify-full"));
    assert_eq!(root.as_deref(), Some("/ca.pem"));

    let (rest, mode, root) = take_tls_params("postgres://db/x?sslmode=require");
    assert_eq!((rest.as_str(), mode.as_deref(), root), ("postgres://db/x", Some("require"), None));

    let (rest, mode, root) = take_tls_params("host=db sslmode=verify-ca user=u sslrootcert='/my ca.pem'");
    assert_eq!(rest, "host=db user=u");
    assert_eq!(mode.as_deref(), Some("verify-ca"));
    assert_eq!(root.as_deref(), Some("/my ca.pem"));
}

#[test]
fn target_names_the_server_and_the_measuring_session() {
    let t = Target::parse("postgres://u:p@db.example:6432/x?sslmode=require").unwrap();
    assert_eq!(t.place(), "db.example:6432");
    assert_eq!(t.tls, Tls::Encrypt);
    assert_eq!(t.config.get_application_name(), Some(APPLICATION_NAME));
    assert_eq!(t.config.get_ssl_mode(), SslMode::Require);

    let t = Target::parse("host=::1,db port=5433,5434 application_name=mine").unwrap();
    assert_eq!(t.place(), "[::1]:5433,db:5434");
    assert_eq!(t.tls, Tls::Off);
    assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
    assert_eq!(t.config.get_application_name(), Some(APPLICATION_NAME));

    let t = Target::parse("postgres://u@db/x?sslmode=verify-full&sslrootcert=system").unwrap();
    assert_eq!((t.tls, t.root_cert), (Tls::VerifyFull, None));
}

#[test]
fn an_unreadable_url_is_reported_without_its_password() {
    let err = Target::parse("postgres://u:s3cr3t@db/x?bogus=1").err().unwrap().to_string();
    assert!(err.contains("unknown option `bogus`"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn groups_are_merged_and_biggest_first() {
    let tallied = tally(vec![
        group("worker", "app", Some("10.0.0.2"), 2),
        group("api", "app", Some("10.0.0.1"), 3),
        group("", "admin", None, 1),
        group("api", "app", Some("10.0.0.1"), 1),
        group("batch", "app", Some("10.0.0.3"), 2),
    ]);
    assert_eq!(
        tallied,
        [
            group("api", "app", Some("10.0.0.1"), 4),
            group("batch", "app", Some("10.0.0.3"), 2),
            group("worker", "app", Some("10.0.0.2"), 2),
            group("", "admin", None, 1),
        ]
    );
}

#[test]
fn available_to_applications_leaves_out_both_reserves() {
    let m = Measurement {
        max_connections: 100,
        superuser_reserved: 3,
        reserved_connections: 2,
        total: 0,
        clients: vec![],
        hidden: 0,
    };
    assert_eq!(m.available_to_applications(), 95);
    assert_eq!(Measurement { max_connections: 2, ..m }.available_to_applications(), 0);
}

#[test]
fn durations_read_as_an_operator_writes_them() {
    assert_eq!(short_duration(Duration::from_secs(3)), "3s");
    assert_eq!(short_duration(Duration::from_millis(300)), "300ms");
    assert_eq!(short_duration(Duration::from_millis(1500)), "1.5s");
}

#[test]
fn numbers_from_the_server_are_checked() {
    assert_eq!(number(Some("100"), "max_connections"), Ok(100));
    assert!(number(Some("lots"), "max_connections").unwrap_err().to_string().contains("\"lots\""));
    assert!(number(None, "max_connections").is_err());
}

#[test]
fn measuring_can_run_on_another_task() {
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&measure("postgres://db/x", Duration::from_secs(1)));
}
