//! The fuzz seed corpus (`fuzz/seeds/<target>/<name>`) is exactly what
//! `aptp_benches::fuzz_seeds` builds, and every seed message is valid and round-trips.
//!
//! To (re)write the files after changing the samples:
//! `APTP_WRITE_FUZZ_SEEDS=1 cargo test -p aptp-benches --test fuzz_seeds`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use aptp_wire::Message;

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

#[test]
fn seed_messages_are_valid_and_round_trip() {
    for sample in aptp_benches::messages().unwrap() {
        let message = Message::parse(&sample.bytes)
            .unwrap_or_else(|e| panic!("{}: does not parse: {e}", sample.name));
        let validation = message
            .validate()
            .unwrap_or_else(|e| panic!("{}: does not validate: {e}", sample.name));
        let mut out = vec![0; message.buffer_len()];
        assert_eq!(message.emit(&mut out).unwrap(), sample.bytes.len());
        assert_eq!(out, sample.bytes, "{}: parse → emit", sample.name);
        for tlv in message.tlvs {
            tlv.unwrap()
                .decode()
                .unwrap_or_else(|e| panic!("{}: a TLV does not decode: {e}", sample.name));
        }
        // Only the deliberate oddities warn.
        let expect_clean = !matches!(sample.name, "delay_resp_control_field_0" | "sync_padded");
        assert_eq!(
            validation.is_clean(),
            expect_clean,
            "{}: {validation:?}",
            sample.name
        );
    }
}

#[test]
fn airplay_forms_have_apple_sizes() {
    let samples = aptp_benches::messages().unwrap();
    let len = |name| aptp_benches::find(&samples, name).unwrap().bytes.len();
    assert_eq!(len("airplay_follow_up"), 96);
    assert_eq!(len("airplay_announce"), 76);
    assert_eq!(len("follow_up_802_1as"), 76);
    // 44 + (4 + 22) + (4 + 32).
    assert_eq!(len("airplay_signaling"), 106);
    let stream = aptp_benches::capture_stream().unwrap();
    assert_eq!(stream.len(), 25);
}

#[test]
fn seed_files_match_the_samples() {
    let write = std::env::var_os("APTP_WRITE_FUZZ_SEEDS").is_some();
    let root = seeds_dir();
    for (target, samples) in aptp_benches::fuzz_seeds().unwrap() {
        let dir = root.join(target);
        if write {
            if dir.exists() {
                fs::remove_dir_all(&dir).unwrap();
            }
            fs::create_dir_all(&dir).unwrap();
            for sample in &samples {
                fs::write(dir.join(sample.name), &sample.bytes).unwrap();
            }
        }
        let on_disk: BTreeSet<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (write the seeds, see the module doc)",
                    dir.display()
                )
            })
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        let expected: BTreeSet<String> = samples.iter().map(|s| s.name.to_string()).collect();
        assert_eq!(on_disk, expected, "seed files of {target}");
        for sample in &samples {
            let bytes = fs::read(dir.join(sample.name)).unwrap();
            assert_eq!(bytes, sample.bytes, "{target}/{}: stale seed", sample.name);
        }
    }
}
