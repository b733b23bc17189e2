//! Property tests: representation → bytes → representation is the identity for every message
//! type and TLV, and bytes → parse → emit reproduces the bytes whenever parsing succeeds.

use aptp_wire::airplay::{CompactTimestamp, CompactTimingPacket, NtpTimingKind, NtpTimingPacket};
use aptp_wire::*;
use proptest::prelude::*;

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // Permissive: any nanoseconds value survives the round trip.
    (0..=Timestamp::MAX_SECONDS, any::<u32>()).prop_map(|(seconds, nanoseconds)| Timestamp {
        seconds,
        nanoseconds,
    })
}

fn port_identity() -> impl Strategy<Value = PortIdentity> {
    (any::<[u8; 8]>(), any::<u16>())
        .prop_map(|(id, port)| PortIdentity::new(ClockIdentity(id), port))
}

fn header() -> impl Strategy<Value = Header> {
    (
        (
            0u8..16,
            0u8..16,
            0u8..16,
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
        ),
        (
            any::<i64>(),
            any::<u32>(),
            port_identity(),
            any::<u16>(),
            any::<u8>(),
            any::<i8>(),
        ),
    )
        .prop_map(
            |(
                (major, minor, version, domain, minor_sdo, flags),
                (correction, specific, source, seq, control, lmi),
            )| {
                let mut h = Header::new(MessageType::SYNC);
                h.major_sdo_id = major;
                h.minor_version_ptp = minor;
                h.version_ptp = version;
                h.domain_number = domain;
                h.minor_sdo_id = minor_sdo;
                h.flags = Flags(flags);
                h.correction_field = TimeInterval(correction);
                h.message_type_specific = specific;
                h.source_port_identity = source;
                h.sequence_id = seq;
                h.control_field = control;
                h.log_message_interval = lmi;
                h
            },
        )
}

fn announce_body() -> impl Strategy<Value = AnnounceBody> {
    (
        (timestamp(), any::<i16>(), any::<u8>(), any::<u8>()),
        (any::<u8>(), any::<u8>(), any::<u16>(), any::<u8>()),
        (any::<[u8; 8]>(), any::<u16>(), any::<u8>()),
    )
        .prop_map(
            |((t, utc, reserved, p1), (class, accuracy, variance, p2), (gm, steps, source))| {
                AnnounceBody {
                    origin_timestamp: t,
                    current_utc_offset: utc,
                    reserved,
                    grandmaster_priority1: p1,
                    grandmaster_clock_quality: ClockQuality {
                        clock_class: class,
                        clock_accuracy: ClockAccuracy(accuracy),
                        offset_scaled_log_variance: variance,
                    },
                    grandmaster_priority2: p2,
                    grandmaster_identity: ClockIdentity(gm),
                    steps_removed: steps,
                    time_source: TimeSource(source),
                }
            },
        )
}

fn known_body() -> impl Strategy<Value = Body<'static>> {
    prop_oneof![
        timestamp().prop_map(|origin_timestamp| Body::Sync { origin_timestamp }),
        timestamp().prop_map(|origin_timestamp| Body::DelayReq { origin_timestamp }),
        (timestamp(), any::<[u8; 10]>()).prop_map(|(origin_timestamp, reserved)| Body::PdelayReq {
            origin_timestamp,
            reserved
        }),
        (timestamp(), port_identity()).prop_map(|(t, p)| Body::PdelayResp {
            request_receipt_timestamp: t,
            requesting_port_identity: p
        }),
        timestamp().prop_map(|precise_origin_timestamp| Body::FollowUp {
            precise_origin_timestamp
        }),
        (timestamp(), port_identity()).prop_map(|(t, p)| Body::DelayResp {
            receive_timestamp: t,
            requesting_port_identity: p
        }),
        (timestamp(), port_identity()).prop_map(|(t, p)| Body::PdelayRespFollowUp {
            response_origin_timestamp: t,
            requesting_port_identity: p
        }),
        announce_body().prop_map(Body::Announce),
        port_identity().prop_map(|target_port_identity| Body::Signaling {
            target_port_identity
        }),
        (
            port_identity(),
            any::<u8>(),
            any::<u8>(),
            0u8..16,
            0u8..16,
            any::<u8>()
        )
            .prop_map(|(target, start, hops, action, high, reserved)| {
                Body::Management(ManagementBody {
                    target_port_identity: target,
                    starting_boundary_hops: start,
                    boundary_hops: hops,
                    action_field: ManagementAction(action),
                    action_reserved: high,
                    reserved,
                })
            }),
    ]
}

/// Owned parameters of a typed TLV; [`OwnedTlv::repr`] borrows them as a `TlvRepr`.
#[derive(Debug, Clone)]
struct OwnedTlv {
    kind: u8,
    words: (u16, u16, u32, i32, i32, u64),
    small: [u8; 12],
    data: Vec<u8>,
    ids: Vec<ClockIdentity>,
}

fn even_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(|mut v| {
        if v.len() % 2 == 1 {
            v.pop();
        }
        v
    })
}

fn owned_tlv() -> impl Strategy<Value = OwnedTlv> {
    (
        0u8..14,
        (
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<i32>(),
            any::<i32>(),
            0..=Timestamp::MAX_SECONDS,
        ),
        any::<[u8; 12]>(),
        even_bytes(40),
        prop::collection::vec(any::<[u8; 8]>().prop_map(ClockIdentity), 0..4),
    )
        .prop_map(|(kind, words, small, data, ids)| OwnedTlv {
            kind,
            words,
            small,
            data,
            ids,
        })
}

impl OwnedTlv {
    fn repr(&self) -> TlvRepr<'_> {
        let (a, b, c, d, e, f) = self.words;
        let s = self.small;
        let nibble_type = MessageType(s[0] >> 4);
        match self.kind {
            0 => TlvRepr::Management(ManagementTlv {
                management_id: ManagementId(a),
                data: &self.data,
            }),
            1 => TlvRepr::ManagementErrorStatus(ManagementErrorStatus {
                management_error_id: ManagementErrorId(a),
                management_id: ManagementId(b),
                reserved: [s[0], s[1], s[2], s[3]],
                display_data: &self.data,
            }),
            2 => TlvRepr::FollowUpInformation(FollowUpInformation {
                cumulative_scaled_rate_offset: d,
                gm_time_base_indicator: a,
                last_gm_phase_change: s,
                scaled_last_gm_freq_change: e,
            }),
            3 => TlvRepr::MessageIntervalRequest(MessageIntervalRequest {
                link_delay_interval: s[0] as i8,
                time_sync_interval: s[1] as i8,
                announce_interval: s[2] as i8,
                flags: s[3],
                reserved: [s[4], s[5]],
            }),
            4 => TlvRepr::AppleClockIdentity(airplay::AppleClockIdentity {
                clock_identity: ClockIdentity([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
                reserved: [s[8], s[9]],
            }),
            5 => TlvRepr::OrganizationExtension(OrganizationExtension {
                tlv_type: TlvType::ORGANIZATION_EXTENSION,
                // Apple's OUI with a subtype the crate keeps raw (never 4).
                organization_id: airplay::OUI_APPLE,
                organization_sub_type: [0, 0, if s[0] == 4 { 5 } else { s[0] }],
                data: &self.data,
            }),
            6 => TlvRepr::RequestUnicastTransmission(RequestUnicastTransmission {
                message_type: nibble_type,
                reserved_nibble: s[0] & 0x0f,
                log_inter_message_period: s[1] as i8,
                duration_field: c,
            }),
            7 => TlvRepr::GrantUnicastTransmission(GrantUnicastTransmission {
                message_type: nibble_type,
                reserved_nibble: s[0] & 0x0f,
                log_inter_message_period: s[1] as i8,
                duration_field: c,
                reserved: s[2],
                flags: s[3],
            }),
            8 => TlvRepr::CancelUnicastTransmission(CancelUnicastTransmission {
                message_type: nibble_type,
                reserved_nibble: s[0] & 0x0f,
                reserved: s[1],
            }),
            9 => TlvRepr::AcknowledgeCancelUnicastTransmission(CancelUnicastTransmission {
                message_type: nibble_type,
                reserved_nibble: s[0] & 0x0f,
                reserved: s[1],
            }),
            10 => TlvRepr::PathTrace(PathTrace::from_identities(&self.ids)),
            11 => {
                // displayName plus padding must be even: split the even data.
                let cut = usize::from(s[0]) % (self.data.len() + 1);
                let name = &self.data[..cut];
                let padding: &[u8] = if cut % 2 == 1 { &[0] } else { &[] };
                TlvRepr::AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicator {
                    key_field: s[1],
                    current_offset: d,
                    jump_seconds: e,
                    time_of_next_jump: f,
                    display_name: name,
                    padding,
                })
            }
            12 => TlvRepr::Pad(&self.data),
            _ => TlvRepr::Other(Tlv {
                tlv_type: TlvType(0x2000 | a & 0x0fff),
                value: &self.data,
            }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn message_repr_bytes_repr(header in header(), body in known_body(), tlvs in prop::collection::vec(owned_tlv(), 0..4), suffix in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut area = TlvBuf::<512>::new();
        for tlv in &tlvs {
            area.push(&tlv.repr()).unwrap();
        }
        let mut message = Message::new(body, header.source_port_identity, header.sequence_id)
            .with_tlvs(area.tlvs())
            .unwrap();
        let length = message.header.message_length;
        message.header = Header { message_type: body.message_type().unwrap(), message_length: length, ..header };
        message.suffix = &suffix;
        let mut out = vec![0u8; message.buffer_len()];
        prop_assert_eq!(message.emit(&mut out), Ok(out.len()));
        let parsed = Message::parse(&out).unwrap();
        prop_assert_eq!(parsed, message);
        let mut buf = Vec::new();
        prop_assert_eq!(message.emit_buf(&mut buf), Ok(out.len()));
        prop_assert_eq!(&buf, &out);
        // Every TLV decodes back to its representation.
        let decoded: Vec<_> = parsed.tlvs.map(|t| t.and_then(|t| t.decode())).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(decoded.len(), tlvs.len());
        for (got, want) in decoded.iter().zip(&tlvs) {
            prop_assert_eq!(*got, want.repr());
        }
    }

    #[test]
    fn tlv_repr_bytes_repr(tlv in owned_tlv()) {
        let repr = tlv.repr();
        let mut out = vec![0u8; repr.buffer_len()];
        prop_assert_eq!(repr.emit(&mut out), Ok(out.len()));
        let mut tlvs = Tlvs::new(&out);
        let raw = tlvs.next().unwrap().unwrap();
        prop_assert!(tlvs.next().is_none());
        prop_assert_eq!(raw.decode(), Ok(repr));
        // A short buffer is an error, never a panic.
        let mut short = vec![0u8; out.len() - 1];
        prop_assert!(repr.emit(&mut short).is_err());
    }

    #[test]
    fn bytes_parse_emit_is_exact(mut bytes in prop::collection::vec(any::<u8>(), 34..160), cut in 0usize..20, message_type in 0u8..16) {
        // Make most inputs parse: a messageLength within the input and a chosen type.
        let length = bytes.len().saturating_sub(cut).max(34);
        bytes[0] = (bytes[0] & 0xf0) | message_type;
        bytes[2..4].copy_from_slice(&(length as u16).to_be_bytes());
        if let Ok(message) = Message::parse(&bytes) {
            let mut out = vec![0u8; message.buffer_len()];
            prop_assert_eq!(message.emit(&mut out), Ok(bytes.len()));
            prop_assert_eq!(&out, &bytes);
            // Strict validation never panics and each TLV decode either works and
            // re-encodes exactly, or fails with a typed error.
            let _ = message.validate();
            for tlv in message.tlvs.map_while(Result::ok) {
                if let Ok(repr) = tlv.decode() {
                    let mut again = vec![0u8; repr.buffer_len()];
                    prop_assert_eq!(repr.emit(&mut again), Ok(tlv.buffer_len()));
                    let mut raw = vec![0u8; tlv.buffer_len()];
                    tlv.emit(&mut raw).unwrap();
                    prop_assert_eq!(again, raw);
                }
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(message) = Message::parse(&bytes) {
            let _ = message.validate();
            let mut out = vec![0u8; message.buffer_len()];
            prop_assert_eq!(message.emit(&mut out), Ok(bytes.len()));
            prop_assert_eq!(out, bytes.clone());
        }
        let _ = Tlvs::new(&bytes).validate();
        let _ = airplay::TimingPacket::parse(&bytes);
    }

    #[test]
    fn ntp_conversions(seconds in any::<u32>(), nanoseconds in 0u32..1_000_000_000, fraction in any::<u32>()) {
        let t = Timestamp { seconds: u64::from(seconds), nanoseconds };
        let ntp = NtpTimestamp::from_timestamp(t).unwrap();
        prop_assert_eq!(ntp.to_timestamp(), t);
        let n = NtpTimestamp { seconds, fraction };
        let back = NtpTimestamp::from_timestamp(n.to_timestamp());
        let total = |x: NtpTimestamp| (i128::from(x.seconds) << 32) + i128::from(x.fraction);
        if let Some(back) = back {
            // Within half a nanosecond (2.15 units) plus half a unit.
            prop_assert!((total(back) - total(n)).abs() <= 3);
        }
    }

    #[test]
    fn compact_conversions(seconds in 0..=Timestamp::MAX_SECONDS, fraction in any::<u16>(), nanoseconds in 0u32..1_000_000_000) {
        let compact = CompactTimestamp::new(seconds, fraction).unwrap();
        prop_assert_eq!(CompactTimestamp::from_timestamp(compact.to_timestamp()), Some(compact));
        let t = Timestamp { seconds, nanoseconds };
        match CompactTimestamp::from_timestamp(t) {
            Some(c) => {
                let error = c.to_timestamp().nanoseconds_since(&t);
                prop_assert!(error.abs() <= 7630, "error {error} ns");
            }
            None => prop_assert_eq!(seconds, Timestamp::MAX_SECONDS),
        }
    }

    #[test]
    fn network_time_conversions(seconds in 0..=Timestamp::MAX_SECONDS, nanoseconds in 0u32..1_000_000_000) {
        let t = Timestamp { seconds, nanoseconds };
        let (secs, frac) = airplay::timestamp_to_network_time(t).unwrap();
        prop_assert_eq!(airplay::network_time_to_timestamp(secs, frac), Some(t));
    }

    #[test]
    fn timing_packets(bytes in any::<[u8; 32]>(), sequence in any::<u16>(), times in any::<[u64; 3]>(), reply in any::<bool>(), marker in any::<bool>()) {
        let packet = NtpTimingPacket {
            kind: if reply { NtpTimingKind::Reply } else { NtpTimingKind::Request },
            marker,
            sequence_number: sequence,
            reserved: [bytes[0], bytes[1], bytes[2], bytes[3]],
            reference_time: NtpTimestamp::from_bits(times[0]),
            receive_time: NtpTimestamp::from_bits(times[1]),
            transmit_time: NtpTimestamp::from_bits(times[2]),
        };
        prop_assert_eq!(NtpTimingPacket::parse(&packet.to_bytes()), Ok(packet));
        if let Ok(parsed) = NtpTimingPacket::parse(&bytes) {
            prop_assert_eq!(parsed.to_bytes(), bytes);
        }
        if let Ok(parsed) = CompactTimingPacket::parse(&bytes[..24]) {
            prop_assert_eq!(&parsed.to_bytes().unwrap()[..], &bytes[..24]);
            prop_assert_eq!(CompactTimingPacket::parse(&parsed.to_bytes().unwrap()), Ok(parsed));
        }
    }

    #[test]
    fn compact_packet_repr_bytes_repr(message_type in 0u8..16, sequence_id in any::<u16>(), timestamp in 0u64..(1 << 48), id in any::<[u8; 8]>(), reserved in any::<[u8; 8]>()) {
        let mut reserved = reserved;
        reserved[0] &= 0x0f;
        let packet = CompactTimingPacket {
            message_type: MessageType(message_type),
            sequence_id,
            timestamp: CompactTimestamp(timestamp),
            clock_identity: ClockIdentity(id),
            reserved,
        };
        let bytes = packet.to_bytes().unwrap();
        prop_assert_eq!(CompactTimingPacket::parse(&bytes), Ok(packet));
    }

    #[test]
    fn clock_identity_text(id in any::<[u8; 8]>()) {
        let id = ClockIdentity(id);
        prop_assert_eq!(id.to_string().parse::<ClockIdentity>(), Ok(id));
        prop_assert_eq!(id.dotted().to_string().parse::<ClockIdentity>(), Ok(id));
    }
}
