//! Byte offsets of every fixed field, named once (smoltcp style). Offsets count from the
//! first byte of the PTP message; the emitters write through these and the tests check the
//! parsers against them.
#![allow(missing_docs)] // each constant is named after the IEEE 1588 field it locates.

use core::ops::Range;

/// A byte range in a message.
pub type Field = Range<usize>;

/// The common header (IEEE 1588-2019 13.3), 34 bytes.
pub mod header {
    use super::Field;
    /// High nibble majorSdoId, low nibble messageType.
    pub const SDO_AND_TYPE: usize = 0;
    /// High nibble minorVersionPTP, low nibble versionPTP.
    pub const VERSION: usize = 1;
    pub const MESSAGE_LENGTH: Field = 2..4;
    pub const DOMAIN_NUMBER: usize = 4;
    pub const MINOR_SDO_ID: usize = 5;
    pub const FLAG_FIELD: Field = 6..8;
    pub const CORRECTION_FIELD: Field = 8..16;
    pub const MESSAGE_TYPE_SPECIFIC: Field = 16..20;
    pub const SOURCE_PORT_IDENTITY: Field = 20..30;
    pub const SEQUENCE_ID: Field = 30..32;
    pub const CONTROL_FIELD: usize = 32;
    pub const LOG_MESSAGE_INTERVAL: usize = 33;
    /// The header's length, where every body starts.
    pub const LENGTH: usize = 34;
}

/// Sync, Delay_Req, Follow_Up (preciseOriginTimestamp at the same place): 44 bytes.
pub mod sync {
    use super::Field;
    pub const ORIGIN_TIMESTAMP: Field = 34..44;
    pub const LENGTH: usize = 44;
}

/// Delay_Resp, Pdelay_Resp, Pdelay_Resp_Follow_Up (a timestamp then
/// requestingPortIdentity): 54 bytes.
pub mod delay_resp {
    use super::Field;
    pub const TIMESTAMP: Field = 34..44;
    pub const REQUESTING_PORT_IDENTITY: Field = 44..54;
    pub const LENGTH: usize = 54;
}

/// Pdelay_Req: 54 bytes.
pub mod pdelay_req {
    use super::Field;
    pub const ORIGIN_TIMESTAMP: Field = 34..44;
    pub const RESERVED: Field = 44..54;
    pub const LENGTH: usize = 54;
}

/// Announce: 64 bytes.
pub mod announce {
    use super::Field;
    pub const ORIGIN_TIMESTAMP: Field = 34..44;
    pub const CURRENT_UTC_OFFSET: Field = 44..46;
    pub const RESERVED: usize = 46;
    pub const GRANDMASTER_PRIORITY1: usize = 47;
    pub const CLOCK_CLASS: usize = 48;
    pub const CLOCK_ACCURACY: usize = 49;
    pub const OFFSET_SCALED_LOG_VARIANCE: Field = 50..52;
    pub const GRANDMASTER_PRIORITY2: usize = 52;
    pub const GRANDMASTER_IDENTITY: Field = 53..61;
    pub const STEPS_REMOVED: Field = 61..63;
    pub const TIME_SOURCE: usize = 63;
    pub const LENGTH: usize = 64;
}

/// Signaling: 44 bytes before its TLVs.
pub mod signaling {
    use super::Field;
    pub const TARGET_PORT_IDENTITY: Field = 34..44;
    pub const LENGTH: usize = 44;
}

/// Management: 48 bytes before its management TLV.
pub mod management {
    use super::Field;
    pub const TARGET_PORT_IDENTITY: Field = 34..44;
    pub const STARTING_BOUNDARY_HOPS: usize = 44;
    pub const BOUNDARY_HOPS: usize = 45;
    /// Low nibble actionField, high nibble reserved.
    pub const ACTION_FIELD: usize = 46;
    pub const RESERVED: usize = 47;
    pub const LENGTH: usize = 48;
}

/// A TLV, offsets from the TLV's first byte.
pub mod tlv {
    use super::Field;
    pub const TLV_TYPE: Field = 0..2;
    pub const LENGTH_FIELD: Field = 2..4;
    /// Where the value starts.
    pub const VALUE: usize = 4;
}

/// A timestamp, offsets from its first byte: 10 bytes.
pub mod timestamp {
    use super::Field;
    pub const SECONDS: Field = 0..6;
    pub const NANOSECONDS: Field = 6..10;
    pub const LENGTH: usize = 10;
}

/// A port identity, offsets from its first byte: 10 bytes.
pub mod port_identity {
    use super::Field;
    pub const CLOCK_IDENTITY: Field = 0..8;
    pub const PORT_NUMBER: Field = 8..10;
    pub const LENGTH: usize = 10;
}
