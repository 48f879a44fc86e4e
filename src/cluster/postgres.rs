//! Measures a live PostgreSQL server for the connection budget: how many connections it
//! allows (`max_connections` less the reserved slots) and who holds the ones in use.
//!
//! The session is read-only (`default_transaction_read_only`, and only `SHOW`/`SELECT`),
//! names itself `kubectl-cockpit` in `pg_stat_activity`, leaves itself out of the count,
//! and is bounded as a whole by one timeout. The URL is libpq's, either
//! `postgres://user:password@host:port/db?sslmode=...` or `host=... sslmode=...`; the
//! password never appears in an error (see [`redact`] for showing the URL itself).
//!
//! TLS follows the URL's `sslmode` as libpq reads it, with rustls:
//! - `disable`, `allow`, `prefer` or none: plain TCP. `prefer` does not try TLS first as libpq
//!   would; a URL that wants encryption has to say `require` or stronger.
//! - `require`: encrypted, any certificate accepted (as libpq does), unless `sslrootcert` is
//!   given, which makes it `verify-ca` (as libpq does).
//! - `verify-ca`: the certificate chain must lead to a trusted root; the name is not checked.
//! - `verify-full`: chain and host name are checked.
//!
//! The trusted roots are the `sslrootcert` file (PEM), else the system's store. libpq would
//! read `~/.postgresql/root.crt` instead of the system store; `sslrootcert=system` means the
//! system store in both.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage, SimpleQueryRow, Socket};

use crate::cluster::connect::one_line;

/// How the measuring session shows up in `pg_stat_activity`, so a DBA can tell what it is.
pub const APPLICATION_NAME: &str = "kubectl-cockpit";

/// What a server allows and who uses it, at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measurement {
    pub max_connections: u32,
    /// `superuser_reserved_connections`: slots only superusers may take.
    pub superuser_reserved: u32,
    /// `reserved_connections` (PostgreSQL 16+), slots for `pg_use_reserved_connections`;
    /// 0 where the setting does not exist.
    pub reserved_connections: u32,
    /// Client backends, the measuring session left out.
    pub total: u32,
    /// `total` by application, role and address; most connections first.
    pub clients: Vec<ClientGroup>,
    /// Sessions of other roles whose details the measuring role may not read (it lacks
    /// `pg_read_all_stats`, e.g. through `pg_monitor`). PostgreSQL hides even their backend
    /// type, so they are not in `total`; most of them are usually client backends.
    pub hidden: u32,
}

impl Measurement {
    /// Connections ordinary roles can open before the server refuses them.
    pub fn available_to_applications(&self) -> u32 {
        self.max_connections.saturating_sub(self.superuser_reserved).saturating_sub(self.reserved_connections)
    }
}

/// Connections that share an application name, role and client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientGroup {
    pub application_name: String,
    pub user: String,
    /// `None` for Unix-socket connections.
    pub client_addr: Option<String>,
    pub count: u32,
}

/// Why a measurement failed, in one line that never contains the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasureError(String);

impl fmt::Display for MeasureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MeasureError {}

impl MeasureError {
    fn new(message: impl Into<String>) -> MeasureError {
        MeasureError(message.into())
    }
}

/// Connects read-only, with `timeout` for everything (connect and queries), and measures.
/// The connection is closed when this returns.
pub async fn measure(url: &str, timeout: Duration) -> Result<Measurement, MeasureError> {
    let secrets = passwords_in(url);
    measure_inner(url, timeout).await.map_err(|e| MeasureError(without_secrets(e.0, &secrets)))
}

async fn measure_inner(url: &str, timeout: Duration) -> Result<Measurement, MeasureError> {
    let target = Target::parse(url)?;
    let place = target.place();
    let measuring = async {
        match &target.tls {
            Tls::Off => measure_over(&target.config, NoTls, &place).await,
            tls => {
                let config = rustls_config(*tls, target.root_cert.as_deref())?;
                measure_over(&target.config, tokio_postgres_rustls::MakeRustlsConnect::new(config), &place).await
            }
        }
    };
    match tokio::time::timeout(timeout, measuring).await {
        Ok(result) => result,
        Err(_) => Err(MeasureError::new(format!("timed out after {} ({place})", short_duration(timeout)))),
    }
}

/// The URL with the password replaced by `****`, for any message that shows it.
/// `postgres://user:****@host:port/db`, or `host=... password=****` in key=value form.
pub fn redact(url: &str) -> String {
    match UrlParts::split(url) {
        Some(parts) => parts.redacted(),
        None => {
            let (params, unparsed) = key_values(url);
            let mut shown: Vec<String> = params
                .iter()
                .map(|p| if p.key == "password" { "password=****".to_string() } else { format!("{}={}", p.key, p.raw) })
                .collect();
            if !unparsed.trim().is_empty() {
                // It could not be read, so it could hold anything, the password included.
                shown.push("****".into());
            }
            shown.join(" ")
        }
    }
}

// ---------------------------------------------------------------------------------------
// Measuring over an open connection

async fn measure_over<T>(config: &Config, tls: T, place: &str) -> Result<Measurement, MeasureError>
where
    T: MakeTlsConnect<Socket>,
{
    let (client, connection) = config.connect(tls).await.map_err(|e| describe(&e, place))?;
    // The connection is driven here rather than spawned, so it ends (and the socket closes)
    // when the measurement does, also when the timeout drops this future.
    tokio::select! {
        biased;
        measured = read_measurement(&client, place) => measured,
        ended = connection => Err(match ended {
            Ok(()) => MeasureError::new(format!("the server closed the connection ({place})")),
            Err(e) => describe(&e, place),
        }),
    }
}

/// Client backends by who holds them; the measuring session is left out. `host()` gives the
/// address alone, where `client_addr::text` would add `/32`.
const CLIENTS_SQL: &str = "SELECT coalesce(application_name, ''), coalesce(usename, ''), host(client_addr), count(*) \
     FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1, 2, 3";

/// Sessions in a database whose backend type the server will not tell this role.
const HIDDEN_SQL: &str = "SELECT count(*) FROM pg_stat_activity \
     WHERE backend_type IS NULL AND datid IS NOT NULL AND pid <> pg_backend_pid()";

async fn read_measurement(client: &Client, place: &str) -> Result<Measurement, MeasureError> {
    // The simple protocol: one round trip per query, nothing prepared on the server.
    let query = |sql: &'static str| async move { rows(client, sql).await.map_err(|e| describe(&e, place)) };
    query("SET default_transaction_read_only = on").await?;
    let max_connections = setting(&query("SHOW max_connections").await?, "max_connections")?;
    let superuser_reserved =
        setting(&query("SHOW superuser_reserved_connections").await?, "superuser_reserved_connections")?;
    // Only PostgreSQL 16 and later have it.
    let reserved = query("SELECT setting FROM pg_settings WHERE name = 'reserved_connections'").await?;
    let reserved_connections = if reserved.is_empty() { 0 } else { setting(&reserved, "reserved_connections")? };
    let groups = query(CLIENTS_SQL).await?.iter().map(client_group).collect::<Result<Vec<_>, _>>()?;
    let clients = tally(groups);
    let hidden = setting(&query(HIDDEN_SQL).await?, "hidden sessions")?;
    let total = clients.iter().map(|g| g.count).sum();
    Ok(Measurement { max_connections, superuser_reserved, reserved_connections, total, clients, hidden })
}

async fn rows(client: &Client, sql: &str) -> Result<Vec<SimpleQueryRow>, tokio_postgres::Error> {
    Ok(client
        .simple_query(sql)
        .await?
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect())
}

/// The first column of the first row as a count or setting.
fn setting(rows: &[SimpleQueryRow], what: &str) -> Result<u32, MeasureError> {
    number(rows.first().and_then(|r| r.get(0)), what)
}

fn client_group(row: &SimpleQueryRow) -> Result<ClientGroup, MeasureError> {
    Ok(ClientGroup {
        application_name: row.get(0).unwrap_or_default().to_string(),
        user: row.get(1).unwrap_or_default().to_string(),
        client_addr: row.get(2).map(str::to_string),
        count: number(row.get(3), "connection count")?,
    })
}

fn number(text: Option<&str>, what: &str) -> Result<u32, MeasureError> {
    let text = text.ok_or_else(|| MeasureError::new(format!("the server did not report {what}")))?;
    text.trim().parse().map_err(|_| MeasureError::new(format!("unexpected {what} from the server: {text:?}")))
}

/// Merges groups with the same application, role and address, and puts the biggest first
/// (then by name, so the order is stable between measurements).
fn tally(groups: Vec<ClientGroup>) -> Vec<ClientGroup> {
    let mut merged: BTreeMap<(String, String, Option<String>), u32> = BTreeMap::new();
    for g in groups {
        *merged.entry((g.application_name, g.user, g.client_addr)).or_default() += g.count;
    }
    let mut out: Vec<ClientGroup> = merged
        .into_iter()
        .map(|((application_name, user, client_addr), count)| ClientGroup {
            application_name,
            user,
            client_addr,
            count,
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.application_name.cmp(&b.application_name))
            .then_with(|| a.user.cmp(&b.user))
            .then_with(|| a.client_addr.cmp(&b.client_addr))
    });
    out
}

// ---------------------------------------------------------------------------------------
// Errors

/// One line for a tokio-postgres error: the server's own words when it sent some, a
/// refused connection said plainly, else the error chain.
fn describe(e: &tokio_postgres::Error, place: &str) -> MeasureError {
    if let Some(db) = e.as_db_error() {
        return MeasureError::new(db.message());
    }
    if io_error_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
        return MeasureError::new(format!("connection refused ({place})"));
    }
    MeasureError::new(format!("{} ({place})", one_line(e)))
}

fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// Belt and braces: no message leaves with a password in it, whatever produced it.
fn without_secrets(mut message: String, secrets: &[String]) -> String {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "****");
    }
    message
}

/// Every password the URL carries, as written and decoded.
fn passwords_in(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut both = |raw: &str, decoded: String| {
        found.push(raw.to_string());
        found.push(decoded);
    };
    match UrlParts::split(url) {
        Some(parts) => {
            if let Some(pw) = parts.password() {
                both(pw, percent_decode(pw));
            }
            for (key, value) in parts.query_pairs() {
                if percent_decode(key) == "password" {
                    both(value, percent_decode(value));
                }
            }
        }
        None => {
            for p in key_values(url).0.into_iter().filter(|p| p.key == "password") {
                both(p.raw, p.value);
            }
        }
    }
    found
}

/// `3s`, `1.5s` or `300ms`, as an operator would write it.
fn short_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

// ---------------------------------------------------------------------------------------
// The URL: what tokio-postgres reads, and the TLS settings it does not

struct Target {
    config: Config,
    tls: Tls,
    root_cert: Option<String>,
}

impl Target {
    fn parse(url: &str) -> Result<Target, MeasureError> {
        let (rest, sslmode, root_cert) = take_tls_params(url);
        let mut config: Config = rest
            .parse()
            .map_err(|e: tokio_postgres::Error| MeasureError::new(format!("{}: {}", one_line(&e), redact(url))))?;
        let tls = tls_mode(sslmode.as_deref(), root_cert.as_deref())?;
        config.ssl_mode(if tls == Tls::Off { SslMode::Disable } else { SslMode::Require });
        config.application_name(APPLICATION_NAME);
        Ok(Target { config, tls, root_cert: root_cert.filter(|r| r != "system") })
    }

    /// `host:port` (all of them, for a multi-host URL), for messages.
    fn place(&self) -> String {
        let ports = self.config.get_ports();
        let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port(i)),
                Host::Tcp(name) => format!("{name}:{}", port(i)),
                Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port(i)),
            })
            .collect();
        if hosts.is_empty() { "no host".into() } else { hosts.join(",") }
    }
}

/// How much of TLS the URL asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tls {
    Off,
    /// Encrypted, any certificate.
    Encrypt,
    /// The chain must lead to a trusted root; any name.
    VerifyCa,
    VerifyFull,
}

/// libpq's `sslmode`, with `sslrootcert` turning `require` into `verify-ca` as in libpq.
fn tls_mode(sslmode: Option<&str>, root_cert: Option<&str>) -> Result<Tls, MeasureError> {
    Ok(match sslmode.unwrap_or("prefer") {
        "disable" | "allow" | "prefer" => Tls::Off,
        "require" if root_cert.is_some() => Tls::VerifyCa,
        "require" => Tls::Encrypt,
        "verify-ca" => Tls::VerifyCa,
        "verify-full" => Tls::VerifyFull,
        other => {
            return Err(MeasureError::new(format!(
                "invalid sslmode {other:?} (disable, allow, prefer, require, verify-ca or verify-full)"
            )));
        }
    })
}

/// Takes `sslmode` and `sslrootcert` out of the URL: tokio-postgres knows only three of
/// libpq's six modes and no root certificate, so both are handled here.
fn take_tls_params(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut sslmode, mut root_cert) = (None, None);
    let mut take = |key: &str, value: String| match key {
        "sslmode" => sslmode = Some(value),
        "sslrootcert" => root_cert = Some(value),
        _ => {}
    };
    let is_tls = |key: &str| key == "sslmode" || key == "sslrootcert";
    let rest = match UrlParts::split(url) {
        Some(parts) => {
            let mut kept = Vec::new();
            for pair in parts.raw_pairs() {
                let (key, value) = key_and_value(pair);
                let name = percent_decode(key);
                if is_tls(&name) {
                    take(&name, percent_decode(value));
                } else {
                    kept.push(pair);
                }
            }
            parts.with_query(&kept.join("&"))
        }
        None => {
            let (params, unparsed) = key_values(url);
            let mut kept = Vec::new();
            for p in params {
                if is_tls(p.key) {
                    take(p.key, p.value);
                } else {
                    kept.push(format!("{}={}", p.key, p.raw));
                }
            }
            if !unparsed.is_empty() {
                // Left for tokio-postgres to report.
                kept.push(unparsed.to_string());
            }
            kept.join(" ")
        }
    };
    (rest, sslmode, root_cert)
}

/// A `postgres://` URL cut where tokio-postgres cuts it: credentials up to the `@`, then
/// host and path, then `?` and the parameters.
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    location: &'a str,
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Option<UrlParts<'a>> {
        let scheme = ["postgres://", "postgresql://"].into_iter().find(|s| url.starts_with(s))?;
        let body = &url[scheme.len()..];
        // A password may hold an unescaped `@` or `?`: the credentials end at the last `@`
        // before the parameters, so a malformed URL is over-redacted rather than leaked.
        let first_at = body.find('@');
        let query_start = body[first_at.map_or(0, |i| i + 1)..].find('?').map(|i| i + first_at.map_or(0, |a| a + 1));
        let before_query = &body[..query_start.unwrap_or(body.len())];
        let (userinfo, location) = match before_query.rfind('@') {
            Some(at) => (Some(&before_query[..at]), &before_query[at + 1..]),
            None => (None, before_query),
        };
        Some(UrlParts { scheme, userinfo, location, query: query_start.map(|q| &body[q + 1..]) })
    }

    fn password(&self) -> Option<&'a str> {
        self.userinfo?.split_once(':').map(|(_, pw)| pw)
    }

    /// The parameters as written, `key=value` each.
    fn raw_pairs(&self) -> impl Iterator<Item = &'a str> {
        self.query.unwrap_or("").split('&').filter(|p| !p.is_empty())
    }

    fn query_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.raw_pairs().map(key_and_value)
    }

    fn userinfo_redacted(&self) -> String {
        match self.userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, _)) => format!("{user}:****@"),
                None => format!("{info}@"),
            },
            None => String::new(),
        }
    }

    fn with_query(&self, query: &str) -> String {
        let userinfo = self.userinfo.map(|u| format!("{u}@")).unwrap_or_default();
        let query = if query.is_empty() { String::new() } else { format!("?{query}") };
        format!("{}{userinfo}{}{query}", self.scheme, self.location)
    }

    fn redacted(&self) -> String {
        let mut out = format!("{}{}{}", self.scheme, self.userinfo_redacted(), self.location);
        if self.query.is_some() {
            let pairs: Vec<String> = self
                .raw_pairs()
                .map(|pair| match key_and_value(pair) {
                    (key, _) if percent_decode(key) == "password" => format!("{key}=****"),
                    _ => pair.to_string(),
                })
                .collect();
            out.push('?');
            out.push_str(&pairs.join("&"));
        }
        out
    }
}

fn key_and_value(pair: &str) -> (&str, &str) {
    pair.split_once('=').unwrap_or((pair, ""))
}

/// One `key=value` of the key=value form: the value as written (quotes and escapes kept)
/// and as meant.
#[derive(Debug, PartialEq, Eq)]
struct Param<'a> {
    key: &'a str,
    raw: &'a str,
    value: String,
}

/// Reads the key=value form as tokio-postgres does (values may be quoted with `'`, `\`
/// escapes); returns what it read and the text it could not.
fn key_values(s: &str) -> (Vec<Param<'_>>, &str) {
    let mut params = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let Some((param, after)) = one_key_value(rest) else { break };
        params.push(param);
        rest = after.trim_start();
    }
    (params, rest)
}

fn one_key_value(s: &str) -> Option<(Param<'_>, &str)> {
    let key_end = s.find(|c: char| c.is_whitespace() || c == '=')?;
    let key = &s[..key_end];
    if key.is_empty() {
        return None;
    }
    let after_key = s[key_end..].trim_start();
    let value_text = after_key.strip_prefix('=')?.trim_start();
    let (value, len) = if let Some(quoted) = value_text.strip_prefix('\'') {
        let (value, len) = unescape_until(quoted, |c| c == '\'')?;
        quoted[len..].starts_with('\'').then_some((value, len + 2))?
    } else {
        let (value, len) = unescape_until(value_text, char::is_whitespace).unwrap_or_else(|| unescape_all(value_text));
        (!value.is_empty()).then_some((value, len))?
    };
    let raw = &value_text[..len];
    Some((Param { key, raw, value }, &value_text[len..]))
}

/// The text up to the first unescaped character that `end` accepts, with `\x` read as `x`,
/// and its length; `None` when no such character comes.
fn unescape_until(s: &str, end: impl Fn(char) -> bool) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if end(c) {
            return Some((value, i));
        }
        if c == '\\' {
            if let Some((_, escaped)) = chars.next() {
                value.push(escaped);
            }
        } else {
            value.push(c);
        }
    }
    None
}

fn unescape_all(s: &str) -> (String, usize) {
    let mut value = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.extend(chars.next()),
            c => value.push(c),
        }
    }
    (value, s.len())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------
// TLS

/// A rustls client for the mode, with ring (the provider kube already uses) chosen
/// explicitly so no process-wide default is needed.
fn rustls_config(tls: Tls, root_cert: Option<&str>) -> Result<rustls::ClientConfig, MeasureError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match tls {
        Tls::Off | Tls::Encrypt => Arc::new(AnyCertificate(provider.clone())),
        Tls::VerifyCa | Tls::VerifyFull => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(trusted_roots(root_cert)?), provider.clone())
                    .build()
                    .map_err(|e| MeasureError::new(format!("cannot set up certificate verification: {e}")))?;
            if tls == Tls::VerifyCa { Arc::new(ChainOnly(webpki)) } else { webpki }
        }
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MeasureError::new(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The `sslrootcert` file's certificates, else the system's.
fn trusted_roots(root_cert: Option<&str>) -> Result<RootCertStore, MeasureError> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let unreadable = |e: &dyn fmt::Display| MeasureError::new(format!("cannot read sslrootcert {path}: {e}"));
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
                roots.add(cert.map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
            }
            if roots.is_empty() {
                return Err(MeasureError::new(format!("sslrootcert {path} holds no certificate")));
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if roots.is_empty() {
                return Err(MeasureError::new("no trusted root certificates on this system; give sslrootcert"));
            }
        }
    }
    Ok(roots)
}

/// `sslmode=require`: encryption against eavesdropping, no proof of who the server is.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    // The handshake itself is still checked, so the session key belongs to the certificate.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the full check, less the host name (rustls checks the name last, so
/// a name error means everything else passed).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests;
