//! Binding the daemon's socket: its directory, a stale socket left by a crash, permissions.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;
use tokio::net::UnixListener;

/// The most clients served at once; one more is told so and disconnected.
pub const MAX_CONNECTIONS: usize = 256;

/// Why the socket could not be bound.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IpcError {
    /// Another daemon answers on the socket.
    #[error("another aptp daemon is already listening at {0}")]
    AlreadyRunning(PathBuf),
    /// Something that is not a socket is at the path.
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    /// A system call failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// On which path.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
}

/// Removes the socket file when the daemon stops.
#[derive(Debug)]
pub struct SocketGuard {
    path: PathBuf,
}

impl SocketGuard {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Binds the daemon's socket at `path` with permissions `mode` (e.g. `0o666`: the directory's
/// permissions then decide who may connect). Creates the directory when missing; replaces a
/// socket left by a daemon that died, but never one a live daemon answers on.
pub fn bind_socket(path: &Path, mode: u32) -> Result<(UnixListener, SocketGuard), IpcError> {
    let io_error = |operation, source| IpcError::Io {
        operation,
        path: path.to_path_buf(),
        source,
    };
    if let Some(directory) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        fs::create_dir_all(directory).map_err(|source| io_error("create directory for", source))?;
    }
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(IpcError::AlreadyRunning(path.to_path_buf()));
            }
            fs::remove_file(path).map_err(|source| io_error("remove stale socket", source))?;
        }
        Ok(_) => return Err(IpcError::NotASocket(path.to_path_buf())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(io_error("inspect", source)),
    }
    let listener = UnixListener::bind(path).map_err(|source| io_error("bind", source))?;
    let guard = SocketGuard {
        path: path.to_path_buf(),
    };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|source| io_error("set permissions of", source))?;
    Ok((listener, guard))
}
