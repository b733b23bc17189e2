//! Wireshark as an oracle: write frames into a pcap, decode them with `tshark -T json`, and
//! read back every PTP field it reports.
//!
//! tshark prints a field that occurs several times in one packet (a TLV's `tlvType`, say) as
//! one key holding a list when given `--no-duplicate-keys`; [`TsharkPacket::fields`] flattens
//! that into "field name → every value, in order", which is what a comparison needs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pcap_file::pcap::{PcapPacket, PcapWriter};
use serde_json::Value;

/// Source address of the frames written by [`udp_ipv4_frame`] (documentation range).
pub const SOURCE_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Destination address of the frames written by [`udp_ipv4_frame`] (documentation range).
pub const DESTINATION_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// Whether tshark can be run: `Ok(version line)`, or why not.
pub fn tshark_version() -> Result<String, String> {
    let output = Command::new("tshark")
        .arg("--version")
        .output()
        .map_err(|error| format!("tshark cannot be run: {error}"))?;
    if !output.status.success() {
        return Err(format!("tshark --version failed: {}", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or("tshark").to_owned())
}

/// Whether a test needing tshark should run: true when it is installed; when it is not, prints
/// why and returns false, except under `CI=true`, where a missing tshark fails the test.
pub fn require_tshark(test: &str) -> bool {
    match tshark_version() {
        Ok(_) => true,
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: CI=true and {reason}")
        }
        Err(reason) => {
            eprintln!("{test}: skipped: {reason}");
            false
        }
    }
}

/// An Ethernet II frame carrying `payload` in UDP over IPv4, from [`SOURCE_ADDRESS`] to
/// [`DESTINATION_ADDRESS`], with a correct IPv4 header checksum and no UDP checksum.
///
/// Panics (a test helper) when the payload is longer than a UDP datagram can be.
pub fn udp_ipv4_frame(source_port: u16, destination_port: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = u16::try_from(8 + payload.len()).expect("payload fits a UDP datagram");
    let total_len = udp_len + 20;
    let mut ip = vec![0x45, 0x00];
    ip.extend_from_slice(&total_len.to_be_bytes());
    ip.extend_from_slice(&[0x00, 0x01, 0x40, 0x00, 64, 17, 0, 0]);
    ip.extend_from_slice(&SOURCE_ADDRESS.octets());
    ip.extend_from_slice(&DESTINATION_ADDRESS.octets());
    let checksum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());

    let mut frame = ethernet_header(0x0800);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&source_port.to_be_bytes());
    frame.extend_from_slice(&destination_port.to_be_bytes());
    frame.extend_from_slice(&udp_len.to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// An Ethernet II frame carrying `payload` directly (ethertype 0x88F7, IEEE 1588 annex E), to
/// the 802.1AS peer-delay multicast address as gPTP sends it.
pub fn ethernet_ptp_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = ethernet_header(0x88F7);
    frame[..6].copy_from_slice(&[0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E]);
    frame.extend_from_slice(payload);
    frame
}

fn ethernet_header(ethertype: u16) -> Vec<u8> {
    // Destination: PTP's IPv4 multicast MAC; source: a locally administered address.
    let mut header = vec![
        0x01, 0x00, 0x5E, 0x00, 0x01, 0x81, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    ];
    header.extend_from_slice(&ethertype.to_be_bytes());
    header
}

/// The ones' complement sum of 16-bit words (RFC 1071), as IPv4 headers carry it.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // The loop above folded the sum into 16 bits.
    !(sum as u16)
}

/// Writes Ethernet frames into a pcap file, one second apart.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|error| format!("{path:?}: {error}"))?;
    let mut writer = PcapWriter::new(file).map_err(|error| error.to_string())?;
    for (index, frame) in frames.iter().enumerate() {
        let length = u32::try_from(frame.len()).map_err(|error| error.to_string())?;
        let timestamp = Duration::from_secs(1_700_000_000 + index as u64);
        let packet = PcapPacket::new(timestamp, length, frame);
        writer
            .write_packet(&packet)
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// What tshark made of one frame's PTP layer.
#[derive(Debug, Clone, PartialEq)]
pub struct TsharkPacket {
    /// The bytes tshark dissected as PTP (from `ptp_raw`).
    pub ptp_bytes: Vec<u8>,
    /// Every field of the PTP layer: name → values in the order tshark gives them.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl TsharkPacket {
    /// The values tshark reported for `field`, or none.
    pub fn values(&self, field: &str) -> &[String] {
        self.fields.get(field).map_or(&[], Vec::as_slice)
    }
}

/// Runs `tshark -r PATH -T json --no-duplicate-keys -x` and returns each frame's PTP layer,
/// in frame order.
pub fn decode(path: &Path) -> Result<Vec<TsharkPacket>, String> {
    let output = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "json", "--no-duplicate-keys", "-x"])
        .output()
        .map_err(|error| format!("tshark: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "tshark failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("tshark's JSON: {error}"))?;
    let packets = json.as_array().ok_or("tshark's JSON is not a list")?;
    packets
        .iter()
        .enumerate()
        .map(|(index, packet)| {
            let layers = &packet["_source"]["layers"];
            let frame = index + 1;
            let raw = layers["ptp_raw"]
                .get(0)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("frame {frame}: no ptp_raw: tshark saw no PTP"))?;
            let ptp_bytes = hex_bytes(raw).ok_or_else(|| format!("frame {frame}: bad ptp_raw"))?;
            let mut fields = BTreeMap::new();
            flatten(&layers["ptp"], &mut fields);
            Ok(TsharkPacket { ptp_bytes, fields })
        })
        .collect()
}

/// Collects every leaf field under `value` (skipping the `_raw` byte positions of `-x`).
fn flatten(value: &Value, fields: &mut BTreeMap<String, Vec<String>>) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (key, value) in object {
        if key.ends_with("_raw") {
            continue;
        }
        match value {
            Value::Object(_) => flatten(value, fields),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(_) => flatten(item, fields),
                        leaf => push_leaf(fields, key, leaf),
                    }
                }
            }
            leaf => push_leaf(fields, key, leaf),
        }
    }
}

fn push_leaf(fields: &mut BTreeMap<String, Vec<String>>, key: &str, leaf: &Value) {
    let text = match leaf {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    fields.entry(key.to_owned()).or_default().push(text);
}

/// Bytes from plain hex digits (as in `ptp_raw`).
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [_, _] => u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok(),
            _ => None,
        })
        .collect()
}

/// A tshark value in a form comparable with ours: `0x..` hex and decimal integers become
/// decimal, colon-separated bytes (`00:1b:19`) become plain lowercase hex, text stays text.
pub fn canonical(value: &str) -> String {
    if let Some(hex) = value.strip_prefix("0x") {
        if let Ok(number) = u128::from_str_radix(hex, 16) {
            return number.to_string();
        }
    }
    if let Ok(number) = value.parse::<i128>() {
        return number.to_string();
    }
    let is_colon_bytes = value.len() >= 2
        && value
            .split(':')
            .all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_hexdigit()));
    if is_colon_bytes {
        return value.replace(':', "").to_ascii_lowercase();
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_canonical_forms() {
        assert_eq!(canonical("0x0408"), "1032");
        assert_eq!(canonical("0x001122fffe334455"), "4823557480858709");
        assert_eq!(canonical("-3"), "-3");
        assert_eq!(canonical("00:0D:93"), "000d93");
        assert_eq!(canonical("bad"), "bad");
    }

    #[test]
    fn test_ipv4_checksum_verifies() {
        let frame = udp_ipv4_frame(319, 319, &[1, 2, 3]);
        // A header with its checksum in place sums to 0xFFFF, i.e. checks as 0.
        assert_eq!(internet_checksum(&frame[14..34]), 0);
        assert_eq!(frame.len(), 14 + 20 + 8 + 3);
    }

    #[test]
    fn test_flatten_keeps_repeated_fields_in_order() {
        let json: Value = serde_json::from_str(
            r#"{"a": "1", "a_raw": ["01", 0, 1, 0, 4], "t": {"b": ["2", "3"]},
                "c_tree": [{"d": "4"}, {"d": "5"}]}"#,
        )
        .unwrap();
        let mut fields = BTreeMap::new();
        flatten(&json, &mut fields);
        assert_eq!(fields["a"], ["1"]);
        assert_eq!(fields["b"], ["2", "3"]);
        assert_eq!(fields["d"], ["4", "5"]);
        assert!(!fields.contains_key("a_raw"));
    }
}
