//! The systemd unit shipped for `aptp daemon` asks for what the daemon needs and nothing that
//! would block boot: no root, the bind capability, its runtime directory, no network-online.

use std::collections::HashMap;

fn unit() -> HashMap<String, Vec<String>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contrib/systemd/aptp.service"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') || line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        keys.entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    keys
}

#[test]
fn unit_runs_the_daemon_unprivileged_in_its_runtime_directory() {
    let unit = unit();
    let one = |key: &str| {
        unit.get(key)
            .map(|values| values.join(" "))
            .unwrap_or_default()
    };
    assert_eq!(one("ExecStart"), "/usr/bin/aptp daemon");
    assert_eq!(one("DynamicUser"), "yes");
    assert_eq!(one("AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
    assert_eq!(one("RuntimeDirectory"), "aptp");
    assert!(!one("RuntimeDirectoryMode").is_empty());
    for key in ["Wants", "Requires", "After", "BindsTo"] {
        assert!(
            !one(key).contains("network-online"),
            "{key} must not involve network-online"
        );
    }
    // The socket path the daemon derives from systemd's $RUNTIME_DIRECTORY.
    assert_eq!(
        std::path::Path::new("/run")
            .join(one("RuntimeDirectory"))
            .join(aptp::client::SOCKET_FILE_NAME),
        std::path::PathBuf::from(aptp::client::DEFAULT_SOCKET_PATH)
    );
}
