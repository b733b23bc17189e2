//! The async runtime that every long-running subcommand starts, and the signals that end it.

use std::future::Future;
use std::io;
use std::process::ExitCode;

use tokio::runtime::Builder;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// How many threads a subcommand's runtime gets.
#[derive(Debug, Clone, Copy)]
pub enum Threads {
    /// One thread: a single node or role whose timestamps come from the kernel anyway.
    One,
    /// Two worker threads: several tasks (daemon, drop-in, demo) that must not stall each other.
    Two,
}

/// Runs `future` to completion on a new runtime. When the runtime cannot start, prints one line
/// prefixed by `command` and returns the exit code to end with.
pub fn block_on<F: Future>(
    command: &str,
    threads: Threads,
    future: F,
) -> Result<F::Output, ExitCode> {
    let mut builder = match threads {
        Threads::One => Builder::new_current_thread(),
        Threads::Two => {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
    };
    match builder.enable_all().build() {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(error) => {
            eprintln!("{command}: cannot start the async runtime: {error}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// SIGINT and SIGTERM, installed before the work starts so neither is missed.
pub struct Termination {
    interrupt: Signal,
    terminate: Signal,
}

impl Termination {
    /// Installs both handlers (inside a runtime).
    pub fn install() -> io::Result<Termination> {
        Ok(Termination {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
