//! flagField: the header's 16 flag bits.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// flagField (header octets 6 and 7, octet 6 in the high byte). Every bit, reserved ones
/// included, is kept as it was received.
///
/// ```
/// use aptp_wire::Flags;
///
/// let apple = Flags(0x0608);
/// assert!(apple.two_step() && apple.unicast() && apple.ptp_timescale());
/// assert_eq!(Flags::UNICAST | Flags::PTP_TIMESCALE, Flags(0x0408));
/// assert_eq!(apple.to_string(), "twoStep|unicast|ptpTimescale");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

macro_rules! flag_bits {
    ($( $(#[$meta:meta])* $constant:ident = $bit:literal, $getter:ident, $name:literal; )*) => {
        impl Flags {
            $( $(#[$meta])* pub const $constant: Flags = Flags($bit); )*

            $(
                #[doc = concat!("Whether ", $name, " is set.")]
                pub const fn $getter(self) -> bool {
                    self.0 & $bit != 0
                }
            )*

            const NAMES: &'static [(u16, &'static str)] = &[$(($bit, $name)),*];
        }
    };
}

flag_bits! {
    /// alternateMasterFlag (octet 6 bit 0).
    ALTERNATE_MASTER = 0x0100, alternate_master, "alternateMaster";
    /// twoStepFlag (octet 6 bit 1): a Follow_Up (or Pdelay_Resp_Follow_Up) carries the time.
    TWO_STEP = 0x0200, two_step, "twoStep";
    /// unicastFlag (octet 6 bit 2).
    UNICAST = 0x0400, unicast, "unicast";
    /// PTP profile specific 1 (octet 6 bit 5).
    PROFILE_SPECIFIC_1 = 0x2000, profile_specific_1, "profileSpecific1";
    /// PTP profile specific 2 (octet 6 bit 6).
    PROFILE_SPECIFIC_2 = 0x4000, profile_specific_2, "profileSpecific2";
    /// Security (octet 6 bit 7).
    SECURITY = 0x8000, security, "security";
    /// leap61 (octet 7 bit 0).
    LEAP61 = 0x0001, leap61, "leap61";
    /// leap59 (octet 7 bit 1).
    LEAP59 = 0x0002, leap59, "leap59";
    /// currentUtcOffsetValid (octet 7 bit 2).
    CURRENT_UTC_OFFSET_VALID = 0x0004, current_utc_offset_valid, "currentUtcOffsetValid";
    /// ptpTimescale (octet 7 bit 3).
    PTP_TIMESCALE = 0x0008, ptp_timescale, "ptpTimescale";
    /// timeTraceable (octet 7 bit 4).
    TIME_TRACEABLE = 0x0010, time_traceable, "timeTraceable";
    /// frequencyTraceable (octet 7 bit 5).
    FREQUENCY_TRACEABLE = 0x0020, frequency_traceable, "frequencyTraceable";
    /// synchronizationUncertain (octet 7 bit 6).
    SYNCHRONIZATION_UNCERTAIN = 0x0040, synchronization_uncertain, "synchronizationUncertain";
}

impl Flags {
    /// No flag set.
    pub const EMPTY: Flags = Flags(0);

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags with `other`'s bits set or cleared.
    #[must_use]
    pub const fn with(self, other: Flags, set: bool) -> Flags {
        if set {
            Flags(self.0 | other.0)
        } else {
            Flags(self.0 & !other.0)
        }
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl Not for Flags {
    type Output = Flags;
    fn not(self) -> Flags {
        Flags(!self.0)
    }
}

impl fmt::Display for Flags {
    /// The names of the set bits joined by `|` in wire order (octet 6 first), reserved bits as
    /// hex, `0` when none is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut known = 0u16;
        let mut first = true;
        // NAMES is in wire order: octet 6 first, each octet from bit 0 up.
        for &(bit, name) in Self::NAMES {
            known |= bit;
            if self.0 & bit != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        let reserved = self.0 & !known;
        if reserved != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{reserved:#06x}")?;
            first = false;
        }
        if first {
            f.write_str("0")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({:#06x}: {self})", self.0)
    }
}
