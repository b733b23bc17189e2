//! Prints the accuracy simulator's table: `cargo run --release -p aptp-clock --features sim
//! --example sim_table [SEED] [SCENARIO]`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let seed = match arguments.next().map(|text| text.parse::<u64>()) {
        None => 1,
        Some(Ok(seed)) => seed,
        Some(Err(error)) => {
            eprintln!("sim_table: bad seed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let scenario = arguments.next();
    match aptp_clock::sim::run_table(scenario.as_deref(), seed) {
        Ok(rows) => {
            print!("{}", aptp_clock::sim::format_table(&rows));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sim_table: {error}");
            ExitCode::FAILURE
        }
    }
}
