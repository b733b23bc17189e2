//! The one look the transport takes at a datagram: is it long enough to be PTP, and does its
//! message class belong to the port it arrived on? Parsing belongs to `aptp-wire`.

use crate::{DropReason, PortKind};

/// The PTP common header is 34 bytes long (IEEE 1588-2019 13.3.1).
pub(crate) const PTP_HEADER_LEN: usize = 34;

/// Checks a received datagram's length and message class against the port it arrived on,
/// looking at one nibble only (messageType, the low nibble of octet 0).
pub(crate) fn classify(data: &[u8], port: PortKind) -> Result<(), DropReason> {
    let Some(first) = data.first() else {
        return Err(DropReason::TooShort);
    };
    if data.len() < PTP_HEADER_LEN {
        return Err(DropReason::TooShort);
    }
    let belongs = match first & 0x0F {
        0x0..=0x3 => port == PortKind::Event,
        0x8..=0xF => port == PortKind::General,
        _ => false,
    };
    if belongs {
        Ok(())
    } else {
        Err(DropReason::WrongPort)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_checks_length_and_message_class() {
        let mut sync = [0u8; 44];
        sync[0] = 0x10; // majorSdoId 1, Sync
        assert_eq!(classify(&sync, PortKind::Event), Ok(()));
        assert_eq!(
            classify(&sync, PortKind::General),
            Err(DropReason::WrongPort)
        );
        let mut follow_up = [0u8; 44];
        follow_up[0] = 0x18;
        assert_eq!(classify(&follow_up, PortKind::General), Ok(()));
        assert_eq!(
            classify(&follow_up, PortKind::Event),
            Err(DropReason::WrongPort)
        );
        let mut reserved = [0u8; 44];
        reserved[0] = 0x05;
        assert_eq!(
            classify(&reserved, PortKind::Event),
            Err(DropReason::WrongPort)
        );
        assert_eq!(
            classify(&sync[..33], PortKind::Event),
            Err(DropReason::TooShort)
        );
        assert_eq!(classify(&[], PortKind::Event), Err(DropReason::TooShort));
    }
}
