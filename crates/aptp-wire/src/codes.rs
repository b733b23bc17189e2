//! Open enums: protocol code points as newtypes over the wire integer, with named constants.
//! An unknown value parses, prints in hex and re-encodes to the same bytes.

use core::fmt;

/// Declares an open enum: `pub struct Name(pub int)` with named constants, `name()`, `Debug`
/// and `Display` (the name, or hex when unknown) and conversions to and from the integer.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident($int:ty), hex width $width:literal {
            $( $(#[$cmeta:meta])* $constant:ident = $value:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $int);

        impl $name {
            $( $(#[$cmeta])* pub const $constant: $name = $name($value); )*

            /// Every named value, in numeric order.
            pub const KNOWN: &'static [$name] = &[$($name::$constant),*];

            /// The standard's name for this value, or `None` when the crate does not know it.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            /// The standard's name, or the value in hex when unknown.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(text) => f.write_str(text),
                    None => write!(f, concat!("{:#0", $width, "x}"), self.0),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(text) => write!(f, concat!(stringify!($name), "::{}"), text),
                    None => write!(f, concat!(stringify!($name), "({:#0", $width, "x})"), self.0),
                }
            }
        }

        impl From<$int> for $name {
            fn from(value: $int) -> Self {
                $name(value)
            }
        }

        impl From<$name> for $int {
            fn from(value: $name) -> $int {
                value.0
            }
        }
    };
}

open_enum! {
    /// messageType (the low nibble of the first header byte).
    ///
    /// ```
    /// use aptp_wire::MessageType;
    ///
    /// assert_eq!(MessageType::FOLLOW_UP.to_string(), "Follow_Up");
    /// assert_eq!(MessageType(0x5).to_string(), "0x05");
    /// assert!(MessageType::SYNC.is_event());
    /// ```
    MessageType(u8), hex width 4 {
        /// Sync (event).
        SYNC = 0x0 => "Sync",
        /// Delay_Req (event).
        DELAY_REQ = 0x1 => "Delay_Req",
        /// Pdelay_Req (event).
        PDELAY_REQ = 0x2 => "Pdelay_Req",
        /// Pdelay_Resp (event).
        PDELAY_RESP = 0x3 => "Pdelay_Resp",
        /// Follow_Up (general).
        FOLLOW_UP = 0x8 => "Follow_Up",
        /// Delay_Resp (general).
        DELAY_RESP = 0x9 => "Delay_Resp",
        /// Pdelay_Resp_Follow_Up (general).
        PDELAY_RESP_FOLLOW_UP = 0xA => "Pdelay_Resp_Follow_Up",
        /// Announce (general).
        ANNOUNCE = 0xB => "Announce",
        /// Signaling (general).
        SIGNALING = 0xC => "Signaling",
        /// Management (general).
        MANAGEMENT = 0xD => "Management",
    }
}

impl MessageType {
    /// Whether this is an event message (timestamped, sent to UDP port 319).
    pub const fn is_event(self) -> bool {
        self.0 < 0x8
    }

    /// Whether IEEE 1588-2019 defines this type.
    pub const fn is_known(self) -> bool {
        self.name().is_some()
    }

    /// The controlField IEEE 1588 prescribes for this type (compatibility with version 1):
    /// Sync 0, Delay_Req 1, Follow_Up 2, Delay_Resp 3, Management 4, all others 5.
    pub const fn control_field(self) -> u8 {
        match self {
            MessageType::SYNC => 0,
            MessageType::DELAY_REQ => 1,
            MessageType::FOLLOW_UP => 2,
            MessageType::DELAY_RESP => 3,
            MessageType::MANAGEMENT => 4,
            _ => 5,
        }
    }

    /// The length of the header and body of this type, before any TLV; `None` for an unknown
    /// type.
    pub const fn body_end(self) -> Option<usize> {
        use crate::field;
        match self {
            MessageType::SYNC | MessageType::DELAY_REQ | MessageType::FOLLOW_UP => {
                Some(field::sync::LENGTH)
            }
            MessageType::DELAY_RESP
            | MessageType::PDELAY_RESP
            | MessageType::PDELAY_RESP_FOLLOW_UP => Some(field::delay_resp::LENGTH),
            MessageType::PDELAY_REQ => Some(field::pdelay_req::LENGTH),
            MessageType::ANNOUNCE => Some(field::announce::LENGTH),
            MessageType::SIGNALING => Some(field::signaling::LENGTH),
            MessageType::MANAGEMENT => Some(field::management::LENGTH),
            _ => None,
        }
    }
}

open_enum! {
    /// tlvType.
    TlvType(u16), hex width 6 {
        /// MANAGEMENT.
        MANAGEMENT = 0x0001 => "MANAGEMENT",
        /// MANAGEMENT_ERROR_STATUS.
        MANAGEMENT_ERROR_STATUS = 0x0002 => "MANAGEMENT_ERROR_STATUS",
        /// ORGANIZATION_EXTENSION.
        ORGANIZATION_EXTENSION = 0x0003 => "ORGANIZATION_EXTENSION",
        /// REQUEST_UNICAST_TRANSMISSION.
        REQUEST_UNICAST_TRANSMISSION = 0x0004 => "REQUEST_UNICAST_TRANSMISSION",
        /// GRANT_UNICAST_TRANSMISSION.
        GRANT_UNICAST_TRANSMISSION = 0x0005 => "GRANT_UNICAST_TRANSMISSION",
        /// CANCEL_UNICAST_TRANSMISSION.
        CANCEL_UNICAST_TRANSMISSION = 0x0006 => "CANCEL_UNICAST_TRANSMISSION",
        /// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION.
        ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION = 0x0007 => "ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION",
        /// PATH_TRACE.
        PATH_TRACE = 0x0008 => "PATH_TRACE",
        /// ALTERNATE_TIME_OFFSET_INDICATOR.
        ALTERNATE_TIME_OFFSET_INDICATOR = 0x0009 => "ALTERNATE_TIME_OFFSET_INDICATOR",
        /// ORGANIZATION_EXTENSION_PROPAGATE.
        ORGANIZATION_EXTENSION_PROPAGATE = 0x4000 => "ORGANIZATION_EXTENSION_PROPAGATE",
        /// ENHANCED_ACCURACY_METRICS.
        ENHANCED_ACCURACY_METRICS = 0x4001 => "ENHANCED_ACCURACY_METRICS",
        /// ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE.
        ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE = 0x8000 => "ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE",
        /// L1_SYNC.
        L1_SYNC = 0x8001 => "L1_SYNC",
        /// PORT_COMMUNICATION_AVAILABILITY.
        PORT_COMMUNICATION_AVAILABILITY = 0x8002 => "PORT_COMMUNICATION_AVAILABILITY",
        /// PROTOCOL_ADDRESS.
        PROTOCOL_ADDRESS = 0x8003 => "PROTOCOL_ADDRESS",
        /// SLAVE_RX_SYNC_TIMING_DATA.
        SLAVE_RX_SYNC_TIMING_DATA = 0x8004 => "SLAVE_RX_SYNC_TIMING_DATA",
        /// SLAVE_RX_SYNC_COMPUTED_DATA.
        SLAVE_RX_SYNC_COMPUTED_DATA = 0x8005 => "SLAVE_RX_SYNC_COMPUTED_DATA",
        /// SLAVE_TX_EVENT_TIMESTAMPS.
        SLAVE_TX_EVENT_TIMESTAMPS = 0x8006 => "SLAVE_TX_EVENT_TIMESTAMPS",
        /// CUMULATIVE_RATE_RATIO.
        CUMULATIVE_RATE_RATIO = 0x8007 => "CUMULATIVE_RATE_RATIO",
        /// PAD.
        PAD = 0x8008 => "PAD",
        /// AUTHENTICATION.
        AUTHENTICATION = 0x8009 => "AUTHENTICATION",
    }
}

open_enum! {
    /// clockAccuracy (IEEE 1588-2019 7.6.2.6).
    ClockAccuracy(u8), hex width 4 {
        /// Within 1 ps.
        WITHIN_1_PS = 0x17 => "within 1 ps",
        /// Within 2.5 ps.
        WITHIN_2_5_PS = 0x18 => "within 2.5 ps",
        /// Within 10 ps.
        WITHIN_10_PS = 0x19 => "within 10 ps",
        /// Within 25 ps.
        WITHIN_25_PS = 0x1A => "within 25 ps",
        /// Within 100 ps.
        WITHIN_100_PS = 0x1B => "within 100 ps",
        /// Within 250 ps.
        WITHIN_250_PS = 0x1C => "within 250 ps",
        /// Within 1 ns.
        WITHIN_1_NS = 0x1D => "within 1 ns",
        /// Within 2.5 ns.
        WITHIN_2_5_NS = 0x1E => "within 2.5 ns",
        /// Within 10 ns.
        WITHIN_10_NS = 0x1F => "within 10 ns",
        /// Within 25 ns.
        WITHIN_25_NS = 0x20 => "within 25 ns",
        /// Within 100 ns (Apple's grandmasters announce this).
        WITHIN_100_NS = 0x21 => "within 100 ns",
        /// Within 250 ns.
        WITHIN_250_NS = 0x22 => "within 250 ns",
        /// Within 1 µs.
        WITHIN_1_US = 0x23 => "within 1 us",
        /// Within 2.5 µs.
        WITHIN_2_5_US = 0x24 => "within 2.5 us",
        /// Within 10 µs.
        WITHIN_10_US = 0x25 => "within 10 us",
        /// Within 25 µs.
        WITHIN_25_US = 0x26 => "within 25 us",
        /// Within 100 µs.
        WITHIN_100_US = 0x27 => "within 100 us",
        /// Within 250 µs.
        WITHIN_250_US = 0x28 => "within 250 us",
        /// Within 1 ms.
        WITHIN_1_MS = 0x29 => "within 1 ms",
        /// Within 2.5 ms.
        WITHIN_2_5_MS = 0x2A => "within 2.5 ms",
        /// Within 10 ms.
        WITHIN_10_MS = 0x2B => "within 10 ms",
        /// Within 25 ms.
        WITHIN_25_MS = 0x2C => "within 25 ms",
        /// Within 100 ms.
        WITHIN_100_MS = 0x2D => "within 100 ms",
        /// Within 250 ms.
        WITHIN_250_MS = 0x2E => "within 250 ms",
        /// Within 1 s.
        WITHIN_1_S = 0x2F => "within 1 s",
        /// Within 10 s.
        WITHIN_10_S = 0x30 => "within 10 s",
        /// More than 10 s.
        GREATER_THAN_10_S = 0x31 => "greater than 10 s",
        /// Unknown (linuxptp's default and nqptp's).
        UNKNOWN = 0xFE => "unknown",
    }
}

open_enum! {
    /// timeSource (IEEE 1588-2019 7.6.2.8).
    TimeSource(u8), hex width 4 {
        /// ATOMIC_CLOCK.
        ATOMIC_CLOCK = 0x10 => "ATOMIC_CLOCK",
        /// GNSS (GPS in 2008).
        GNSS = 0x20 => "GNSS",
        /// TERRESTRIAL_RADIO.
        TERRESTRIAL_RADIO = 0x30 => "TERRESTRIAL_RADIO",
        /// SERIAL_TIME_CODE.
        SERIAL_TIME_CODE = 0x39 => "SERIAL_TIME_CODE",
        /// PTP.
        PTP = 0x40 => "PTP",
        /// NTP.
        NTP = 0x50 => "NTP",
        /// HAND_SET.
        HAND_SET = 0x60 => "HAND_SET",
        /// OTHER.
        OTHER = 0x90 => "OTHER",
        /// INTERNAL_OSCILLATOR (Apple's grandmasters announce this).
        INTERNAL_OSCILLATOR = 0xA0 => "INTERNAL_OSCILLATOR",
    }
}

open_enum! {
    /// actionField of a Management message (its low nibble).
    ManagementAction(u8), hex width 4 {
        /// GET.
        GET = 0 => "GET",
        /// SET.
        SET = 1 => "SET",
        /// RESPONSE.
        RESPONSE = 2 => "RESPONSE",
        /// COMMAND.
        COMMAND = 3 => "COMMAND",
        /// ACKNOWLEDGE.
        ACKNOWLEDGE = 4 => "ACKNOWLEDGE",
    }
}

open_enum! {
    /// managementId of a MANAGEMENT TLV (IEEE 1588-2019 table 59, and linuxptp's
    /// implementation-specific `_NP` ids).
    ManagementId(u16), hex width 6 {
        /// NULL_PTP_MANAGEMENT.
        NULL_PTP_MANAGEMENT = 0x0000 => "NULL_PTP_MANAGEMENT",
        /// CLOCK_DESCRIPTION.
        CLOCK_DESCRIPTION = 0x0001 => "CLOCK_DESCRIPTION",
        /// USER_DESCRIPTION.
        USER_DESCRIPTION = 0x0002 => "USER_DESCRIPTION",
        /// SAVE_IN_NON_VOLATILE_STORAGE.
        SAVE_IN_NON_VOLATILE_STORAGE = 0x0003 => "SAVE_IN_NON_VOLATILE_STORAGE",
        /// RESET_NON_VOLATILE_STORAGE.
        RESET_NON_VOLATILE_STORAGE = 0x0004 => "RESET_NON_VOLATILE_STORAGE",
        /// INITIALIZE.
        INITIALIZE = 0x0005 => "INITIALIZE",
        /// FAULT_LOG.
        FAULT_LOG = 0x0006 => "FAULT_LOG",
        /// FAULT_LOG_RESET.
        FAULT_LOG_RESET = 0x0007 => "FAULT_LOG_RESET",
        /// DEFAULT_DATA_SET.
        DEFAULT_DATA_SET = 0x2000 => "DEFAULT_DATA_SET",
        /// CURRENT_DATA_SET.
        CURRENT_DATA_SET = 0x2001 => "CURRENT_DATA_SET",
        /// PARENT_DATA_SET.
        PARENT_DATA_SET = 0x2002 => "PARENT_DATA_SET",
        /// TIME_PROPERTIES_DATA_SET.
        TIME_PROPERTIES_DATA_SET = 0x2003 => "TIME_PROPERTIES_DATA_SET",
        /// PORT_DATA_SET.
        PORT_DATA_SET = 0x2004 => "PORT_DATA_SET",
        /// PRIORITY1.
        PRIORITY1 = 0x2005 => "PRIORITY1",
        /// PRIORITY2.
        PRIORITY2 = 0x2006 => "PRIORITY2",
        /// DOMAIN.
        DOMAIN = 0x2007 => "DOMAIN",
        /// SLAVE_ONLY.
        SLAVE_ONLY = 0x2008 => "SLAVE_ONLY",
        /// LOG_ANNOUNCE_INTERVAL.
        LOG_ANNOUNCE_INTERVAL = 0x2009 => "LOG_ANNOUNCE_INTERVAL",
        /// ANNOUNCE_RECEIPT_TIMEOUT.
        ANNOUNCE_RECEIPT_TIMEOUT = 0x200A => "ANNOUNCE_RECEIPT_TIMEOUT",
        /// LOG_SYNC_INTERVAL.
        LOG_SYNC_INTERVAL = 0x200B => "LOG_SYNC_INTERVAL",
        /// VERSION_NUMBER.
        VERSION_NUMBER = 0x200C => "VERSION_NUMBER",
        /// ENABLE_PORT.
        ENABLE_PORT = 0x200D => "ENABLE_PORT",
        /// DISABLE_PORT.
        DISABLE_PORT = 0x200E => "DISABLE_PORT",
        /// TIME.
        TIME = 0x200F => "TIME",
        /// CLOCK_ACCURACY.
        CLOCK_ACCURACY = 0x2010 => "CLOCK_ACCURACY",
        /// UTC_PROPERTIES.
        UTC_PROPERTIES = 0x2011 => "UTC_PROPERTIES",
        /// TRACEABILITY_PROPERTIES.
        TRACEABILITY_PROPERTIES = 0x2012 => "TRACEABILITY_PROPERTIES",
        /// TIMESCALE_PROPERTIES.
        TIMESCALE_PROPERTIES = 0x2013 => "TIMESCALE_PROPERTIES",
        /// UNICAST_NEGOTIATION_ENABLE.
        UNICAST_NEGOTIATION_ENABLE = 0x2014 => "UNICAST_NEGOTIATION_ENABLE",
        /// PATH_TRACE_LIST.
        PATH_TRACE_LIST = 0x2015 => "PATH_TRACE_LIST",
        /// PATH_TRACE_ENABLE.
        PATH_TRACE_ENABLE = 0x2016 => "PATH_TRACE_ENABLE",
        /// GRANDMASTER_CLUSTER_TABLE.
        GRANDMASTER_CLUSTER_TABLE = 0x2017 => "GRANDMASTER_CLUSTER_TABLE",
        /// UNICAST_MASTER_TABLE.
        UNICAST_MASTER_TABLE = 0x2018 => "UNICAST_MASTER_TABLE",
        /// UNICAST_MASTER_MAX_TABLE_SIZE.
        UNICAST_MASTER_MAX_TABLE_SIZE = 0x2019 => "UNICAST_MASTER_MAX_TABLE_SIZE",
        /// ACCEPTABLE_MASTER_TABLE.
        ACCEPTABLE_MASTER_TABLE = 0x201A => "ACCEPTABLE_MASTER_TABLE",
        /// ACCEPTABLE_MASTER_TABLE_ENABLED.
        ACCEPTABLE_MASTER_TABLE_ENABLED = 0x201B => "ACCEPTABLE_MASTER_TABLE_ENABLED",
        /// ACCEPTABLE_MASTER_MAX_TABLE_SIZE.
        ACCEPTABLE_MASTER_MAX_TABLE_SIZE = 0x201C => "ACCEPTABLE_MASTER_MAX_TABLE_SIZE",
        /// ALTERNATE_MASTER.
        ALTERNATE_MASTER = 0x201D => "ALTERNATE_MASTER",
        /// ALTERNATE_TIME_OFFSET_ENABLE.
        ALTERNATE_TIME_OFFSET_ENABLE = 0x201E => "ALTERNATE_TIME_OFFSET_ENABLE",
        /// ALTERNATE_TIME_OFFSET_NAME.
        ALTERNATE_TIME_OFFSET_NAME = 0x201F => "ALTERNATE_TIME_OFFSET_NAME",
        /// ALTERNATE_TIME_OFFSET_MAX_KEY.
        ALTERNATE_TIME_OFFSET_MAX_KEY = 0x2020 => "ALTERNATE_TIME_OFFSET_MAX_KEY",
        /// ALTERNATE_TIME_OFFSET_PROPERTIES.
        ALTERNATE_TIME_OFFSET_PROPERTIES = 0x2021 => "ALTERNATE_TIME_OFFSET_PROPERTIES",
        /// TRANSPARENT_CLOCK_DEFAULT_DATA_SET.
        TRANSPARENT_CLOCK_DEFAULT_DATA_SET = 0x4000 => "TRANSPARENT_CLOCK_DEFAULT_DATA_SET",
        /// TRANSPARENT_CLOCK_PORT_DATA_SET.
        TRANSPARENT_CLOCK_PORT_DATA_SET = 0x4001 => "TRANSPARENT_CLOCK_PORT_DATA_SET",
        /// PRIMARY_DOMAIN.
        PRIMARY_DOMAIN = 0x4002 => "PRIMARY_DOMAIN",
        /// DELAY_MECHANISM.
        DELAY_MECHANISM = 0x6000 => "DELAY_MECHANISM",
        /// LOG_MIN_PDELAY_REQ_INTERVAL.
        LOG_MIN_PDELAY_REQ_INTERVAL = 0x6001 => "LOG_MIN_PDELAY_REQ_INTERVAL",
        /// TIME_STATUS_NP (linuxptp).
        TIME_STATUS_NP = 0xC000 => "TIME_STATUS_NP",
        /// GRANDMASTER_SETTINGS_NP (linuxptp).
        GRANDMASTER_SETTINGS_NP = 0xC001 => "GRANDMASTER_SETTINGS_NP",
        /// PORT_DATA_SET_NP (linuxptp).
        PORT_DATA_SET_NP = 0xC002 => "PORT_DATA_SET_NP",
        /// SUBSCRIBE_EVENTS_NP (linuxptp).
        SUBSCRIBE_EVENTS_NP = 0xC003 => "SUBSCRIBE_EVENTS_NP",
        /// PORT_PROPERTIES_NP (linuxptp).
        PORT_PROPERTIES_NP = 0xC004 => "PORT_PROPERTIES_NP",
    }
}

open_enum! {
    /// managementErrorId of a MANAGEMENT_ERROR_STATUS TLV (IEEE 1588-2019 table 109).
    ManagementErrorId(u16), hex width 6 {
        /// RESPONSE_TOO_BIG.
        RESPONSE_TOO_BIG = 0x0001 => "RESPONSE_TOO_BIG",
        /// NO_SUCH_ID.
        NO_SUCH_ID = 0x0002 => "NO_SUCH_ID",
        /// WRONG_LENGTH.
        WRONG_LENGTH = 0x0003 => "WRONG_LENGTH",
        /// WRONG_VALUE.
        WRONG_VALUE = 0x0004 => "WRONG_VALUE",
        /// NOT_SETABLE.
        NOT_SETABLE = 0x0005 => "NOT_SETABLE",
        /// NOT_SUPPORTED.
        NOT_SUPPORTED = 0x0006 => "NOT_SUPPORTED",
        /// UNPOPULATED.
        UNPOPULATED = 0x0007 => "UNPOPULATED",
        /// GENERAL_ERROR.
        GENERAL_ERROR = 0xFFFE => "GENERAL_ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hex() {
        assert_eq!(MessageType::SYNC.to_string(), "Sync");
        assert_eq!(
            format!("{:?}", MessageType::ANNOUNCE),
            "MessageType::Announce"
        );
        assert_eq!(format!("{:?}", MessageType(4)), "MessageType(0x04)");
        assert_eq!(TlvType(0x1234).to_string(), "0x1234");
        assert_eq!(TlvType::PAD.to_string(), "PAD");
        assert_eq!(ClockAccuracy(0x21), ClockAccuracy::WITHIN_100_NS);
        assert_eq!(TimeSource(0xA0).to_string(), "INTERNAL_OSCILLATOR");
        assert_eq!(ManagementId(0x2001), ManagementId::CURRENT_DATA_SET);
        assert_eq!(ManagementAction(7).to_string(), "0x07");
        assert_eq!(MessageType::KNOWN.len(), 10);
        assert_eq!(
            MessageType::KNOWN
                .iter()
                .map(|t| t.control_field())
                .collect::<Vec<_>>(),
            [0, 1, 5, 5, 2, 3, 5, 5, 5, 4]
        );
    }
}
