//! The AirPlay group measure in virtual time: one sender, eight receivers (±50 ppm, each on
//! its own path), aptp's default estimator against the nqptp smoother on the same packets,
//! and on the Wi-Fi paths the two maximum-likelihood oracles (`GroupSimConfig::oracle`):
//! yardsticks for the best any estimator could do. Prints the README's table.
//!
//! Run: `cargo run -p aptp --release --example airplay_group_sim [SEED]`.

use aptp::airplay::group_sim::{format_table, run_group, GroupSimConfig, PathModel};

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut rows = Vec::new();
    for path in [
        PathModel::wifi(),
        PathModel::wifi_bursty(),
        PathModel::wifi_symmetric(),
        PathModel::wifi_outages(),
        PathModel::loopback(),
    ] {
        rows.extend(run_group(&GroupSimConfig {
            oracle: true,
            ..GroupSimConfig::new(path, seed)
        }));
    }
    print!("{}", format_table(&rows));
}
