//! Byte offsets of every fixed field, named once (smoltcp style). Offsets count from the
//! first byte of the PTP message; the emitters write through these and the tests check the
//! parsers against them.

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
    /// messageLength.
    pub const MESSAGE_LENGTH: Field = 2..4;
    /// domainNumber.
    pub const DOMAIN_NUMBER: usize = 4;
    /// minorSdoId.
    pub const MINOR_SDO_ID: usize = 5;
    /// flagField.
    pub const FLAG_FIELD: Field = 6..8;
    /// correctionField.
    pub const CORRECTION_FIELD: Field = 8..16;
    /// messageTypeSpecific.
    pub const MESSAGE_TYPE_SPECIFIC: Field = 16..20;
    /// sourcePortIdentity.
    pub const SOURCE_PORT_IDENTITY: Field = 20..30;
    /// sequenceId.
    pub const SEQUENCE_ID: Field = 30..32;
    /// controlField.
    pub const CONTROL_FIELD: usize = 32;
    /// logMessageInterval.
    pub const LOG_MESSAGE_INTERVAL: usize = 33;
    /// The header's length, where every body starts.
    pub const LENGTH: usize = 34;
}

/// Sync, Delay_Req, Follow_Up (preciseOriginTimestamp at the same place): 44 bytes.
pub mod sync {
    use super::Field;
    /// originTimestamp (preciseOriginTimestamp in Follow_Up).
    pub const ORIGIN_TIMESTAMP: Field = 34..44;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 44;
}

/// Delay_Resp, Pdelay_Resp, Pdelay_Resp_Follow_Up (a timestamp then
/// requestingPortIdentity): 54 bytes.
pub mod delay_resp {
    use super::Field;
    /// The timestamp: receiveTimestamp, requestReceiptTimestamp or responseOriginTimestamp.
    pub const TIMESTAMP: Field = 34..44;
    /// requestingPortIdentity.
    pub const REQUESTING_PORT_IDENTITY: Field = 44..54;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 54;
}

/// Pdelay_Req: 54 bytes.
pub mod pdelay_req {
    use super::Field;
    /// originTimestamp (preciseOriginTimestamp in Follow_Up).
    pub const ORIGIN_TIMESTAMP: Field = 34..44;
    /// Reserved bytes.
    pub const RESERVED: Field = 44..54;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 54;
}

/// Announce: 64 bytes.
pub mod announce {
    use super::Field;
    /// originTimestamp (preciseOriginTimestamp in Follow_Up).
    pub const ORIGIN_TIMESTAMP: Field = 34..44;
    /// currentUtcOffset.
    pub const CURRENT_UTC_OFFSET: Field = 44..46;
    /// Reserved bytes.
    pub const RESERVED: usize = 46;
    /// grandmasterPriority1.
    pub const GRANDMASTER_PRIORITY1: usize = 47;
    /// grandmasterClockQuality.clockClass.
    pub const CLOCK_CLASS: usize = 48;
    /// grandmasterClockQuality.clockAccuracy.
    pub const CLOCK_ACCURACY: usize = 49;
    /// grandmasterClockQuality.offsetScaledLogVariance.
    pub const OFFSET_SCALED_LOG_VARIANCE: Field = 50..52;
    /// grandmasterPriority2.
    pub const GRANDMASTER_PRIORITY2: usize = 52;
    /// grandmasterIdentity.
    pub const GRANDMASTER_IDENTITY: Field = 53..61;
    /// stepsRemoved.
    pub const STEPS_REMOVED: Field = 61..63;
    /// timeSource.
    pub const TIME_SOURCE: usize = 63;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 64;
}

/// Signaling: 44 bytes before its TLVs.
pub mod signaling {
    use super::Field;
    /// targetPortIdentity.
    pub const TARGET_PORT_IDENTITY: Field = 34..44;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 44;
}

/// Management: 48 bytes before its management TLV.
pub mod management {
    use super::Field;
    /// targetPortIdentity.
    pub const TARGET_PORT_IDENTITY: Field = 34..44;
    /// startingBoundaryHops.
    pub const STARTING_BOUNDARY_HOPS: usize = 44;
    /// boundaryHops.
    pub const BOUNDARY_HOPS: usize = 45;
    /// Low nibble actionField, high nibble reserved.
    pub const ACTION_FIELD: usize = 46;
    /// Reserved bytes.
    pub const RESERVED: usize = 47;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 48;
}

/// A TLV, offsets from the TLV's first byte.
pub mod tlv {
    use super::Field;
    /// tlvType.
    pub const TLV_TYPE: Field = 0..2;
    /// lengthField.
    pub const LENGTH_FIELD: Field = 2..4;
    /// Where the value starts.
    pub const VALUE: usize = 4;
}

/// A timestamp, offsets from its first byte: 10 bytes.
pub mod timestamp {
    use super::Field;
    /// secondsField (48 bits).
    pub const SECONDS: Field = 0..6;
    /// nanosecondsField.
    pub const NANOSECONDS: Field = 6..10;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 10;
}

/// A port identity, offsets from its first byte: 10 bytes.
pub mod port_identity {
    use super::Field;
    /// clockIdentity.
    pub const CLOCK_IDENTITY: Field = 0..8;
    /// portNumber.
    pub const PORT_NUMBER: Field = 8..10;
    /// The length of this structure (for a message: header and body, before TLVs).
    pub const LENGTH: usize = 10;
}

/// IEEE 802.1AS's Follow_Up information TLV (an ORGANIZATION_EXTENSION, 00-80-C2 subtype 1),
/// offsets from the TLV's first byte: 32 bytes.
pub mod follow_up_information {
    use super::Field;
    /// tlvType (ORGANIZATION_EXTENSION, 0x0003).
    pub const TLV_TYPE: Field = 0..2;
    /// lengthField (28).
    pub const LENGTH_FIELD: Field = 2..4;
    /// organizationId (00-80-C2).
    pub const ORGANIZATION_ID: Field = 4..7;
    /// organizationSubType (00-00-01).
    pub const ORGANIZATION_SUB_TYPE: Field = 7..10;
    /// cumulativeScaledRateOffset.
    pub const CUMULATIVE_SCALED_RATE_OFFSET: Field = 10..14;
    /// gmTimeBaseIndicator.
    pub const GM_TIME_BASE_INDICATOR: Field = 14..16;
    /// lastGmPhaseChange (96 bits).
    pub const LAST_GM_PHASE_CHANGE: Field = 16..28;
    /// scaledLastGmFreqChange.
    pub const SCALED_LAST_GM_FREQ_CHANGE: Field = 28..32;
    /// The length of this structure: the 4-byte type and length, then the 28-byte value.
    pub const LENGTH: usize = 32;
}
