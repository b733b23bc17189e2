//! The seed corpora of the engine and AirPlay role targets (`seeds/<target>/seed_<n>`) still
//! drive their role deep: the slave and the receiver reach SLAVE and update their mapping,
//! the sender sends Syncs, Follow_Ups and Delay_Resp, the master runs operations. A change
//! to the harness's input format (or to the roles) that leaves a seed shallow makes it
//! stale, and this test says so.
//!
//! The seeds are the deepest of a fixed set of pseudo-random inputs
//! ([`aptp_fuzz::roles::seeds`]). To (re)write them:
//! `APTP_WRITE_FUZZ_SEEDS=1 cargo test --release --test seeds` in `fuzz/`.

use std::fs;
use std::path::Path;

use aptp_fuzz::roles::{seeds, TARGETS};

const CANDIDATES: u64 = 300;
const COUNT: usize = 4;

#[test]
fn role_seeds_go_deep() {
    let write = std::env::var_os("APTP_WRITE_FUZZ_SEEDS").is_some();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, run) in TARGETS {
        let dir = root.join(target);
        if write {
            if dir.exists() {
                fs::remove_dir_all(&dir).unwrap();
            }
            fs::create_dir_all(&dir).unwrap();
            for (n, (_, data)) in seeds(run, CANDIDATES, COUNT).iter().enumerate() {
                fs::write(dir.join(format!("seed_{n}")), data).unwrap();
            }
        }
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (write the seeds, see the module doc)",
                    dir.display()
                )
            })
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), COUNT, "seed files of {target}: {names:?}");
        for name in names {
            let data = fs::read(dir.join(&name)).unwrap();
            let reached = run(&data);
            eprintln!("{target}/{name}: {reached:?}");
            match target {
                "engine_slave" | "airplay_receiver" => assert!(
                    reached.slave > 0 && reached.mapping_updates > 0,
                    "{target}/{name} no longer locks (stale seed): {reached:?}"
                ),
                "airplay_sender" => assert!(
                    reached.following > 0 && reached.mapping_updates > 0 && reached.slave > 0,
                    "{target}/{name} sends no Sync, Follow_Up or Delay_Resp (stale seed): {reached:?}"
                ),
                _ => assert!(reached.ops >= 16, "{target}/{name}: too few operations: {reached:?}"),
            }
        }
    }
}
