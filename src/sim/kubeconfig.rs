//! Kubeconfigs for the simulated cluster: context, cluster and user all named
//! `cockpit-sim`, namespace `default`, a bearer token, and for an https server the CA
//! to trust. Written as JSON, which kubectl and kube-rs read like YAML.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use kube::config::Kubeconfig;
use serde_json::{Value, json};

pub const CONTEXT: &str = "cockpit-sim";

/// A kubeconfig for a plain-HTTP `server`: kube-rs sends the token there, kubectl does not.
pub fn kubeconfig(server: &str, token: &str) -> Kubeconfig {
    with_cluster(json!({"server": server}), token)
}

/// A kubeconfig for an https `server` whose certificate `ca_pem` (PEM) signed.
pub fn tls_kubeconfig(server: &str, ca_pem: &str, token: &str) -> Kubeconfig {
    with_cluster(json!({"server": server, "certificate-authority-data": BASE64.encode(ca_pem)}), token)
}

fn with_cluster(cluster: Value, token: &str) -> Kubeconfig {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}],
        "current-context": CONTEXT,
    });
    serde_json::from_value(doc).expect("a well-formed kubeconfig")
}

/// Writes `config` to `path` (mode 0600: it holds a token).
pub fn write(path: &Path, config: &Kubeconfig) -> Result<()> {
    let text = serde_json::to_string_pretty(config).wrap_err("serialising the kubeconfig")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).wrap_err_with(|| format!("writing kubeconfig {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .wrap_err_with(|| format!("restricting permissions of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_kubeconfig_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kc.json");
        write(&path, &kubeconfig("http://127.0.0.1:1234", "tok")).unwrap();
        let back = Kubeconfig::read_from(&path).unwrap();
        assert_eq!(back.current_context.as_deref(), Some(CONTEXT));
        assert_eq!(back.clusters[0].cluster.as_ref().unwrap().server.as_deref(), Some("http://127.0.0.1:1234"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"token\": \"tok\""), "{text}");
    }

    #[test]
    fn tls_kubeconfig_carries_the_ca() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let config = tls_kubeconfig("https://127.0.0.1:1234", pem, "tok");
        let cluster = config.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:1234"));
        let data = cluster.certificate_authority_data.as_deref().unwrap();
        assert_eq!(BASE64.decode(data).unwrap(), pem.as_bytes());
    }
}
