//! The clock record nqptp publishes in POSIX shared memory, written and read exactly as
//! Shairport Sync expects.
//!
//! The object (`/nqptp` by default) holds 72 bytes in host byte order: a `u16` version (10) at
//! offset 0, padding to offset 8, then two copies of the record at offsets 8 and 40. The writer
//! stores the main copy, issues a memory barrier, stores the second copy and issues another
//! barrier; a reader copies both and accepts the read only when they are equal, so it never
//! uses a record that was half written.

use std::fs;
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{mmap, munmap, shm_open, shm_unlink, MapFlags, ProtFlags};
use nix::sys::stat::{fchmod, Mode};
use thiserror::Error;

/// The version Shairport Sync checks before it reads a record.
pub const NQPTP_SHM_VERSION: u16 = 10;

/// The size of the shared-memory object, in bytes.
pub const NQPTP_SHM_SIZE: usize = 72;

/// The default shared-memory name, as nqptp uses it.
pub const DEFAULT_SHM_NAME: &str = "/nqptp";

const VERSION_OFFSET: usize = 0;
const MAIN_RECORD_OFFSET: usize = 8;
const SECOND_RECORD_OFFSET: usize = 40;
const RECORD_WORDS: usize = 4;

/// One clock record: what a player needs to turn its local time into the grandmaster's.
///
/// All times are nanoseconds; `local_time` and `master_clock_start_time` are
/// CLOCK_MONOTONIC_RAW. Adding `local_to_master_time_offset` (modulo 2^64) to a local time gives
/// the grandmaster's time. All zeros means "no clock".
///
/// ```
/// use aptp_service::nqptp::NqptpRecord;
/// let record = NqptpRecord { local_to_master_time_offset: 5, ..NqptpRecord::default() };
/// assert_eq!(record.master_time_at(10), 15);
/// assert!(!record.is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NqptpRecord {
    /// The followed grandmaster's clock identity (grandmasterIdentity of its Announce), as a
    /// big-endian integer of its eight bytes.
    pub master_clock_id: u64,
    /// CLOCK_MONOTONIC_RAW, in ns, at which the offset holds.
    pub local_time: u64,
    /// Added modulo 2^64 to a local time to get the grandmaster's time.
    pub local_to_master_time_offset: u64,
    /// CLOCK_MONOTONIC_RAW, in ns, at which this grandmaster became master.
    pub master_clock_start_time: u64,
}

impl NqptpRecord {
    /// The grandmaster's time at `local_time_ns` (CLOCK_MONOTONIC_RAW).
    pub fn master_time_at(&self, local_time_ns: u64) -> u64 {
        local_time_ns.wrapping_add(self.local_to_master_time_offset)
    }

    /// Whether the record names a clock (a player treats an all-zero clock id as none).
    pub fn is_valid(&self) -> bool {
        self.master_clock_id != 0
    }

    fn words(&self) -> [u64; RECORD_WORDS] {
        [
            self.master_clock_id,
            self.local_time,
            self.local_to_master_time_offset,
            self.master_clock_start_time,
        ]
    }

    fn from_words(words: [u64; RECORD_WORDS]) -> NqptpRecord {
        NqptpRecord {
            master_clock_id: words[0],
            local_time: words[1],
            local_to_master_time_offset: words[2],
            master_clock_start_time: words[3],
        }
    }
}

/// Why the shared-memory record could not be opened or read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ShmError {
    /// The name is not a valid POSIX shared-memory name.
    #[error(
        "invalid shared-memory name {0:?}: it must be one path component of at most 255 bytes"
    )]
    InvalidName(String),
    /// Another live process has the object mapped (nqptp, or another aptp).
    #[error("shared memory {name} is in use by {holders}: stop it first (for nqptp: systemctl stop nqptp)")]
    InUse {
        /// The object's name.
        name: String,
        /// The processes holding it, as "pid (command)" items.
        holders: String,
    },
    /// The object exists, no process this one can see holds it, and it cannot be replaced
    /// (it belongs to another user: a running nqptp under its own user, or its leftover).
    #[error(
        "shared memory {0} exists and belongs to another user: stop its owner (for nqptp: \
         systemctl stop nqptp), or remove /dev/shm{0} if nothing uses it"
    )]
    OwnedByOther(String),
    /// The object does not exist (reader side).
    #[error("shared memory {0} does not exist: is the publisher running?")]
    NotFound(String),
    /// The object has the wrong size or version (reader side).
    #[error("shared memory {name} is not an nqptp record (size {size}, version {version})")]
    NotARecord {
        /// The object's name.
        name: String,
        /// Its size in bytes.
        size: usize,
        /// The version found.
        version: u16,
    },
    /// The writer kept changing the record while it was being read.
    #[error("shared memory {0}: no consistent read after many attempts")]
    Inconsistent(String),
    /// A system call failed.
    #[error("shared memory {name}: {operation} failed: {errno}")]
    System {
        /// The object's name.
        name: String,
        /// The failing operation.
        operation: &'static str,
        /// The error the kernel gave.
        errno: Errno,
    },
}

/// Normalises a player's name to a POSIX shared-memory name (a leading `/`, one component).
///
/// ```
/// use aptp_service::nqptp::shm_name;
/// assert_eq!(shm_name("nqptp").unwrap(), "/nqptp");
/// assert_eq!(shm_name("/living-room").unwrap(), "/living-room");
/// assert!(shm_name("/a/b").is_err());
/// ```
pub fn shm_name(name: &str) -> Result<String, ShmError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty()
        || bare.len() > 254
        || bare.contains('/')
        || bare.contains('\0')
        || bare == "."
        || bare == ".."
    {
        return Err(ShmError::InvalidName(name.to_string()));
    }
    Ok(format!("/{bare}"))
}

/// A shared mapping of the 72-byte object.
struct Mapping {
    address: NonNull<core::ffi::c_void>,
}

// The mapping is plain shared memory owned by this value; moving it between threads is sound.
unsafe impl Send for Mapping {}

impl Mapping {
    fn new(name: &str, fd: &OwnedFd, writable: bool) -> Result<Mapping, ShmError> {
        let protection = if writable {
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
        } else {
            ProtFlags::PROT_READ
        };
        // SAFETY: a fresh shared mapping of a file descriptor we hold, at an address the kernel
        // chooses; NQPTP_SHM_SIZE is non-zero and the object has been checked or sized to it.
        let address = unsafe {
            mmap(
                None,
                NonZeroUsize::new(NQPTP_SHM_SIZE).ok_or(ShmError::InvalidName(name.to_string()))?,
                protection,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }
        .map_err(|errno| system(name, "mmap", errno))?;
        Ok(Mapping { address })
    }

    fn word_pointer(&self, byte_offset: usize) -> *mut u64 {
        debug_assert!(byte_offset % 8 == 0 && byte_offset + 8 <= NQPTP_SHM_SIZE);
        // The mapping is page aligned and NQPTP_SHM_SIZE long; every offset used is a multiple
        // of 8 inside it.
        self.address
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(byte_offset)
            .cast::<u64>()
    }

    fn write_record(&self, byte_offset: usize, record: &NqptpRecord) {
        for (index, word) in record.words().iter().enumerate() {
            // SAFETY: in bounds and aligned (see word_pointer); volatile because another
            // process reads the memory concurrently.
            unsafe {
                self.word_pointer(byte_offset + index * 8)
                    .write_volatile(*word)
            };
        }
    }

    fn read_record(&self, byte_offset: usize) -> NqptpRecord {
        let mut words = [0u64; RECORD_WORDS];
        for (index, word) in words.iter_mut().enumerate() {
            // SAFETY: in bounds and aligned (see word_pointer).
            *word = unsafe { self.word_pointer(byte_offset + index * 8).read_volatile() };
        }
        NqptpRecord::from_words(words)
    }

    fn write_version(&self, version: u16) {
        let pointer = self
            .address
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(VERSION_OFFSET)
            .cast::<u16>();
        // SAFETY: offset 0 of a page-aligned mapping of at least 2 bytes.
        unsafe { pointer.write_volatile(version) };
    }

    fn read_version(&self) -> u16 {
        let pointer = self
            .address
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(VERSION_OFFSET)
            .cast::<u16>();
        // SAFETY: offset 0 of a page-aligned mapping of at least 2 bytes.
        unsafe { pointer.read_volatile() }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the address and length are those mmap returned; nothing uses them afterwards.
        let _ = unsafe { munmap(self.address, NQPTP_SHM_SIZE) };
    }
}

fn system(name: &str, operation: &'static str, errno: Errno) -> ShmError {
    ShmError::System {
        name: name.to_string(),
        operation,
        errno,
    }
}

/// The processes other than this one that have `/dev/shm/<name>` mapped or open.
fn holders(name: &str) -> Vec<String> {
    let path = format!("/dev/shm{name}");
    let own = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if pid == own || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        let mapped = maps
            .lines()
            .any(|line| line.ends_with(&path) || line.ends_with(&format!("{path} (deleted)")));
        let open = !mapped
            && fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|fds| {
                    fds.flatten().any(|fd| {
                        fs::read_link(fd.path())
                            .map(|target| target.to_string_lossy() == path)
                            .unwrap_or(false)
                    })
                })
                .unwrap_or(false);
        if mapped || open {
            let command = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            found.push(format!("{pid} ({})", command.trim()));
        }
    }
    found
}

/// The writer: owns the shared-memory object for as long as it lives, and unlinks it on drop.
///
/// ```no_run
/// use aptp_service::nqptp::{NqptpPublisher, NqptpRecord};
/// let mut publisher = NqptpPublisher::create("/nqptp-example").unwrap();
/// publisher.publish(&NqptpRecord { master_clock_id: 1, ..NqptpRecord::default() });
/// ```
pub struct NqptpPublisher {
    name: String,
    mapping: Mapping,
    _fd: OwnedFd,
}

impl NqptpPublisher {
    /// Creates the object `name` (normalised by [`shm_name`]), readable by every user, with the
    /// version set and both records zero.
    ///
    /// A stale object left by a process that died is replaced; one that a live process holds
    /// is refused with [`ShmError::InUse`], naming the process.
    pub fn create(name: &str) -> Result<NqptpPublisher, ShmError> {
        let name = shm_name(name)?;
        let mode = Mode::from_bits_truncate(0o644);
        let flags = OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL;
        let fd = match shm_open(name.as_str(), flags, mode) {
            Ok(fd) => fd,
            Err(Errno::EEXIST) => {
                let holding = holders(&name);
                if !holding.is_empty() {
                    return Err(ShmError::InUse {
                        name,
                        holders: holding.join(", "),
                    });
                }
                // Stale: nobody we can see maps or opens it. Replace it (refused by the sticky
                // /dev/shm when another user owns it: processes of other users may be hidden).
                match shm_unlink(name.as_str()) {
                    Ok(()) => {}
                    Err(Errno::EPERM | Errno::EACCES) => return Err(ShmError::OwnedByOther(name)),
                    Err(errno) => return Err(system(&name, "shm_unlink", errno)),
                }
                shm_open(name.as_str(), flags, mode)
                    .map_err(|errno| system(&name, "shm_open", errno))?
            }
            Err(errno) => return Err(system(&name, "shm_open", errno)),
        };
        let created = (|| {
            // The umask may have removed read access for others: the player runs as another user.
            fchmod(&fd, mode).map_err(|errno| system(&name, "fchmod", errno))?;
            nix::unistd::ftruncate(&fd, NQPTP_SHM_SIZE as i64)
                .map_err(|errno| system(&name, "ftruncate", errno))?;
            Mapping::new(&name, &fd, true)
        })();
        let mapping = match created {
            Ok(mapping) => mapping,
            Err(error) => {
                let _ = shm_unlink(name.as_str());
                return Err(error);
            }
        };
        mapping.write_version(NQPTP_SHM_VERSION);
        let publisher = NqptpPublisher {
            name,
            mapping,
            _fd: fd,
        };
        publisher.publish(&NqptpRecord::default());
        Ok(publisher)
    }

    /// The object's name, with its leading `/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `record`: main copy, barrier, second copy, barrier.
    pub fn publish(&self, record: &NqptpRecord) {
        self.mapping.write_record(MAIN_RECORD_OFFSET, record);
        fence(Ordering::SeqCst);
        self.mapping.write_record(SECOND_RECORD_OFFSET, record);
        fence(Ordering::SeqCst);
    }

    /// Publishes the all-zero record: no clock to follow.
    pub fn clear(&self) {
        self.publish(&NqptpRecord::default());
    }
}

impl Drop for NqptpPublisher {
    fn drop(&mut self) {
        let _ = shm_unlink(self.name.as_str());
    }
}

/// A reader that reads the record as Shairport Sync does: map, check the version, copy both
/// records, accept when they are equal.
///
/// ```no_run
/// use aptp_service::nqptp::NqptpReader;
/// let reader = NqptpReader::open("/nqptp").unwrap();
/// let record = reader.read().unwrap();
/// println!("following {:016x}", record.master_clock_id);
/// ```
pub struct NqptpReader {
    name: String,
    mapping: Mapping,
    _fd: OwnedFd,
}

impl NqptpReader {
    /// Opens the object `name` read-only and checks its size and version.
    pub fn open(name: &str) -> Result<NqptpReader, ShmError> {
        let name = shm_name(name)?;
        let fd = match shm_open(name.as_str(), OFlag::O_RDONLY, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Err(ShmError::NotFound(name)),
            Err(errno) => return Err(system(&name, "shm_open", errno)),
        };
        let size = nix::sys::stat::fstat(&fd)
            .map_err(|errno| system(&name, "fstat", errno))?
            .st_size as usize;
        if size < NQPTP_SHM_SIZE {
            return Err(ShmError::NotARecord {
                name,
                size,
                version: 0,
            });
        }
        let mapping = Mapping::new(&name, &fd, false)?;
        let version = mapping.read_version();
        if version != NQPTP_SHM_VERSION {
            return Err(ShmError::NotARecord {
                name,
                size,
                version,
            });
        }
        Ok(NqptpReader {
            name,
            mapping,
            _fd: fd,
        })
    }

    /// Reads a consistent record, retrying while the writer is mid-update.
    pub fn read(&self) -> Result<NqptpRecord, ShmError> {
        for _ in 0..1000 {
            let main = self.mapping.read_record(MAIN_RECORD_OFFSET);
            fence(Ordering::SeqCst);
            let second = self.mapping.read_record(SECOND_RECORD_OFFSET);
            if main == second {
                return Ok(main);
            }
            std::hint::spin_loop();
        }
        Err(ShmError::Inconsistent(self.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(tag: &str) -> String {
        format!("/aptp-test-{tag}-{}", std::process::id())
    }

    #[test]
    fn test_publish_and_read_back() {
        let name = unique("publish");
        let publisher = NqptpPublisher::create(&name).unwrap();
        let reader = NqptpReader::open(&name).unwrap();
        assert_eq!(reader.read().unwrap(), NqptpRecord::default());
        let record = NqptpRecord {
            master_clock_id: 0x0011_22ff_fe33_4455,
            local_time: 1_000,
            local_to_master_time_offset: u64::MAX - 5,
            master_clock_start_time: 900,
        };
        publisher.publish(&record);
        assert_eq!(reader.read().unwrap(), record);
        assert_eq!(record.master_time_at(10), 4);
        publisher.clear();
        assert_eq!(reader.read().unwrap(), NqptpRecord::default());
    }

    #[test]
    fn test_layout_is_what_shairport_reads() {
        let name = unique("layout");
        let publisher = NqptpPublisher::create(&name).unwrap();
        publisher.publish(&NqptpRecord {
            master_clock_id: 1,
            local_time: 2,
            local_to_master_time_offset: 3,
            master_clock_start_time: 4,
        });
        let bytes = fs::read(format!("/dev/shm{name}")).unwrap();
        assert_eq!(bytes.len(), NQPTP_SHM_SIZE);
        assert_eq!(u16::from_ne_bytes([bytes[0], bytes[1]]), 10);
        let word =
            |offset: usize| u64::from_ne_bytes(bytes[offset..offset + 8].try_into().unwrap());
        assert_eq!([word(8), word(16), word(24), word(32)], [1, 2, 3, 4]);
        assert_eq!([word(40), word(48), word(56), word(64)], [1, 2, 3, 4]);
    }

    #[test]
    fn test_unlinked_on_drop_and_stale_replaced() {
        let name = unique("drop");
        drop(NqptpPublisher::create(&name).unwrap());
        assert!(matches!(
            NqptpReader::open(&name),
            Err(ShmError::NotFound(_))
        ));
        // A stale object nobody holds is replaced.
        fs::write(format!("/dev/shm{name}"), [0u8; 3]).unwrap();
        let publisher = NqptpPublisher::create(&name).unwrap();
        assert_eq!(
            NqptpReader::open(&name).unwrap().read().unwrap(),
            NqptpRecord::default()
        );
        drop(publisher);
    }

    #[test]
    fn test_in_use_by_another_process_is_refused() {
        let name = unique("busy");
        let path = format!("/dev/shm{name}");
        fs::write(&path, [0u8; NQPTP_SHM_SIZE]).unwrap();
        // A child process that holds the object open, as a running nqptp would. It says so on
        // its stdout once the descriptor is open, so the test never races its start-up (and
        // never touches the file while the child may still be opening it).
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec 3<{path} && echo holding && exec sleep 30"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        let holding = line.trim() == "holding";
        let created = holding.then(|| NqptpPublisher::create(&name));
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = fs::remove_file(&path);
        assert!(holding, "the child could not open {path}: {line:?}");
        let message = match created {
            Some(Err(error @ ShmError::InUse { .. })) => error.to_string(),
            Some(Err(other)) => panic!("unexpected error {other}"),
            Some(Ok(_)) | None => panic!("a held object must be refused"),
        };
        assert!(message.contains(&child.id().to_string()), "{message}");
        // Before or after the child's `exec sleep`.
        assert!(
            message.contains("sleep") || message.contains("sh"),
            "{message}"
        );
    }

    #[test]
    fn test_bad_names_and_foreign_objects() {
        assert!(matches!(shm_name(""), Err(ShmError::InvalidName(_))));
        assert!(matches!(shm_name("/"), Err(ShmError::InvalidName(_))));
        assert!(matches!(shm_name("a/b"), Err(ShmError::InvalidName(_))));
        let name = unique("foreign");
        fs::write(format!("/dev/shm{name}"), [7u8; NQPTP_SHM_SIZE]).unwrap();
        assert!(matches!(
            NqptpReader::open(&name),
            Err(ShmError::NotARecord {
                version: 0x0707,
                ..
            })
        ));
        fs::remove_file(format!("/dev/shm{name}")).unwrap();
    }
}
