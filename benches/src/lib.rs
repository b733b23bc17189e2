//! aptp-benches: what the benchmarks measure on, shared with the fuzz seed corpus.
//!
//! [`messages`] builds one valid message of every PTP type, plus the forms real AirPlay 2
//! devices send (ptp-brief §4): Apple's Sync, its 96-byte Follow_Up with the 802.1AS
//! information TLV and Apple's 00-0D-93/000004 TLV, its Announce with a PATH_TRACE, its
//! Signaling with Apple's two TLVs, a HomePod mini's Delay_Resp with controlField 0. Every
//! typed TLV appears at least once. [`capture_stream`] orders them as one second of a real
//! AirPlay capture. [`fuzz_seeds`] gives the seed corpus of each fuzz target
//! (`fuzz/seeds/<target>/<name>`), which the `fuzz_seeds` test keeps in step.
//!
//! ```
//! let samples = aptp_benches::messages()?;
//! let follow_up = aptp_benches::find(&samples, "airplay_follow_up").unwrap();
//! assert_eq!(follow_up.bytes.len(), 96);
//! # Ok::<(), aptp_wire::WireError>(())
//! ```

use aptp_wire::airplay::{
    self, CompactTimestamp, CompactTimingPacket, NtpTimingPacket, APPLE_FLAGS, APPLE_MAJOR_SDO_ID,
    OUI_APPLE, SUB_TYPE_SIGNALING_1, SUB_TYPE_SIGNALING_5,
};
use aptp_wire::{
    AlternateTimeOffsetIndicator, AnnounceBody, CancelUnicastTransmission, ClockIdentity, Flags,
    FollowUpInformation, GrantUnicastTransmission, ManagementAction, ManagementBody,
    ManagementErrorId, ManagementErrorStatus, ManagementId, ManagementTlv, Message,
    MessageIntervalRequest, MessageType, NtpTimestamp, OrganizationExtension, PortIdentity,
    RequestUnicastTransmission, TimeInterval, Timestamp, Tlv, TlvBuf, TlvRepr, TlvType, WireError,
    OUI_IEEE_802_1,
};

/// One named sample: a file name in the seed corpus and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// A short name saying what the bytes are (also the seed file's name).
    pub name: &'static str,
    /// The bytes as they travel on the wire.
    pub bytes: Vec<u8>,
}

/// The sample called `name`, if any.
pub fn find<'a>(samples: &'a [Sample], name: &str) -> Option<&'a Sample> {
    samples.iter().find(|sample| sample.name == name)
}

/// An Apple grandmaster's port: a clock identity ending in 00 08, port number 0x8005.
pub const APPLE_PORT: PortIdentity = PortIdentity::new(
    ClockIdentity([0xa4, 0x83, 0xe7, 0x1d, 0x5c, 0x2b, 0x00, 0x08]),
    0x8005,
);

/// A linuxptp slave's port (an EUI-64 from a MAC address).
pub const LINUX_PORT: PortIdentity = PortIdentity::new(
    ClockIdentity::from_mac([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]),
    1,
);

/// A timestamp like an Apple grandmaster's (its uptime: a few hours).
const APPLE_TIME: Timestamp = Timestamp {
    seconds: 17_453,
    nanoseconds: 123_456_789,
};

/// A little later than [`APPLE_TIME`]: a receive timestamp.
const LATER_TIME: Timestamp = Timestamp {
    seconds: 17_453,
    nanoseconds: 123_987_654,
};

/// Apple's flags on Sync and Delay_Resp: twoStep | unicast | ptpTimescale (0x0608).
const APPLE_EVENT_FLAGS: Flags = Flags(APPLE_FLAGS.0 | Flags::TWO_STEP.0);

/// Encodes `message` into a vector of exactly its length.
fn emit(message: &Message<'_>) -> Result<Vec<u8>, WireError> {
    let mut out = vec![0; message.buffer_len()];
    let len = message.emit(&mut out)?;
    out.truncate(len);
    Ok(out)
}

/// `message` with the TLVs `tlvs`, encoded.
fn emit_with(message: Message<'static>, tlvs: &[TlvRepr<'_>]) -> Result<Vec<u8>, WireError> {
    let mut area = TlvBuf::<256>::new();
    for tlv in tlvs {
        area.push(tlv)?;
    }
    emit(&message.with_tlvs(area.tlvs())?)
}

/// A Sync as an Apple grandmaster sends it: two-step, 0x0608, logMessageInterval −3.
fn apple_sync(sequence_id: u16) -> Message<'static> {
    Message::sync(APPLE_PORT, sequence_id, APPLE_TIME)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_flags(APPLE_EVENT_FLAGS)
        .with_log_message_interval(-3)
}

/// A Follow_Up as an Apple grandmaster sends it: 96 bytes, the 802.1AS information TLV
/// then Apple's 00-0D-93/000004 TLV.
fn apple_follow_up(sequence_id: u16) -> Result<Vec<u8>, WireError> {
    let follow_up = airplay::follow_up(APPLE_PORT, sequence_id, APPLE_TIME, INFORMATION)?;
    let mut out = vec![0; follow_up.buffer_len()];
    let len = follow_up.emit(&mut out)?;
    out.truncate(len);
    Ok(out)
}

/// An Announce as a Mac sends it: 76 bytes with a PATH_TRACE TLV.
fn apple_announce(sequence_id: u16) -> Result<Vec<u8>, WireError> {
    let announce = airplay::announce(APPLE_PORT, sequence_id, 248)?;
    let mut out = vec![0; announce.buffer_len()];
    let len = announce.emit(&mut out)?;
    out.truncate(len);
    Ok(out)
}

/// A linuxptp slave's Delay_Req.
fn delay_req(sequence_id: u16) -> Message<'static> {
    Message::delay_req(LINUX_PORT, sequence_id, Timestamp::ZERO).with_major_sdo_id(1)
}

/// A HomePod mini's answer to [`delay_req`]: flags 0x0608, logMessageInterval −3 and
/// controlField 0 (not 3).
fn apple_delay_resp(sequence_id: u16) -> Message<'static> {
    let mut delay_resp = Message::delay_resp(APPLE_PORT, sequence_id, LATER_TIME, LINUX_PORT)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_flags(APPLE_EVENT_FLAGS)
        .with_log_message_interval(-3);
    delay_resp.header.control_field = 0;
    delay_resp
}

/// The 802.1AS Follow_Up information an Apple grandmaster sends (a small rate offset).
const INFORMATION: FollowUpInformation = FollowUpInformation {
    cumulative_scaled_rate_offset: -1_234,
    gm_time_base_indicator: 0,
    last_gm_phase_change: [0; 12],
    scaled_last_gm_freq_change: 0,
};

/// A Signaling as an Apple device sends it: zero target, sequenceId 0, logMessageInterval
/// −128, flags 0x0408, then Apple's TLVs 00-0D-93/000001 (lengthField 22) and /000005
/// (lengthField 32). Their meaning is not public; the data here is representative bytes.
fn apple_signaling() -> Result<Vec<u8>, WireError> {
    let data_1: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let data_5: [u8; 26] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03,
    ];
    let message = Message::signaling(APPLE_PORT, 0, PortIdentity::ZERO)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_flags(APPLE_FLAGS)
        .with_log_message_interval(-128);
    let org = |organization_sub_type, data| {
        TlvRepr::OrganizationExtension(OrganizationExtension {
            tlv_type: TlvType::ORGANIZATION_EXTENSION,
            organization_id: OUI_APPLE,
            organization_sub_type,
            data,
        })
    };
    emit_with(
        message,
        &[
            org(SUB_TYPE_SIGNALING_1, &data_1),
            org(SUB_TYPE_SIGNALING_5, &data_5),
        ],
    )
}

/// One valid message of every type and every typed TLV, AirPlay's forms included; each
/// passes [`Message::validate`].
pub fn messages() -> Result<Vec<Sample>, WireError> {
    let sample = |name, bytes| Sample { name, bytes };
    let information = INFORMATION;
    let later = LATER_TIME;

    let mut sync_padded = emit(&apple_sync(1))?;
    sync_padded.resize(60, 0);

    let management = ManagementBody {
        target_port_identity: PortIdentity::ALL,
        starting_boundary_hops: 0,
        boundary_hops: 0,
        action_field: ManagementAction::GET,
        action_reserved: 0,
        reserved: 0,
    };
    let response = ManagementBody {
        target_port_identity: LINUX_PORT,
        action_field: ManagementAction::RESPONSE,
        ..management
    };
    // CURRENT_DATA_SET: stepsRemoved 1, offsetFromMaster and meanPathDelay (scaled ns).
    let current_data_set: [u8; 18] = [
        0x00, 0x01, 0, 0, 0, 0, 0, 0x2a, 0x80, 0x00, 0, 0, 0, 0, 0x01, 0x3b, 0x40, 0x00,
    ];

    let unicast = |message_type| RequestUnicastTransmission {
        message_type,
        reserved_nibble: 0,
        log_inter_message_period: -3,
        duration_field: 300,
    };
    let cancel = CancelUnicastTransmission {
        message_type: MessageType::ANNOUNCE,
        reserved_nibble: 0,
        reserved: 0,
    };
    let clocks = [APPLE_PORT.clock_identity, LINUX_PORT.clock_identity];
    let atoi = AlternateTimeOffsetIndicator {
        key_field: 1,
        current_offset: -18_000,
        jump_seconds: 3_600,
        time_of_next_jump: 1_711_846_800,
        display_name: b"EST",
        padding: &[0],
    };

    Ok(vec![
        sample("sync", emit(&apple_sync(1))?),
        sample(
            "sync_one_step",
            emit(
                &Message::sync_one_step(LINUX_PORT, 2, APPLE_TIME)
                    .with_correction_field(TimeInterval(0x0000_0000_0123_8000)),
            )?,
        ),
        sample("sync_padded", sync_padded),
        sample("delay_req", emit(&delay_req(77))?),
        sample(
            "pdelay_req",
            emit(&Message::pdelay_req(LINUX_PORT, 5, APPLE_TIME))?,
        ),
        sample(
            "pdelay_resp",
            emit(&Message::pdelay_resp(APPLE_PORT, 5, later, LINUX_PORT))?,
        ),
        sample(
            "follow_up",
            emit(
                &Message::follow_up(APPLE_PORT, 1, APPLE_TIME)
                    .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
                    .with_flags(APPLE_FLAGS)
                    .with_log_message_interval(-3),
            )?,
        ),
        sample(
            "follow_up_802_1as",
            emit_with(
                Message::follow_up(APPLE_PORT, 1, APPLE_TIME)
                    .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
                    .with_flags(APPLE_FLAGS)
                    .with_log_message_interval(-3),
                &[TlvRepr::FollowUpInformation(information)],
            )?,
        ),
        sample("airplay_follow_up", apple_follow_up(1)?),
        sample("delay_resp_control_field_0", emit(&apple_delay_resp(77))?),
        sample(
            "pdelay_resp_follow_up",
            emit(&Message::pdelay_resp_follow_up(
                APPLE_PORT, 5, later, LINUX_PORT,
            ))?,
        ),
        sample(
            "announce",
            emit(&Message::announce(
                LINUX_PORT,
                3,
                AnnounceBody {
                    grandmaster_identity: LINUX_PORT.clock_identity,
                    ..AnnounceBody::default()
                },
            ))?,
        ),
        sample("airplay_announce", apple_announce(3)?),
        sample(
            "announce_path_trace_atoi_pad",
            emit_with(
                Message::announce(LINUX_PORT, 4, AnnounceBody::default()),
                &[
                    TlvRepr::PathTrace(aptp_wire::PathTrace::from_identities(&clocks)),
                    TlvRepr::AlternateTimeOffsetIndicator(atoi),
                    TlvRepr::Pad(&[0, 0, 0, 0]),
                ],
            )?,
        ),
        sample("airplay_signaling", apple_signaling()?),
        sample(
            "signaling_message_interval_request",
            emit_with(
                Message::signaling(LINUX_PORT, 9, PortIdentity::ALL).with_major_sdo_id(1),
                &[TlvRepr::MessageIntervalRequest(MessageIntervalRequest {
                    link_delay_interval: 127,
                    time_sync_interval: -3,
                    announce_interval: 126,
                    flags: 0x03,
                    reserved: [0, 0],
                })],
            )?,
        ),
        sample(
            "signaling_unicast_negotiation",
            emit_with(
                Message::signaling(LINUX_PORT, 10, APPLE_PORT),
                &[
                    TlvRepr::RequestUnicastTransmission(unicast(MessageType::SYNC)),
                    TlvRepr::GrantUnicastTransmission(GrantUnicastTransmission {
                        message_type: MessageType::ANNOUNCE,
                        reserved_nibble: 0,
                        log_inter_message_period: 1,
                        duration_field: 300,
                        reserved: 0,
                        flags: 1,
                    }),
                    TlvRepr::CancelUnicastTransmission(cancel),
                    TlvRepr::AcknowledgeCancelUnicastTransmission(cancel),
                ],
            )?,
        ),
        sample(
            "signaling_unknown_tlvs",
            emit_with(
                Message::signaling(LINUX_PORT, 11, PortIdentity::ALL),
                &[
                    TlvRepr::OrganizationExtension(OrganizationExtension {
                        tlv_type: TlvType::ORGANIZATION_EXTENSION_PROPAGATE,
                        organization_id: OUI_IEEE_802_1,
                        organization_sub_type: [0, 0, 9],
                        data: &[1, 2, 3, 4],
                    }),
                    TlvRepr::Other(Tlv {
                        tlv_type: TlvType(0x2004),
                        value: &[0xde, 0xad, 0xbe, 0xef],
                    }),
                ],
            )?,
        ),
        sample(
            "management_get",
            emit_with(
                Message::management(LINUX_PORT, 12, management),
                &[TlvRepr::Management(ManagementTlv {
                    management_id: ManagementId::CURRENT_DATA_SET,
                    data: &[],
                })],
            )?,
        ),
        sample(
            "management_response",
            emit_with(
                Message::management(APPLE_PORT, 12, response),
                &[TlvRepr::Management(ManagementTlv {
                    management_id: ManagementId::CURRENT_DATA_SET,
                    data: &current_data_set,
                })],
            )?,
        ),
        sample(
            "management_error_status",
            emit_with(
                Message::management(APPLE_PORT, 13, response),
                &[TlvRepr::ManagementErrorStatus(ManagementErrorStatus {
                    management_error_id: ManagementErrorId::NOT_SUPPORTED,
                    management_id: ManagementId::DEFAULT_DATA_SET,
                    reserved: [0; 4],
                    display_data: &[3, b'n', b'o', b'!'],
                })],
            )?,
        ),
    ])
}

/// AirPlay's 24-byte compact timing packets (a Sync and a Follow_Up).
pub fn compact_timing_packets() -> Result<Vec<Sample>, WireError> {
    let timestamp = CompactTimestamp::from_timestamp(APPLE_TIME).ok_or(
        aptp_wire::ErrorKind::NanosecondsOutOfRange {
            nanoseconds: APPLE_TIME.nanoseconds,
        }
        .at(8),
    )?;
    let packet = |message_type, sequence_id| {
        CompactTimingPacket::new(
            message_type,
            sequence_id,
            timestamp,
            APPLE_PORT.clock_identity,
        )
        .to_bytes()
        .map(|bytes| bytes.to_vec())
    };
    Ok(vec![
        Sample {
            name: "compact_sync",
            bytes: packet(MessageType::SYNC, 0x0102)?,
        },
        Sample {
            name: "compact_follow_up",
            bytes: packet(MessageType::FOLLOW_UP, 0x0102)?,
        },
    ])
}

/// AirPlay 1's 32-byte NTP-style timing request and its reply.
pub fn ntp_timing_packets() -> Vec<Sample> {
    let sent = NtpTimestamp {
        seconds: 3_913_056_000,
        fraction: 0x4000_0000,
    };
    let request = NtpTimingPacket::request(7, sent);
    let reply = NtpTimingPacket::reply_to(
        &request,
        NtpTimestamp {
            seconds: sent.seconds,
            fraction: 0x4010_0000,
        },
        NtpTimestamp {
            seconds: sent.seconds,
            fraction: 0x4011_0000,
        },
    );
    vec![
        Sample {
            name: "ntp_request",
            bytes: request.to_bytes().to_vec(),
        },
        Sample {
            name: "ntp_reply",
            bytes: reply.to_bytes().to_vec(),
        },
    ]
}

/// Clock identities as text: both accepted forms, in both letter cases.
pub fn clock_identity_texts() -> Vec<Sample> {
    let text = |name, text: &str| Sample {
        name,
        bytes: text.as_bytes().to_vec(),
    };
    vec![
        text("plain", "a483e71d5c2b0008"),
        text("dotted", "001122.fffe.334455"),
        text("upper", "A483E71D5C2B0008"),
    ]
}

/// The seed corpus of each fuzz target: `(target, samples)`, written to
/// `fuzz/seeds/<target>/<name>`.
pub fn fuzz_seeds() -> Result<Vec<(&'static str, Vec<Sample>)>, WireError> {
    let messages = messages()?;
    let headers = messages
        .iter()
        .map(|sample| Sample {
            name: sample.name,
            bytes: sample.bytes[..aptp_wire::Header::LENGTH].to_vec(),
        })
        .collect();
    let mut tlv_areas = Vec::new();
    for sample in &messages {
        let message = Message::parse(&sample.bytes)?;
        if !message.tlvs.is_empty() {
            tlv_areas.push(Sample {
                name: sample.name,
                bytes: message.tlvs.as_bytes().to_vec(),
            });
        }
    }
    let mut timing = messages.clone();
    timing.extend(compact_timing_packets()?);
    timing.extend(ntp_timing_packets());
    Ok(vec![
        ("message", messages.clone()),
        ("round_trip", messages),
        ("header", headers),
        ("tlvs", tlv_areas),
        ("compact_timing", compact_timing_packets()?),
        ("ntp_timing", ntp_timing_packets()),
        ("timing_packet", timing),
        ("clock_identity", clock_identity_texts()),
    ])
}

/// One second of a real AirPlay 2 capture between an Apple grandmaster and a receiver, in
/// order: one Signaling, Sync and the 96-byte Follow_Up at 8 Hz, Announce at 4 Hz, and two
/// Delay_Req/Delay_Resp exchanges (25 messages), sequenceIds counting up.
pub fn capture_stream() -> Result<Vec<Vec<u8>>, WireError> {
    let mut stream = vec![apple_signaling()?];
    for tick in 0..8u16 {
        stream.push(emit(&apple_sync(100 + tick))?);
        stream.push(apple_follow_up(100 + tick)?);
        if tick % 2 == 0 {
            stream.push(apple_announce(50 + tick / 2)?);
        }
        if tick % 4 == 1 {
            stream.push(emit(&delay_req(20 + tick))?);
            stream.push(emit(&apple_delay_resp(20 + tick))?);
        }
    }
    Ok(stream)
}
