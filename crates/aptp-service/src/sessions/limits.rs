//! How many sessions, and how long a lease.

use std::time::Duration;

use super::SessionError;

/// The registry's bounds.
///
/// ```
/// use aptp_service::sessions::RegistryLimits;
/// let limits = RegistryLimits::default();
/// assert_eq!(limits.max_sessions, 1024);
/// assert_eq!(limits.default_lease_ms, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLimits {
    /// The most live sessions at once.
    pub max_sessions: usize,
    /// The lease of a session that asks for none, in ms.
    pub default_lease_ms: u64,
    /// The shortest lease a session may ask for, in ms.
    pub min_lease_ms: u64,
    /// The longest lease a session may ask for, in ms.
    pub max_lease_ms: u64,
}

impl Default for RegistryLimits {
    fn default() -> RegistryLimits {
        RegistryLimits {
            max_sessions: 1024,
            default_lease_ms: 10_000,
            min_lease_ms: 100,
            max_lease_ms: 3_600_000,
        }
    }
}

impl RegistryLimits {
    /// The lease for a request of `requested_ms` (None: the default), checked against the
    /// bounds.
    pub fn lease(&self, requested_ms: Option<u64>) -> Result<Duration, SessionError> {
        let lease_ms = requested_ms.unwrap_or(self.default_lease_ms);
        if !(self.min_lease_ms..=self.max_lease_ms).contains(&lease_ms) {
            return Err(SessionError::InvalidLease {
                requested_ms: lease_ms,
                min_ms: self.min_lease_ms,
                max_ms: self.max_lease_ms,
            });
        }
        Ok(Duration::from_millis(lease_ms))
    }
}
