//! Reading frames from pcap and pcapng captures (pcap-file), with their link type.

use std::io::{BufRead, BufReader, Read};

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, PcapError};

use super::frame::LinkType;

/// First four bytes of a pcapng file (the Section Header Block type).
const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];
/// First four bytes of a pcap file, in both byte orders, micro- and nanosecond flavours.
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xA1, 0xB2, 0xC3, 0xD4],
    [0xD4, 0xC3, 0xB2, 0xA1],
    [0xA1, 0xB2, 0x3C, 0x4D],
    [0x4D, 0x3C, 0xB2, 0xA1],
];

/// Why a capture could not be read to its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file starts with neither the pcap nor the pcapng magic number.
    #[error("not a pcap or pcapng capture (magic number {0:02x?})")]
    UnknownFormat(Vec<u8>),
    /// The capture's structure is broken or cut short (after `frames` good frames).
    #[error("capture unreadable after frame {frames}: {source}")]
    Corrupt {
        /// Frames read before the problem.
        frames: usize,
        /// What pcap-file reported.
        source: PcapError,
    },
    /// Reading the file failed.
    #[error("reading the capture: {0}")]
    Io(#[from] std::io::Error),
    /// The visitor asked to stop (its own error, e.g. a closed stdout).
    #[error("{0}")]
    Stopped(std::io::Error),
}

/// The link type of a frame, or the LINKTYPE number when it cannot carry PTP as we read it.
pub type FrameLink = Result<LinkType, u32>;

/// Maps a pcap link type to the ones whose frames we can walk.
pub fn link_type(datalink: DataLink) -> FrameLink {
    match datalink {
        DataLink::ETHERNET => Ok(LinkType::Ethernet),
        DataLink::LINUX_SLL => Ok(LinkType::LinuxSll),
        DataLink::LINUX_SLL2 => Ok(LinkType::LinuxSll2),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => Ok(LinkType::RawIp),
        DataLink::NULL | DataLink::LOOP => Ok(LinkType::BsdLoopback),
        other => Err(u32::from(other)),
    }
}

/// Calls `visit(frame_number, link, bytes)` for every frame of a pcap or pcapng capture, in
/// order; frame numbers start at 1, as in Wireshark. Stops at the first error of `visit`.
pub fn for_each_frame<R: Read>(
    reader: R,
    mut visit: impl FnMut(usize, FrameLink, &[u8]) -> std::io::Result<()>,
) -> Result<(), CaptureError> {
    let mut reader = BufReader::new(reader);
    let magic = reader.fill_buf()?.get(..4).map(<[u8]>::to_vec);
    let mut frames = 0usize;
    let corrupt = |frames, source| CaptureError::Corrupt { frames, source };
    match magic {
        Some(magic) if magic == PCAPNG_MAGIC => {
            let mut capture = PcapNgReader::new(reader).map_err(|error| corrupt(0, error))?;
            // The link type of each interface of the current section, by interface id.
            let mut interfaces: Vec<FrameLink> = Vec::new();
            while let Some(block) = capture.next_block() {
                let block = block.map_err(|error| corrupt(frames, error))?;
                let (interface_id, data) = match &block {
                    Block::SectionHeader(_) => {
                        interfaces.clear();
                        continue;
                    }
                    Block::InterfaceDescription(interface) => {
                        interfaces.push(link_type(interface.linktype));
                        continue;
                    }
                    Block::EnhancedPacket(packet) => (packet.interface_id, &packet.data),
                    Block::SimplePacket(packet) => (0, &packet.data),
                    _ => continue,
                };
                frames += 1;
                let link = usize::try_from(interface_id)
                    .ok()
                    .and_then(|index| interfaces.get(index).copied())
                    // A packet naming no described interface: an unknown link.
                    .unwrap_or(Err(u32::MAX));
                visit(frames, link, data).map_err(CaptureError::Stopped)?;
            }
        }
        Some(magic) if PCAP_MAGICS.iter().any(|known| *known == magic[..]) => {
            let mut capture = PcapReader::new(reader).map_err(|error| corrupt(0, error))?;
            let link = link_type(capture.header().datalink);
            while let Some(packet) = capture.next_packet() {
                let packet = packet.map_err(|error| corrupt(frames, error))?;
                frames += 1;
                visit(frames, link, &packet.data).map_err(CaptureError::Stopped)?;
            }
        }
        other => return Err(CaptureError::UnknownFormat(other.unwrap_or_default())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::Duration;

    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;

    use super::*;

    fn collect(capture: &[u8]) -> Result<Vec<(usize, FrameLink, Vec<u8>)>, CaptureError> {
        let mut frames = Vec::new();
        for_each_frame(capture, |number, link, data| {
            frames.push((number, link, data.to_vec()));
            Ok(())
        })?;
        Ok(frames)
    }

    #[test]
    fn test_pcap_frames_in_order() {
        let header = PcapHeader {
            datalink: DataLink::LINUX_SLL2,
            ..PcapHeader::default()
        };
        let mut writer = PcapWriter::with_header(Vec::new(), header).unwrap();
        for data in [&[1u8, 2, 3][..], &[4, 5]] {
            let packet = PcapPacket::new(Duration::from_secs(1), data.len() as u32, data);
            writer.write_packet(&packet).unwrap();
        }
        let frames = collect(&writer.into_writer()).unwrap();
        assert_eq!(
            frames,
            vec![
                (1, Ok(LinkType::LinuxSll2), vec![1, 2, 3]),
                (2, Ok(LinkType::LinuxSll2), vec![4, 5]),
            ]
        );
    }

    #[test]
    fn test_pcapng_frames_carry_their_interface_link_type() {
        let mut writer = PcapNgWriter::new(Vec::new()).unwrap();
        for linktype in [DataLink::ETHERNET, DataLink::IEEE802_11] {
            let interface = InterfaceDescriptionBlock {
                linktype,
                snaplen: 0,
                options: vec![],
            };
            writer.write_pcapng_block(interface).unwrap();
        }
        for (interface_id, data) in [(0u32, vec![7u8; 4]), (1, vec![8; 2])] {
            let packet = EnhancedPacketBlock {
                interface_id,
                timestamp: Duration::from_secs(2),
                original_len: data.len() as u32,
                data: Cow::Owned(data),
                options: vec![],
            };
            writer.write_pcapng_block(packet).unwrap();
        }
        let frames = collect(&writer.into_inner()).unwrap();
        assert_eq!(frames[0], (1, Ok(LinkType::Ethernet), vec![7; 4]));
        assert_eq!(frames[1], (2, Err(105), vec![8; 2]));
    }

    #[test]
    fn test_not_a_capture() {
        assert!(matches!(
            collect(b"hello, world"),
            Err(CaptureError::UnknownFormat(magic)) if magic == b"hell"
        ));
        assert!(matches!(collect(b""), Err(CaptureError::UnknownFormat(_))));
    }

    #[test]
    fn test_truncated_capture_is_an_error_after_the_good_frames() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        for _ in 0..2 {
            let packet = PcapPacket::new(Duration::from_secs(1), 60, &[0xAB; 60]);
            writer.write_packet(&packet).unwrap();
        }
        let mut bytes = writer.into_writer();
        bytes.truncate(bytes.len() - 10);
        let mut seen = 0;
        let result = for_each_frame(&bytes[..], |_, _, _| {
            seen += 1;
            Ok(())
        });
        assert_eq!(seen, 1);
        assert!(matches!(
            result,
            Err(CaptureError::Corrupt { frames: 1, .. })
        ));
    }
}
