//! The shared-memory record each session publishes (nqptp's format), so that a reader needs no
//! round trip to the daemon.

use crate::nqptp::{NqptpPublisher, NqptpRecord};

use super::SessionError;

/// Whether sessions publish a shared-memory record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordPolicy {
    /// No records (clients read the mapping over the socket).
    None,
    /// Each session publishes an nqptp-format record at `/<its name>`, removed when it ends.
    Nqptp,
}

impl RecordPolicy {
    pub(super) fn create(self, name: &str) -> Result<Option<SessionRecord>, SessionError> {
        match self {
            RecordPolicy::None => Ok(None),
            RecordPolicy::Nqptp => NqptpPublisher::create(name)
                .map(|publisher| Some(SessionRecord { publisher }))
                .map_err(|error| SessionError::Record(error.to_string())),
        }
    }
}

/// A session's record; unlinked when dropped (with its session).
pub(super) struct SessionRecord {
    publisher: NqptpPublisher,
}

impl SessionRecord {
    pub(super) fn name(&self) -> &str {
        self.publisher.name()
    }

    /// No clock: the all-zero record.
    pub(super) fn clear(&self) {
        self.publisher.clear();
    }

    /// Publishes `record`.
    pub(super) fn publish(&self, record: &NqptpRecord) {
        self.publisher.publish(record);
    }
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SessionRecord")
            .field("name", &self.publisher.name())
            .finish()
    }
}
