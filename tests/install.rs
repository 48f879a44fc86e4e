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

/// The suite's own build directory: the test binary runs from `<dir>/<profile>/deps/`.
fn suite_build_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).expect("the test binary sits in <target>/<profile>/deps").to_path_buf()
}

/// The crate as `cargo publish` would upload it builds on its own, and the binary built
/// from it (what `cargo install kubectl-cockpit` gives a user) behaves as this one. Cargo's
/// own verification (`cargo package` without `--no-verify`) compiles every dependency from
/// scratch in a directory of its own, minutes on two cores; here the packaged crate's
/// intermediate artefacts go to the suite's build directory (`build.build-dir`), where every
/// dependency is already built in this profile, so only the crate itself compiles (about a
/// minute: the one proof that what is published is complete) and its binary lands apart.
/// The crate is unpacked beside the build directory's own files (`packaged-crate/`).
#[test]
fn the_packaged_crate_builds_a_binary_that_behaves_as_this_one() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let scratch = tempfile::tempdir().unwrap();
    let packed = scratch.path().join("packed");
    run(Command::new(&cargo)
        .args(["package", "--no-verify", "--allow-dirty", "--offline", "--target-dir"])
        .arg(&packed)
        .current_dir(env!("CARGO_MANIFEST_DIR")));
    let name = format!("kubectl-cockpit-{}", env!("CARGO_PKG_VERSION"));
    // A fixed place: the crate's artefacts in the build directory are keyed by its path,
    // so a new path each run would leave another copy of them behind every time.
    let unpacked = suite_build_dir().join("packaged-crate");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).unwrap();
    run(Command::new("tar")
        .arg("xzf")
        .arg(packed.join("package").join(format!("{name}.crate")))
        .arg("-C")
        .arg(&unpacked));
    let installed = scratch.path().join("installed");
    run(Command::new(&cargo)
        .args(["build", "--offline", "--locked", "--bin", "kubectl-cockpit", "--manifest-path"])
        .arg(unpacked.join(&name).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&installed)
        .env("CARGO_BUILD_BUILD_DIR", suite_build_dir())
        .env_remove("CARGO_TARGET_DIR"));
    let from_package = installed.join("debug").join("kubectl-cockpit");
    assert!(from_package.is_file(), "the package's binary is in its own target directory");
    let ours = Path::new(env!("CARGO_BIN_EXE_kubectl-cockpit"));
    for args in [&["--version"][..], &["--help"], &["status", "--demo", "-o", "json"]] {
        let of = |binary: &Path| {
            let out = Command::new(binary).args(args).output().unwrap();
            (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let (code, text) = of(&from_package);
        assert_eq!(code, Some(0), "{args:?} from the package: {text}");
        if args[0] == "status" {
            // Ages move between two runs; the services, their checks and numbers must not.
            let services = |text: &str| -> Vec<String> {
                let json: serde_json::Value = serde_json::from_str(text).unwrap();
                json["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| format!("{}/{} {} {}", s["namespace"], s["name"], s["kind"], s["replicas"]["desired"]))
                    .collect()
            };
            assert_eq!(services(&text), services(&of(ours).1), "status from the package");
        } else {
            assert_eq!((code, text), of(ours), "{args:?} from the package");
        }
    }
}
