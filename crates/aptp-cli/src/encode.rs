//! `aptp encode`: the JSON lines of `aptp decode --json` back to hex, byte for byte.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::input::hex::to_hex;
use crate::json::from_json::encode_line;
use crate::output::exit_status;

/// Turn the JSON lines of `aptp decode --json` back into hex, byte for byte.
///
/// Each line describes one message (keys as `aptp decode --json` prints them); its bytes are
/// printed as one hex line.
/// `aptp decode --json | aptp encode` reproduces the decoded input exactly. A line that cannot
/// be encoded (including the {"error", "offset"} lines of decode) is reported on stderr and
/// skipped; the exit status is then 1.
#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    /// JSON lines to encode; stdin when absent or "-".
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Runs `aptp encode`.
pub fn run(arguments: &EncodeArgs) -> ExitCode {
    let reader: Box<dyn BufRead> = match arguments.file.as_deref() {
        None => Box::new(io::stdin().lock()),
        Some(path) if path == Path::new("-") => Box::new(io::stdin().lock()),
        Some(path) => match File::open(path) {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(error) => {
                eprintln!("aptp encode: {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
    };
    let mut failed = false;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for (index, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                eprintln!("aptp encode: reading input: {error}");
                return exit_status(Ok(()), true);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match encode_line(&line) {
            Ok(bytes) => {
                if let Err(error) = writeln!(out, "{}", to_hex(&bytes)) {
                    return exit_status(Err(error), true);
                }
            }
            Err(error) => {
                failed = true;
                eprintln!("aptp encode: line {}: {error}", index + 1);
            }
        }
    }
    exit_status(Ok(()), failed)
}
