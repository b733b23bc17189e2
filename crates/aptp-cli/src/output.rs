//! Writing to stdout without panicking: a closed pipe (`aptp decode | head`) ends quietly.

use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;

/// Turns the result of a command's printing into its exit status.
///
/// A broken pipe means the reader has seen enough: success, silently. Any other error is
/// reported in one line and the status is 1.
pub fn exit_status(result: io::Result<()>, failed: bool) -> ExitCode {
    match result.and_then(|()| io::stdout().flush()) {
        Err(error) if error.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aptp: {error}");
            ExitCode::FAILURE
        }
        Ok(()) if failed => ExitCode::FAILURE,
        Ok(()) => ExitCode::SUCCESS,
    }
}
