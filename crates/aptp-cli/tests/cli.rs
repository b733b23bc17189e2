//! The `aptp` binary run as scripts run it: decode, decode --json | encode, errors, arguments.
//!
//! Golden messages are written here byte by byte from IEEE 1588-2019's layouts (header 34
//! bytes, then the body), independently of aptp-wire's builders.

use std::borrow::Cow;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// Header fields shared by the golden messages, after messageType/version/length:
/// domain 0, minorSdoId 0 (then flags, per message).
const CORRECTION_AND_MORE: &str = concat!(
    "0000000000012345", // correctionField: 1.137772 ns
    "00000000",         // messageTypeSpecific
    "001122fffe334455", // sourcePortIdentity.clockIdentity
    "8001",             // sourcePortIdentity.portNumber
);

/// A timestamp: 1234 s + 567 ns.
const TIMESTAMP: &str = "0000000004d2 00000237";
/// A port identity: aabbcc.fffe.ddeeff-7.
const PORT: &str = "aabbccfffeddeeff 0007";

fn golden() -> Vec<(&'static str, String)> {
    let header = |first: &str, length: &str, flags: &str, sequence: &str, tail: &str| {
        format!("{first} 12 {length} 00 00 {flags} {CORRECTION_AND_MORE} {sequence} {tail}")
    };
    vec![
        (
            "sync",
            header("10", "002c", "0208", "0001", "00 fd") + " " + TIMESTAMP,
        ),
        (
            "delay_req",
            header("11", "002c", "0000", "0002", "01 7f") + " " + TIMESTAMP,
        ),
        (
            "pdelay_req",
            header("12", "0036", "0000", "0003", "05 7f")
                + " "
                + TIMESTAMP
                + " 00000000000000000000",
        ),
        (
            "pdelay_resp",
            header("13", "0036", "0200", "0004", "05 7f") + " " + TIMESTAMP + " " + PORT,
        ),
        (
            "follow_up",
            header("18", "004c", "0408", "0005", "02 fd")
                + " " + TIMESTAMP
                // 802.1AS Follow_Up information TLV: type 3, length 28, OUI 00-80-C2, subtype 1.
                + " 0003 001c 0080c2 000001 00000064 0001 000000000000000000000000 00000005",
        ),
        (
            "delay_resp",
            header("19", "0036", "0608", "0006", "03 fd") + " " + TIMESTAMP + " " + PORT,
        ),
        (
            "pdelay_resp_follow_up",
            header("1a", "0036", "0000", "0007", "05 7f") + " " + TIMESTAMP + " " + PORT,
        ),
        (
            "announce",
            header("1b", "004c", "0408", "0008", "05 fe")
                + " " + TIMESTAMP
                + " 0025 00 fa f8 21 436a ef 001122fffe334455 0000 a0"
                // PATH_TRACE: one clock identity.
                + " 0008 0008 001122fffe334455",
        ),
        (
            "signaling",
            header("1c", "0036", "0408", "0009", "05 80")
                + " 0000000000000000 0000"
                // REQUEST_UNICAST_TRANSMISSION: Announce every 2^-3 s for 60 s.
                + " 0004 0006 b0 fd 0000003c",
        ),
        (
            "management",
            header("1d", "0036", "0000", "000a", "04 7f")
                + " ffffffffffffffff ffff 01 01 00 00"
                // MANAGEMENT TLV: GET CURRENT_DATA_SET (no data).
                + " 0001 0002 2001",
        ),
    ]
}

fn aptp(arguments: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aptp"))
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aptp runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin accepts the input");
    child.wait_with_output().expect("aptp finishes")
}

fn stdout(output: &Output) -> Cow<'_, str> {
    String::from_utf8_lossy(&output.stdout)
}

fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is JSON"))
        .collect()
}

fn compact(hex: &str) -> String {
    hex.chars().filter(|c| !c.is_whitespace()).collect()
}

fn all_golden_lines() -> String {
    golden().iter().map(|(_, hex)| format!("{hex}\n")).collect()
}

#[test]
fn test_decode_json_names_every_message_type() {
    let output = aptp(&["decode", "--json"], &all_golden_lines());
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    let names: Vec<&str> = golden().iter().map(|(name, _)| *name).collect();
    let found: Vec<&str> = lines
        .iter()
        .map(|line| {
            line["message_type"]
                .as_str()
                .expect("a known type has a name")
        })
        .collect();
    assert_eq!(found, names);
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["sequence_id"], index + 1, "{line}");
        assert_eq!(line["correction_field"], 0x12345);
        assert_eq!(line["version_ptp"], 2);
        assert_eq!(line["minor_version_ptp"], 1);
        assert_eq!(line["major_sdo_id"], 1);
        assert_eq!(
            line["source_port_identity"],
            json!({"clock_identity": "001122fffe334455", "port_number": 32769})
        );
    }
}

#[test]
fn test_sync_json_has_exactly_the_contract_keys() {
    let output = aptp(&["decode", "--json"], &golden()[0].1);
    let line = &json_lines(&output)[0];
    assert_eq!(
        *line,
        json!({
            "message_type": "sync", "major_sdo_id": 1, "minor_version_ptp": 1, "version_ptp": 2,
            "message_length": 44, "domain_number": 0, "minor_sdo_id": 0, "flags": 0x0208,
            "correction_field": 0x12345, "message_type_specific": 0,
            "source_port_identity": {"clock_identity": "001122fffe334455", "port_number": 32769},
            "sequence_id": 1, "control_field": 0, "log_message_interval": -3,
            "origin_timestamp": {"seconds": 1234, "nanoseconds": 567}, "tlvs": []
        })
    );
    // Keys come in wire order.
    let text = stdout(&output);
    let position = |key: &str| text.find(&format!("\"{key}\"")).expect("key present");
    assert!(position("message_type") < position("major_sdo_id"));
    assert!(position("sequence_id") < position("origin_timestamp"));
    assert!(position("seconds") < position("nanoseconds"));
}

#[test]
fn test_body_fields_by_standard_names() {
    let output = aptp(&["decode", "--json"], &all_golden_lines());
    let lines = json_lines(&output);
    let timestamp = json!({"seconds": 1234, "nanoseconds": 567});
    let port = json!({"clock_identity": "aabbccfffeddeeff", "port_number": 7});
    assert_eq!(lines[1]["origin_timestamp"], timestamp);
    assert_eq!(lines[2]["origin_timestamp"], timestamp);
    assert_eq!(lines[3]["request_receipt_timestamp"], timestamp);
    assert_eq!(lines[3]["requesting_port_identity"], port);
    assert_eq!(lines[4]["precise_origin_timestamp"], timestamp);
    assert_eq!(lines[5]["receive_timestamp"], timestamp);
    assert_eq!(lines[5]["requesting_port_identity"], port);
    assert_eq!(lines[5]["flags"], 0x0608);
    assert_eq!(lines[6]["response_origin_timestamp"], timestamp);

    let announce = &lines[7];
    assert_eq!(announce["current_utc_offset"], 37);
    assert_eq!(announce["grandmaster_priority1"], 250);
    assert_eq!(
        announce["grandmaster_clock_quality"],
        json!({"clock_class": 248, "clock_accuracy": 0x21, "offset_scaled_log_variance": 0x436a})
    );
    assert_eq!(announce["grandmaster_priority2"], 239);
    assert_eq!(announce["grandmaster_identity"], "001122fffe334455");
    assert_eq!(announce["steps_removed"], 0);
    assert_eq!(announce["time_source"], 0xa0);
    assert_eq!(announce["log_message_interval"], -2);
    assert_eq!(announce.get("reserved"), None);

    let signaling = &lines[8];
    assert_eq!(
        signaling["target_port_identity"],
        json!({"clock_identity": "0000000000000000", "port_number": 0})
    );
    let management = &lines[9];
    assert_eq!(
        management["target_port_identity"],
        json!({"clock_identity": "ffffffffffffffff", "port_number": 65535})
    );
    assert_eq!(management["starting_boundary_hops"], 1);
    assert_eq!(management["boundary_hops"], 1);
    assert_eq!(management["action_field"], 0);
    assert_eq!(management["control_field"], 4);
}

#[test]
fn test_typed_tlvs() {
    let output = aptp(&["decode", "--json"], &all_golden_lines());
    let lines = json_lines(&output);
    assert_eq!(
        lines[4]["tlvs"],
        json!([{
            "tlv_type": "organization_extension", "length_field": 28,
            "organization_id": "0080c2", "organization_sub_type": "000001",
            "cumulative_scaled_rate_offset": 100, "gm_time_base_indicator": 1,
            "last_gm_phase_change": "000000000000000000000000", "scaled_last_gm_freq_change": 5,
            "value": "0080c200000100000064000100000000000000000000000000000005"
        }])
    );
    assert_eq!(
        lines[7]["tlvs"],
        json!([{
            "tlv_type": "path_trace", "length_field": 8,
            "path_sequence": ["001122fffe334455"], "value": "001122fffe334455"
        }])
    );
    assert_eq!(
        lines[8]["tlvs"],
        json!([{
            "tlv_type": "request_unicast_transmission", "length_field": 6,
            "message_type": "announce", "log_inter_message_period": -3, "duration_field": 60,
            "value": "b0fd0000003c"
        }])
    );
    assert_eq!(
        lines[9]["tlvs"],
        json!([{
            "tlv_type": "management", "length_field": 2, "management_id": 0x2001, "data": "",
            "value": "2001"
        }])
    );
}

#[test]
fn test_decode_json_then_encode_reproduces_the_input() {
    let mut input = all_golden_lines();
    // The odd ones: an unknown message type, an unknown TLV, bytes after messageLength, a
    // non-zero reserved byte, a TLV area that does not add up, a 0x prefix and spaces.
    let sync = compact(&golden()[0].1);
    input.push_str(&format!("{}deadbeef\n", sync));
    input.push_str(&format!(
        "15 02 002c {} aabbccddeeff00112233 4455667788\n",
        &compact(&golden()[0].1)[8..68]
    ));
    let follow_up = compact(&golden()[4].1).replace("004c", "0054") + "77770004cafef00d";
    input.push_str(&format!("0x{follow_up}\n"));
    let announce = compact(&golden()[7].1);
    input.push_str(&format!("{}ff{}\n", &announce[..92], &announce[94..]));
    let odd_area = compact(&golden()[8].1).replace("0036", "0039") + "000102";
    input.push_str(&format!("{odd_area}\n"));

    let decoded = aptp(&["decode", "--json"], &input);
    assert!(decoded.status.success());
    let lines = json_lines(&decoded);
    assert_eq!(lines.len(), 15);
    assert_eq!(lines[10]["suffix"], "deadbeef");
    assert_eq!(lines[11]["message_type"], 5);
    assert_eq!(lines[11]["body"], "aabbccddeeff00112233");
    assert_eq!(lines[11]["suffix"], "4455667788");
    assert_eq!(lines[12]["tlvs"][1]["tlv_type"], 0x7777);
    assert_eq!(lines[13]["reserved"], 0xff);
    assert_eq!(lines[14]["tlv_error"]["bytes"], "000102");

    let encoded = aptp(&["encode"], &stdout(&decoded));
    assert!(
        encoded.status.success(),
        "{}",
        String::from_utf8_lossy(&encoded.stderr)
    );
    let expected: Vec<String> = input
        .lines()
        .map(|line| compact(line).trim_start_matches("0x").to_owned())
        .collect();
    let found: Vec<String> = stdout(&encoded).lines().map(str::to_owned).collect();
    assert_eq!(found, expected);
}

#[test]
fn test_bad_messages_are_error_lines_and_decoding_goes_on() {
    let input = format!(
        "10 12 00\nnot hex\n\n# a comment\n{}\n1b12004c\n",
        golden()[0].1
    );
    let output = aptp(&["decode", "--json"], &input);
    assert!(output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["offset"], 0);
    assert!(lines[0]["error"].as_str().unwrap().contains("truncated"));
    assert_eq!(lines[1]["offset"], 0);
    assert!(lines[1]["error"].as_str().unwrap().contains("hex digit"));
    assert_eq!(lines[2]["message_type"], "sync");
    assert!(lines[3]["error"].as_str().unwrap().contains("line 6"));
    for error in [&lines[0], &lines[1], &lines[3]] {
        let keys: Vec<&String> = error.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error", "offset"]);
    }

    let readable = aptp(&["decode"], &input);
    let text = stdout(&readable);
    assert!(text.contains("line 1: error at byte 0: truncated"));
    assert!(text.contains("line 5: Sync, 44 bytes"));
}

#[test]
fn test_readable_decode() {
    let output = aptp(&["decode"], &all_golden_lines());
    assert!(output.status.success());
    let text = stdout(&output);
    for expected in [
        "line 1: Sync, 44 bytes",
        "  flags: 0x0208 (twoStep|ptpTimescale)",
        "  source_port_identity: 001122.fffe.334455-32769",
        "  origin_timestamp: 1234.000000567 s",
        "line 5: Follow_Up, 76 bytes",
        "      cumulative_scaled_rate_offset: 100",
        "    clock_accuracy: 0x21 (within 100 ns)",
        "  time_source: 0xa0 (INTERNAL_OSCILLATOR)",
        "      management_id: 0x2001 (CURRENT_DATA_SET)",
        "        - 001122.fffe.334455",
        "  flags: 0x0000 (none)",
        "  validation: ok",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // A HomePod mini's Delay_Resp with controlField 0 decodes, with a warning.
    let homepod = golden()[5].1.replace("03 fd", "00 fd");
    let text = stdout(&aptp(&["decode"], &homepod)).into_owned();
    assert!(
        text.contains("validation: warning: controlField 0, expected 3"),
        "{text}"
    );
}

#[test]
fn test_decode_reads_a_file() {
    let path = std::env::temp_dir().join(format!("aptp-cli-test-{}.hex", std::process::id()));
    std::fs::write(&path, all_golden_lines()).unwrap();
    let output = aptp(&["decode", "--json", path.to_str().unwrap()], "");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(json_lines(&output).len(), 10);
}

fn udp_frame(source_port: u16, destination_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![
        1, 0, 0x5e, 0, 1, 0x81, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00,
    ];
    let total = (20 + 8 + payload.len()) as u16;
    frame.extend_from_slice(&[0x45, 0]);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 224, 0, 1, 129]);
    frame.extend_from_slice(&source_port.to_be_bytes());
    frame.extend_from_slice(&destination_port.to_be_bytes());
    frame.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(payload);
    frame
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    let hex = compact(hex);
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

#[test]
fn test_decode_pcap_and_pcapng() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::DataLink;

    let sync = hex_bytes(&golden()[0].1);
    let follow_up = hex_bytes(&golden()[4].1);
    let mut truncated = udp_frame(319, 319, &sync);
    truncated.truncate(30);
    let frames = [
        udp_frame(319, 319, &sync),
        udp_frame(53, 53, b"not ptp"),
        truncated,
        udp_frame(320, 320, &follow_up),
    ];
    let directory = std::env::temp_dir();
    let pcap_path = directory.join(format!("aptp-cli-test-{}.pcap", std::process::id()));
    let mut writer = PcapWriter::new(std::fs::File::create(&pcap_path).unwrap()).unwrap();
    for frame in &frames {
        let packet = PcapPacket::new(Duration::from_secs(1), frame.len() as u32, frame);
        writer.write_packet(&packet).unwrap();
    }
    drop(writer);

    let pcapng_path = directory.join(format!("aptp-cli-test-{}.pcapng", std::process::id()));
    let mut writer = PcapNgWriter::new(std::fs::File::create(&pcapng_path).unwrap()).unwrap();
    writer
        .write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options: vec![],
        })
        .unwrap();
    for frame in &frames {
        writer
            .write_pcapng_block(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: Duration::from_secs(1),
                original_len: frame.len() as u32,
                data: Cow::Borrowed(frame),
                options: vec![],
            })
            .unwrap();
    }
    drop(writer);

    for path in [&pcap_path, &pcapng_path] {
        let output = aptp(&["decode", "--json", "--pcap", path.to_str().unwrap()], "");
        assert!(output.status.success(), "{output:?}");
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["message_type"], "sync");
        assert!(lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("frame 3: malformed frame"));
        assert_eq!(lines[2]["message_type"], "follow_up");
        let readable = aptp(&["decode", "--pcap", path.to_str().unwrap()], "");
        assert!(stdout(&readable)
            .contains("frame 1 (udp 192.0.2.1:319 -> 224.0.1.129:319): Sync, 44 bytes"));
    }
    std::fs::remove_file(&pcap_path).unwrap();
    std::fs::remove_file(&pcapng_path).unwrap();

    let not_a_capture = aptp(&["decode", "--pcap", "/dev/null"], "");
    assert_eq!(not_a_capture.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_a_capture.stderr).contains("not a pcap or pcapng"));
}

#[test]
fn test_encode_refuses_what_it_cannot_reproduce() {
    let decoded = aptp(&["decode", "--json"], &golden()[4].1);
    let line: Value = json_lines(&decoded).remove(0);
    let cases = [
        ("unknown key", {
            let mut edited = line.clone();
            edited["sequence"] = json!(1);
            edited
        }),
        ("the TLV's value says 1", {
            let mut edited = line.clone();
            edited["tlvs"][0]["gm_time_base_indicator"] = json!(2);
            edited
        }),
        ("missing key `sequence_id`", {
            let mut edited = line.clone();
            edited.as_object_mut().unwrap().remove("sequence_id");
            edited
        }),
        ("messageLength 77", {
            let mut edited = line.clone();
            edited["message_length"] = json!(77);
            edited
        }),
        ("`flags`: expected an unsigned integer of u16", {
            let mut edited = line.clone();
            edited["flags"] = json!(65536);
            edited
        }),
        (
            "decode error",
            json!({"error": "line 1: truncated", "offset": 0}),
        ),
    ];
    for (reason, edited) in cases {
        let output = aptp(&["encode"], &format!("{edited}\n"));
        assert_eq!(output.status.code(), Some(1), "{reason}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{reason}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // An edit of a header field is encoded.
    let mut edited = line.clone();
    edited["sequence_id"] = json!(0x4242);
    let output = aptp(&["encode"], &format!("{edited}\n"));
    assert!(output.status.success());
    assert_eq!(&stdout(&output)[60..64], "4242");
}

#[test]
fn test_bad_arguments_exit_2_with_one_line() {
    for arguments in [
        &["decode", "--no-such-option"][..],
        &["no-such-command"],
        &[],
        &["decode", "--pcap"],
        &["decode", "--pcap", "a.pcap", "b.hex"],
    ] {
        let output = aptp(arguments, "");
        assert_eq!(output.status.code(), Some(2), "{arguments:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{arguments:?}: {stderr}");
        assert!(stderr.starts_with("aptp: "), "{stderr}");
        assert!(!stderr.contains("panicked"));
        assert!(output.stdout.is_empty());
    }
    let missing = aptp(&["decode", "/no/such/file"], "");
    assert_eq!(missing.status.code(), Some(1));
    for arguments in [
        &["--help"][..],
        &["decode", "--help"],
        &["encode", "--help"],
        &["--version"],
    ] {
        let output = aptp(arguments, "");
        assert!(output.status.success(), "{arguments:?}");
        assert!(!output.stdout.is_empty());
    }
}

#[test]
fn test_sim_json_lines_have_the_contract_keys() {
    let output = aptp(
        &["sim", "--json", "--scenario", "wired-lan", "--seed", "3"],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert!(lines.len() >= 4, "one line per estimator: {lines:?}");
    for line in &lines {
        let mut keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "converge_100us_s",
                "converge_10us_s",
                "default",
                "estimator",
                "max_us",
                "p50_us",
                "p99_us",
                "rate_error_ppb",
                "relock_s",
                "scenario",
                "steps_detected",
            ]
        );
        assert_eq!(line["scenario"], "wired-lan");
    }
    let defaults = lines.iter().filter(|line| line["default"] == true).count();
    assert_eq!(defaults, 1);
    // The same seed gives the same table.
    let again = aptp(
        &["sim", "--json", "--scenario", "wired-lan", "--seed", "3"],
        "",
    );
    assert_eq!(again.stdout, output.stdout);

    let bad = aptp(&["sim", "--scenario", "no-such-scenario"], "");
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&bad.stderr).lines().count(), 1);
}
