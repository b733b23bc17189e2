//! The parent's time properties (IEEE 1588-2019 §8.2.4, timePropertiesDS) as its Announces
//! carry them, and the UTC correction a slave on a UTC clock applies to the master's time.

use aptp_wire::{AnnounceBody, Flags};

/// The time properties a master announces: its timescale, the TAI − UTC offset and the
/// leap-second warnings (header flags of octet 7 and `currentUtcOffset` of the body).
///
/// ```
/// use aptp::engine::TimeProperties;
/// let tai = TimeProperties { current_utc_offset: 37, ptp_timescale: true, ..Default::default() };
/// assert_eq!(tai.utc_correction_ns(true), 37_000_000_000);
/// assert_eq!(tai.utc_correction_ns(false), 0); // a monotonic local clock keeps the PTP timescale
/// assert_eq!(TimeProperties::default().utc_correction_ns(true), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TimeProperties {
    /// `currentUtcOffset`: TAI minus UTC in seconds (37 since 2017).
    pub current_utc_offset: i16,
    /// `currentUtcOffsetValid`: the master vouches for `current_utc_offset`.
    pub current_utc_offset_valid: bool,
    /// `ptpTimescale`: the master's time is the PTP timescale (TAI); false: arbitrary.
    pub ptp_timescale: bool,
    /// `leap61`: the last minute of the current UTC day has 61 seconds.
    pub leap61: bool,
    /// `leap59`: the last minute of the current UTC day has 59 seconds.
    pub leap59: bool,
    /// `timeTraceable`: the master's time is traceable to a primary reference.
    pub time_traceable: bool,
    /// `frequencyTraceable`: the master's frequency is traceable to a primary reference.
    pub frequency_traceable: bool,
    /// `timeSource` (0xA0 internal oscillator, 0x20 GNSS, ...).
    pub time_source: u8,
}

impl TimeProperties {
    /// The properties an Announce with header `flags` and body `announce` carries.
    pub fn from_announce(flags: Flags, announce: &AnnounceBody) -> Self {
        TimeProperties {
            current_utc_offset: announce.current_utc_offset,
            current_utc_offset_valid: flags.current_utc_offset_valid(),
            ptp_timescale: flags.ptp_timescale(),
            leap61: flags.leap61(),
            leap59: flags.leap59(),
            time_traceable: flags.time_traceable(),
            frequency_traceable: flags.frequency_traceable(),
            time_source: announce.time_source.0,
        }
    }

    /// What to subtract from the master's timestamps to express them on a local clock whose
    /// timescale is UTC (`local_is_utc`, CLOCK_REALTIME), in nanoseconds:
    /// `currentUtcOffset` seconds when the master runs the PTP timescale (TAI), else 0.
    ///
    /// The announced offset is used even when `currentUtcOffsetValid` is clear: a master on
    /// the PTP timescale keeps TAI whether or not it vouches for the offset, and its own
    /// number is the best one the slave has (ptp4l likewise applies an offset then, falling
    /// back to its built-in one). A local clock that is not UTC (monotonic) is never
    /// corrected: its mapping stays in the master's own timescale, as AirPlay wants.
    pub fn utc_correction_ns(&self, local_is_utc: bool) -> i64 {
        if local_is_utc && self.ptp_timescale {
            i64::from(self.current_utc_offset) * 1_000_000_000
        } else {
            0
        }
    }
}
