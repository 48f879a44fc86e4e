//! Install and first contact: the release archive and krew manifest that
//! `scripts/dist.sh` makes (here from the test build of the binary, since a dist build
//! takes minutes), unpacked the way krew installs it and found by the real `kubectl`'s
//! plugin discovery; and what the published crate holds.

use std::path::Path;
use std::process::Command;

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{command:?} failed: {text}");
    text
}

#[test]
fn the_archive_and_krew_manifest_install_a_plugin_kubectl_finds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    let manifest_path = dir.path().join("cockpit.yaml");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    run(Command::new(repo.join("scripts/dist.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_kubectl-cockpit"), "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&manifest_path)
        .args(["--url-base", "https://releases.example.com/cockpit"]));

    let version = env!("CARGO_PKG_VERSION");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let manifest: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(manifest["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2");
    assert_eq!(manifest["kind"], "Plugin");
    assert_eq!(manifest["metadata"]["name"], "cockpit", "invoked as `kubectl cockpit`");
    let spec = &manifest["spec"];
    assert_eq!(spec["version"], format!("v{version}"), "krew wants a v-prefixed semantic version");
    let short = spec["shortDescription"].as_str().unwrap();
    assert!(!short.is_empty() && short.len() <= 50, "krew keeps it short: {short:?}");
    for field in ["description", "caveats", "homepage"] {
        assert!(spec[field].as_str().is_some_and(|s| !s.trim().is_empty()), "{field}: {text}");
    }
    let platform = &spec["platforms"][0];
    assert_eq!(platform["selector"]["matchLabels"], serde_json::json!({"os": "linux", "arch": "amd64"}));
    assert_eq!(platform["bin"], "kubectl-cockpit");
    let uri = platform["uri"].as_str().unwrap();
    let archive_name = uri.rsplit('/').next().unwrap();
    assert!(uri.starts_with(&format!("https://releases.example.com/cockpit/v{version}/")), "{uri}");
    let archive = out.join(archive_name);
    assert!(archive.is_file(), "the manifest names the archive made: {uri}");

    let sums = run(Command::new("sha256sum").arg(&archive));
    assert_eq!(platform["sha256"].as_str().unwrap(), sums.split_whitespace().next().unwrap());
    let recorded = std::fs::read_to_string(out.join(format!("{archive_name}.sha256"))).unwrap();
    assert!(recorded.starts_with(platform["sha256"].as_str().unwrap()), "{recorded}");

    let listing = run(Command::new("tar").arg("-tzf").arg(&archive));
    let top = archive_name.trim_end_matches(".tar.gz");
    for file in [
        "kubectl-cockpit",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
        "completions/kubectl-cockpit.bash",
        "completions/_kubectl-cockpit",
        "completions/kubectl-cockpit.fish",
        "man/kubectl-cockpit.1",
    ] {
        assert!(listing.lines().any(|l| l == format!("{top}/{file}")), "{file} in the archive:\n{listing}");
    }

    // Install as krew does: unpack, copy each `files` entry to the plugin folder, put it on PATH.
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpacked));
    let bin = dir.path().join("krew-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for entry in platform["files"].as_array().unwrap() {
        let from = entry["from"].as_str().unwrap();
        let (folder, pattern) = from.rsplit_once('/').unwrap();
        let prefix = pattern.trim_end_matches('*');
        let mut copied = 0;
        for found in std::fs::read_dir(unpacked.join(folder)).unwrap() {
            let found = found.unwrap();
            let name = found.file_name().to_string_lossy().into_owned();
            if (pattern.ends_with('*') && name.starts_with(prefix)) || name == pattern {
                std::fs::copy(found.path(), bin.join(&name)).unwrap();
                copied += 1;
            }
        }
        assert!(copied > 0, "{from} matches a file in the archive");
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let version_line = run(Command::new("kubectl").args(["cockpit", "--version"]).env("PATH", &path));
    assert_eq!(version_line.trim(), format!("kubectl-cockpit {version}"));
    let plugins = run(Command::new("kubectl").args(["plugin", "list"]).env("PATH", &path));
    assert!(plugins.contains(&bin.join("kubectl-cockpit").display().to_string()), "{plugins}");
    let man = std::fs::read_to_string(unpacked.join(top).join("man/kubectl-cockpit.1")).unwrap();
    assert!(man.starts_with(".ie") || man.contains(".TH"), "a roff man page");
}

#[test]
fn the_published_crate_holds_what_a_user_builds_and_no_test_fixtures() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let listing = run(Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR")));
    let files: Vec<&str> = listing.lines().filter(|l| !l.starts_with("warning") && !l.starts_with(' ')).collect();
    for needed in
        ["Cargo.toml", "Cargo.lock", "src/main.rs", "src/lib.rs", "assets/profiles/demo.toml", "themes/dark.toml"]
    {
        assert!(files.contains(&needed), "{needed} is packaged: {files:?}");
    }
    for file in &files {
        for left_out in ["tests/", "benches/", "scripts/", ".ci/", "plugins/"] {
            assert!(!file.starts_with(left_out), "{file} is not for users");
        }
    }
}
