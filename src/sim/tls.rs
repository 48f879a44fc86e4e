//! TLS for the simulated API server. client-go (kubectl) sends bearer tokens and
//! impersonation headers only to TLS servers, so the simulator's users are reachable from
//! kubectl only over https. Each start makes a throw-away CA and a server certificate for
//! `127.0.0.1` and `localhost` signed by it; kubeconfigs carry the CA, nothing is written
//! to disk, and nothing outlives the process.

use std::sync::Arc;

use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The names clients reach a loopback simulator by; `127.0.0.1` becomes an IP SAN,
/// which is what a kubeconfig's `https://127.0.0.1:PORT` is checked against.
const SERVER_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// The simulator's TLS identity for one run.
pub struct SimTls {
    /// The CA certificate (PEM) that clients trust: a kubeconfig's
    /// `certificate-authority-data`.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

/// Makes a new CA and server certificate and the acceptor that presents it.
pub fn generate() -> Result<SimTls> {
    let ca_key = KeyPair::generate().wrap_err("generating the simulator's CA key")?;
    let ca = CertifiedIssuer::self_signed(ca_params(), ca_key).wrap_err("signing the simulator's CA certificate")?;
    let server_key = KeyPair::generate().wrap_err("generating the simulator's server key")?;
    let server_cert =
        server_params()?.signed_by(&server_key, &ca).wrap_err("signing the simulator's server certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let acceptor = acceptor(server_cert.der().clone(), key)?;
    Ok(SimTls { ca_pem: ca.pem(), acceptor })
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "kubectl-cockpit simulated cluster CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn server_params() -> Result<CertificateParams> {
    let names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).wrap_err("naming the simulator's server certificate")?;
    params.distinguished_name.push(DnType::CommonName, "kubectl-cockpit simulated cluster");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

fn acceptor(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Result<TlsAcceptor> {
    // ring explicitly, as everywhere in this crate: the process-wide default provider is
    // ambiguous as soon as another provider enters the dependency tree.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .wrap_err("choosing the simulator's TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .wrap_err("loading the simulator's server certificate")?;
    // The server speaks HTTP/1.1 only; saying so keeps clients from trying HTTP/2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
