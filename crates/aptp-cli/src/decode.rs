//! `aptp decode`: PTP messages from hex lines or from a capture, readable or as JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aptp_wire::Message;

use crate::input::capture::{for_each_frame, CaptureError};
use crate::input::frame::{ptp_payload, Extracted};
use crate::input::hex::parse_line;
use crate::json::message::message_json;
use crate::json::object::Object;
use crate::output::exit_status;
use crate::text::write_message;

/// Decode PTP messages from hex lines or from a pcap/pcapng capture.
///
/// Input: hex lines, one message per line (whitespace and a leading 0x ignored, blank lines and
/// `#` comments skipped), from FILE or stdin; or, with --pcap, every PTP message in a pcap or
/// pcapng capture (UDP port 319/320 over IPv4 or IPv6, or ethertype 0x88F7; VLAN tags
/// skipped). A message or frame that does not decode is reported and decoding goes on; the
/// exit status is 1 only when the input itself cannot be read.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// One JSON object per message (IEEE 1588 field names), or {"error", "offset"}.
    #[arg(long)]
    json: bool,

    /// Read this pcap or pcapng capture instead of hex lines.
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pcap: Option<PathBuf>,

    /// Hex lines to decode; stdin when absent or "-".
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Runs `aptp decode`.
pub fn run(arguments: &DecodeArgs) -> ExitCode {
    let stdout = io::stdout();
    let mut printer = Printer {
        out: stdout.lock(),
        json: arguments.json,
    };
    let result = match &arguments.pcap {
        Some(path) => decode_capture(path, &mut printer),
        None => decode_hex_lines(arguments.file.as_deref(), &mut printer),
    };
    match result {
        Ok(()) => exit_status(Ok(()), false),
        Err(RunError::Output(error)) => exit_status(Err(error), true),
        Err(RunError::Input(reason)) => {
            // What was decoded so far stays printed; the reason goes to stderr.
            let flushed = printer.out.flush();
            eprintln!("aptp decode: {reason}");
            exit_status(flushed, true)
        }
    }
}

/// Why decoding stopped before the end of the input.
enum RunError {
    /// The input cannot be read (missing file, broken capture).
    Input(String),
    /// stdout failed (a closed pipe is not an error worth a message).
    Output(io::Error),
}

impl From<io::Error> for RunError {
    fn from(error: io::Error) -> Self {
        RunError::Output(error)
    }
}

fn decode_hex_lines(
    path: Option<&Path>,
    printer: &mut Printer<impl Write>,
) -> Result<(), RunError> {
    let reader: Box<dyn BufRead> = match path {
        None => Box::new(io::stdin().lock()),
        Some(path) if path == Path::new("-") => Box::new(io::stdin().lock()),
        Some(path) => {
            let file = File::open(path)
                .map_err(|error| RunError::Input(format!("{}: {error}", path.display())))?;
            Box::new(BufReader::new(file))
        }
    };
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|error| RunError::Input(format!("reading input: {error}")))?;
        let origin = format!("line {}", index + 1);
        match parse_line(&line) {
            None => {}
            Some(Ok(bytes)) => printer.message(&origin, &bytes)?,
            Some(Err(error)) => printer.error(&origin, &error.to_string(), error.offset())?,
        }
    }
    Ok(())
}

fn decode_capture(path: &Path, printer: &mut Printer<impl Write>) -> Result<(), RunError> {
    let file: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(path)
                .map_err(|error| RunError::Input(format!("{}: {error}", path.display())))?,
        )
    };
    let mut messages = 0usize;
    let result = for_each_frame(file, |number, link, frame| {
        let origin = format!("frame {number}");
        let link = match link {
            Ok(link) => link,
            Err(linktype) => {
                let reason = format!("link type {linktype} cannot carry PTP as aptp reads it");
                return printer.error(&origin, &reason, 0);
            }
        };
        match ptp_payload(link, frame) {
            Ok(Extracted::Ptp {
                payload, transport, ..
            }) => {
                messages += 1;
                printer.message(&format!("{origin} ({transport})"), payload)
            }
            Ok(Extracted::NotPtp) => {
                tracing::debug!("{origin}: not PTP, skipped");
                Ok(())
            }
            Err(error) => printer.error(
                &origin,
                &format!("malformed frame: {}", error.kind),
                error.offset,
            ),
        }
    });
    tracing::info!("{}: {messages} PTP messages", path.display());
    match result {
        Ok(()) => Ok(()),
        Err(CaptureError::Stopped(error)) => Err(RunError::Output(error)),
        Err(error) => Err(RunError::Input(format!("{}: {error}", path.display()))),
    }
}

/// Prints messages and errors in the chosen form.
struct Printer<W: Write> {
    out: W,
    json: bool,
}

impl<W: Write> Printer<W> {
    /// Parses and prints one message; a parse failure is printed as an error.
    fn message(&mut self, origin: &str, bytes: &[u8]) -> io::Result<()> {
        match Message::parse(bytes) {
            Ok(message) if self.json => {
                serde_json::to_writer(&mut self.out, &message_json(&message))?;
                writeln!(self.out)
            }
            Ok(message) => write_message(&mut self.out, origin, &message),
            Err(error) => self.error(origin, &error.kind.to_string(), error.offset),
        }
    }

    /// Prints a failure: `{"error", "offset"}` with --json, a line otherwise.
    fn error(&mut self, origin: &str, reason: &str, offset: usize) -> io::Result<()> {
        if self.json {
            let object = Object::new()
                .with("error", format!("{origin}: {reason}"))
                .with("offset", offset as u64);
            serde_json::to_writer(&mut self.out, &object)?;
            writeln!(self.out)
        } else {
            writeln!(self.out, "{origin}: error at byte {offset}: {reason}\n")
        }
    }
}
