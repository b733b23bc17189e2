//! The nqptp drop-in: the control protocol Shairport Sync speaks and the shared-memory clock
//! record it reads, reproduced from their public description.

mod control;
mod shm;

pub use control::{
    ControlCommand, ControlError, ControlRequest, MAX_CONTROL_LENGTH, MAX_TIMING_PEERS,
};
pub use shm::{
    shm_name, NqptpPublisher, NqptpReader, NqptpRecord, ShmError, DEFAULT_SHM_NAME, NQPTP_SHM_SIZE,
    NQPTP_SHM_VERSION,
};
