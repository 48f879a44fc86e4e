//! A real, throw-away PostgreSQL server for the tests: `initdb` into a temp dir, `pg_ctl start`
//! on a free loopback port, `pg_ctl stop -m immediate` on drop. Uses the distribution's
//! binaries (`/usr/lib/postgresql/*/bin`, newest first) or whatever is on PATH.
//!
//! TCP logins need a password (scram-sha-256) so the authentication failure path is real; the
//! Unix socket trusts everyone, which is how the roles are set up after start.
//!
//! [`PgServer::start_with_tls`] also makes a CA and a server certificate for `localhost`
//! (with `openssl`) and refuses TCP logins without TLS, so a login that works proves TLS.

#![allow(dead_code)]

use std::ffi::CString;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The superuser `initdb` creates; its password comes from `--pwfile`.
pub const SUPERUSER: &str = "postgres";
pub const SUPERUSER_PASSWORD: &str = "super-pw";
/// A role that may log in over TCP and sees every session's details (`pg_monitor`).
pub const MONITOR: &str = "cockpit";
pub const MONITOR_PASSWORD: &str = "cockpit-pw";
/// A role with no privileges beyond logging in.
pub const APP: &str = "app";
pub const APP_PASSWORD: &str = "app-pw";
/// What the server is started with, so the tests know the answer.
pub const MAX_CONNECTIONS: u32 = 40;

pub struct PgServer {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    tls: bool,
    // Last, so the files go only after the server is stopped.
    dir: tempfile::TempDir,
}

impl PgServer {
    /// Starts a fresh server with the roles above. Panics with the server log when it cannot.
    pub fn start() -> PgServer {
        PgServer::start_inner(false)
    }

    /// Like [`PgServer::start`], and TCP logins must use TLS; see [`PgServer::ca_cert`].
    pub fn start_with_tls() -> PgServer {
        PgServer::start_inner(true)
    }

    fn start_inner(tls: bool) -> PgServer {
        let bin = postgres_bin_dir();
        let dir = scratch_dir();
        let data = dir.path().join("data");
        let socket_dir = dir.path().join("sock");
        std::fs::create_dir(&socket_dir).unwrap();
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).unwrap();
        give_to_server_user(&[dir.path(), &socket_dir, &pwfile]);

        let initdb = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-locale"])
            .args(["-E", "UTF8"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("run initdb");
        check("initdb", &initdb, None);

        let tls_options = if tls {
            let (cert, key) = make_certificates(dir.path());
            refuse_tcp_without_tls(&data);
            format!(" -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}", cert.display(), key.display())
        } else {
            String::new()
        };
        let log = dir.path().join("server.log");
        // A free port can be taken by another test between choosing it and binding it: try
        // another one when that happens.
        let mut attempts = 0;
        let (port, start) = loop {
            attempts += 1;
            let port = free_port();
            // No autovacuum: its workers would come and go among the sessions the tests count.
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections={MAX_CONNECTIONS} -c fsync=off \
                 -c autovacuum=off{tls_options}",
                socket_dir.display()
            );
            let start = as_server_user(&bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-o", &options, "-w", "-t", "30", "start"])
                .output()
                .expect("run pg_ctl start");
            let port_taken = std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Address already in use"));
            if start.status.success() || !port_taken || attempts == 5 {
                break (port, start);
            }
            let _ = std::fs::remove_file(&log);
        };
        // From here on Drop stops the server, also when setting up the roles panics.
        let server = PgServer { bin, data, socket_dir, port, tls, dir };
        check("pg_ctl start", &start, Some(&log));
        server.create_roles();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://user:password@127.0.0.1:PORT/postgres`, with `application_name` when given.
    pub fn url_for(&self, user: &str, password: &str, application_name: Option<&str>) -> String {
        let mut url = format!("postgres://{user}:{password}@127.0.0.1:{}/postgres", self.port);
        if let Some(name) = application_name {
            url.push_str(&format!("?application_name={name}"));
        }
        url
    }

    /// The CA that signed the server certificate (for `sslrootcert`); only with TLS.
    pub fn ca_cert(&self) -> PathBuf {
        assert!(self.tls, "the server was started without TLS");
        self.dir.path().join("ca.crt")
    }

    /// Runs SQL as the superuser over the Unix socket (trusted), for setting up a test.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.client_bin("psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", SUPERUSER, "-d", "postgres"])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env_remove("PGPASSWORD")
            .output()
            .expect("run psql");
        check("psql", &out, Some(&self.dir.path().join("server.log")));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A psql session as `application_name`, held open (sleeping in a query) until dropped.
    pub fn psql_background(&self, application_name: &str) -> HeldSession {
        let child = Command::new(self.client_bin("psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port.to_string(), "-U", SUPERUSER, "-d", "postgres", "-X", "-q"])
            .args(["-c", "SELECT pg_sleep(600)"])
            .env("PGAPPNAME", application_name)
            .env_remove("PGPASSWORD")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run psql");
        let session = HeldSession(child);
        let wanted = format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application_name}'");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.psql(&wanted) != "1" {
            assert!(std::time::Instant::now() < until, "the psql session of {application_name} never showed up");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        session
    }

    fn create_roles(&self) {
        self.psql(&format!(
            "CREATE ROLE {MONITOR} LOGIN PASSWORD '{MONITOR_PASSWORD}' IN ROLE pg_monitor; \
             CREATE ROLE {APP} LOGIN PASSWORD '{APP_PASSWORD}';"
        ));
    }

    /// psql from the server's own directory when it is there (Debian ships it there), else PATH.
    fn client_bin(&self, name: &str) -> PathBuf {
        let beside = self.bin.join(name);
        if beside.exists() { beside } else { PathBuf::from(name) }
    }
}

/// A client session that ends when this is dropped.
pub struct HeldSession(std::process::Child);

impl Drop for HeldSession {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Immediate: nothing here needs a clean shutdown, and the test run stays short.
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The directory holding `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/VERSION/bin`,
/// else the one on PATH.
fn postgres_bin_dir() -> PathBuf {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version =
                entry.file_name().to_str()?.split('.').map(|p| p.parse().ok()).collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .expect("PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH")
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// initdb and the server refuse to run as root, so as root they run as the `postgres` user.
fn as_server_user(program: &Path) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// The temp dir for the cluster. As root its parent must let the `postgres` user through;
/// `$TMPDIR` may point somewhere private, `/tmp` never does.
fn scratch_dir() -> tempfile::TempDir {
    let mut parent = std::env::temp_dir();
    if running_as_root() && !others_may_enter(&parent) {
        parent = PathBuf::from("/tmp");
    }
    tempfile::Builder::new().prefix("cockpit-pg-").tempdir_in(parent).expect("create a temp dir for PostgreSQL")
}

fn others_may_enter(dir: &Path) -> bool {
    std::fs::metadata(dir).map(|m| m.permissions().mode() & 0o001 != 0).unwrap_or(false)
}

/// As root, hands the paths to the `postgres` user; otherwise they are already ours.
fn give_to_server_user(paths: &[&Path]) {
    if !running_as_root() {
        return;
    }
    let (uid, gid) = server_user_ids();
    for path in paths {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

fn server_user_ids() -> (u32, u32) {
    let name = CString::new("postgres").unwrap();
    // SAFETY: `name` is a valid C string; the returned record is read at once, before any
    // other call could overwrite it.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!entry.is_null(), "running as root needs the `postgres` OS user to run the server as");
    // SAFETY: checked non-null above.
    unsafe { ((*entry).pw_uid, (*entry).pw_gid) }
}

/// A CA and a server certificate it signed, for `localhost` only (so `127.0.0.1` is the
/// wrong name). Returns the server's certificate and key, readable by the server.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").current_dir(dir).args(args).output().expect("run openssl (Debian: openssl)");
        check("openssl", &out, None);
    };
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=cockpit test CA", "-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat(),
    );
    openssl(
        &[&["req", "-new"][..], &ec, &["-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]]
            .concat(),
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    // The server refuses a key that others may read.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    give_to_server_user(&[&cert, &key]);
    (cert, key)
}

/// Puts `hostnossl ... reject` first in pg_hba.conf. The file keeps its owner.
fn refuse_tcp_without_tls(data: &Path) {
    let hba = data.join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
    std::fs::write(&hba, format!("hostnossl all all all reject\n{rules}")).expect("write pg_hba.conf");
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().unwrap().port()
}

fn check(what: &str, out: &Output, log: Option<&Path>) {
    if out.status.success() {
        return;
    }
    let log = log.and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    panic!(
        "{what} failed ({}):\n{}\n{}\n--- server log ---\n{log}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
