//! The Debian package (`cargo deb -p aptp-cli`), checked statically: what
//! `[package.metadata.deb]` in crates/aptp-cli/Cargo.toml installs, and the systemd units it
//! ships. cargo-deb is not needed here: cargo itself parses the manifest (`cargo metadata`).
//!
//! - every asset and unit the metadata names exists, and every unit in contrib/systemd is
//!   packaged;
//! - the units start the binary where the package installs it, with a command line the `aptp`
//!   built beside this test accepts (`cargo build -p aptp-cli` first, as for nqptp_dropin);
//! - the units are hardened (a transient user, only `CAP_NET_BIND_SERVICE`), the daemon's
//!   runtime directory is where clients look for the socket, nothing waits for
//!   network-online, and the package enables or starts nothing (the units conflict with each
//!   other and with nqptp: the administrator picks one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// The aptp-cli crate's directory: cargo-deb resolves asset and script paths against it.
fn cli_dir() -> PathBuf {
    root().join("crates").join("aptp-cli")
}

/// `[package.metadata.deb]` of aptp-cli, as cargo parses it.
fn deb_metadata() -> Value {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(cli_dir().join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let package = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|package| package["name"] == "aptp-cli")
        .expect("the aptp-cli package")
        .clone();
    let deb = package["metadata"]["deb"].clone();
    assert!(deb.is_object(), "no [package.metadata.deb] in aptp-cli");
    deb
}

fn text<'a>(deb: &'a Value, key: &str) -> &'a str {
    deb[key]
        .as_str()
        .unwrap_or_else(|| panic!("[package.metadata.deb] {key} is missing or not a string"))
}

/// The assets as `(source, destination, mode)`.
fn assets(deb: &Value) -> Vec<(String, String, String)> {
    deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|asset| {
            let parts: Vec<String> = asset
                .as_array()
                .expect("an asset is [source, destination, mode]")
                .iter()
                .map(|part| part.as_str().expect("asset fields are strings").to_owned())
                .collect();
            assert_eq!(parts.len(), 3, "asset {parts:?}");
            (parts[0].clone(), parts[1].clone(), parts[2].clone())
        })
        .collect()
}

/// The systemd-units entries.
fn unit_entries(deb: &Value) -> Vec<Value> {
    match &deb["systemd-units"] {
        Value::Array(entries) => entries.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        other => panic!("systemd-units missing or malformed: {other}"),
    }
}

/// Where the package puts `source`'s file: the destination itself, or `destination/<name>`
/// when the destination ends with '/' (cargo-deb's rule).
fn installed_path(source: &str, destination: &str) -> String {
    let path = if destination.ends_with('/') {
        let name = Path::new(source).file_name().expect("a file name");
        format!("{destination}{}", name.to_string_lossy())
    } else {
        destination.to_owned()
    };
    format!("/{}", path.trim_start_matches('/'))
}

/// A unit file as `key → values` (repeated keys keep every value; comments and section headers
/// skipped).
fn parse_unit(path: &Path) -> HashMap<String, Vec<String>> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with('[')
        {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: not key=value: {line}", path.display()));
        keys.entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    keys
}

fn one(unit: &HashMap<String, Vec<String>>, key: &str) -> String {
    unit.get(key)
        .map(|values| values.join(" "))
        .unwrap_or_default()
}

/// The `aptp` binary built beside this test (target/<profile>/aptp).
fn built_aptp() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("aptp"))
        .expect("the target directory");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p aptp-cli` first",
        binary.display()
    );
    binary
}

/// The unit files the package installs: `(unit name, path in the source tree)`.
fn packaged_units(deb: &Value) -> Vec<(String, PathBuf)> {
    let default_scripts = deb["maintainer-scripts"].as_str();
    unit_entries(deb)
        .iter()
        .map(|entry| {
            let name = entry["unit-name"]
                .as_str()
                .expect("every systemd-units entry names its unit")
                .to_owned();
            let directory = entry["unit-scripts"]
                .as_str()
                .or(default_scripts)
                .expect("unit-scripts or maintainer-scripts");
            let path = cli_dir().join(directory).join(format!("{name}.service"));
            assert!(path.is_file(), "unit {name}: {} is missing", path.display());
            (name, path)
        })
        .collect()
}

#[test]
fn package_metadata_names_the_package_and_its_files() {
    let deb = deb_metadata();
    assert_eq!(text(&deb, "name"), "aptp");
    let maintainer = text(&deb, "maintainer");
    assert!(
        maintainer.contains('<') && maintainer.contains('@') && maintainer.ends_with('>'),
        "Maintainer must be `Name <address>`: {maintainer}"
    );
    assert!(!text(&deb, "extended-description").trim().is_empty());
    assert_eq!(text(&deb, "section"), "net");
    // Shared-library dependencies computed from the binary (libc).
    assert!(text(&deb, "depends").contains("$auto"));

    let assets = assets(&deb);
    // The binary: cargo-deb maps target/release/ to the workspace's target directory.
    let binaries: Vec<_> = assets
        .iter()
        .filter(|(source, _, _)| source == "target/release/aptp")
        .collect();
    assert_eq!(binaries.len(), 1, "the aptp binary is packaged once");
    let (source, destination, mode) = binaries[0];
    assert_eq!(installed_path(source, destination), "/usr/bin/aptp");
    assert_eq!(mode, "755");
    // Every other asset is a file of the source tree.
    for (source, destination, mode) in &assets {
        if source.starts_with("target/") {
            continue;
        }
        let path = cli_dir().join(source);
        assert!(
            path.is_file(),
            "asset {source}: {} is missing",
            path.display()
        );
        assert!(
            destination.starts_with("usr/share/doc/aptp/"),
            "{source} → {destination}"
        );
        assert_eq!(mode, "644", "{source}");
    }

    // maintainer-scripts must be set for cargo-deb to install units, and any script in it must
    // carry the #DEBHELPER# token where the generated fragments go.
    let scripts = cli_dir().join(text(&deb, "maintainer-scripts"));
    assert!(scripts.is_dir(), "{} is missing", scripts.display());
    for entry in std::fs::read_dir(&scripts).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if ["preinst", "postinst", "prerm", "postrm"]
            .iter()
            .any(|script| name == *script || name.ends_with(&format!(".{script}")))
        {
            let body = std::fs::read_to_string(&path).unwrap();
            assert!(body.contains("#DEBHELPER#"), "{name} lacks #DEBHELPER#");
        }
    }
}

#[test]
fn every_unit_is_packaged_and_none_is_enabled_or_started() {
    let deb = deb_metadata();
    let units = packaged_units(&deb);
    let names: Vec<&str> = units.iter().map(|(name, _)| name.as_str()).collect();
    assert!(names.contains(&"aptp"), "{names:?}");
    assert!(names.contains(&"aptp-nqptp"), "{names:?}");
    // Every unit of contrib/systemd is in the package.
    for entry in std::fs::read_dir(root().join("contrib").join("systemd")).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(unit) = file.strip_suffix(".service") {
            assert!(names.contains(&unit), "{file} is not packaged");
        }
    }
    // They conflict with each other and with nqptp: enabling or starting any on installation
    // would stop a running nqptp. The administrator enables one.
    for entry in unit_entries(&deb) {
        for option in ["enable", "start"] {
            assert_eq!(
                entry[option],
                Value::Bool(false),
                "{}: {option} must be false",
                entry["unit-name"]
            );
        }
    }
}

#[test]
fn units_start_the_installed_binary_unprivileged() {
    let deb = deb_metadata();
    let binary = assets(&deb)
        .iter()
        .find(|(source, _, _)| source == "target/release/aptp")
        .map(|(source, destination, _)| installed_path(source, destination))
        .expect("the packaged binary");
    let aptp = built_aptp();
    let units: Vec<(String, HashMap<String, Vec<String>>)> = packaged_units(&deb)
        .into_iter()
        .map(|(name, path)| (name, parse_unit(&path)))
        .collect();
    for (name, unit) in &units {
        let exec = one(unit, "ExecStart");
        let mut words = exec.split_whitespace();
        assert_eq!(
            words.next(),
            Some(binary.as_str()),
            "{name}: ExecStart={exec}"
        );
        // The command line is one the binary accepts.
        let arguments: Vec<&str> = words.collect();
        assert!(
            !arguments.is_empty(),
            "{name}: ExecStart names no subcommand"
        );
        let help = Command::new(&aptp)
            .args(&arguments)
            .arg("--help")
            .output()
            .expect("run aptp");
        assert!(
            help.status.success(),
            "{name}: `aptp {} --help` fails: {}",
            arguments.join(" "),
            String::from_utf8_lossy(&help.stderr)
        );

        // No root: a transient user with only the capability to bind ports 319 and 320.
        assert_eq!(one(unit, "DynamicUser"), "yes", "{name}");
        assert_eq!(
            one(unit, "AmbientCapabilities"),
            "CAP_NET_BIND_SERVICE",
            "{name}"
        );
        assert_eq!(
            one(unit, "CapabilityBoundingSet"),
            "CAP_NET_BIND_SERVICE",
            "{name}"
        );
        assert_eq!(one(unit, "NoNewPrivileges"), "yes", "{name}");
        assert_eq!(one(unit, "ProtectSystem"), "strict", "{name}");
        // Records in /dev/shm readable by players running as other users.
        assert_eq!(one(unit, "UMask"), "0022", "{name}");
        // SIGTERM is the clean exit that removes the shared memory (and the socket).
        assert_eq!(one(unit, "KillSignal"), "SIGTERM", "{name}");
        // Boot does not wait for the network.
        for key in ["Wants", "Requires", "After", "BindsTo", "Requisite"] {
            assert!(
                !one(unit, key).contains("network-online"),
                "{name}: {key} involves network-online"
            );
        }
        // `systemctl enable` has something to do.
        assert_eq!(one(unit, "WantedBy"), "multi-user.target", "{name}");
        // One owner of PTP's ports at a time.
        let conflicts = one(unit, "Conflicts");
        assert!(conflicts.contains("nqptp.service"), "{name}: {conflicts}");
        for (other, _) in &units {
            if other != name {
                assert!(
                    conflicts
                        .split_whitespace()
                        .any(|c| c == format!("{other}.service")),
                    "{name} must conflict with {other}.service: {conflicts}"
                );
            }
        }
    }

    // The daemon's socket directory is the one clients look in by default.
    let (_, daemon) = units
        .iter()
        .find(|(name, _)| name == "aptp")
        .expect("aptp.service");
    assert_eq!(one(daemon, "ExecStart"), format!("{binary} daemon"));
    let runtime_directory = one(daemon, "RuntimeDirectory");
    assert_eq!(runtime_directory, "aptp");
    assert!(!one(daemon, "RuntimeDirectoryMode").is_empty());
    assert_eq!(
        Path::new("/run")
            .join(&runtime_directory)
            .join(aptp::client::SOCKET_FILE_NAME),
        PathBuf::from(aptp::client::DEFAULT_SOCKET_PATH)
    );
    let (_, nqptp) = units
        .iter()
        .find(|(name, _)| name == "aptp-nqptp")
        .expect("aptp-nqptp.service");
    assert_eq!(one(nqptp, "ExecStart"), format!("{binary} nqptp"));
}
