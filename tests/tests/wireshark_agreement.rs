//! Wireshark agreement: messages of every type and every typed TLV, built with aptp-wire's
//! builders, written into a pcap, decoded by tshark; every PTP field tshark reports must equal
//! what aptp-wire parses from the same bytes, and every field tshark reports must be checked.
//!
//! tshark (4.0) decodes Follow_Up TLVs only for PTP over Ethernet (ethertype 0x88F7, where it
//! applies 802.1AS), so the Follow_Ups are written twice: over UDP and over Ethernet.

use std::collections::BTreeMap;

use aptp_tests::tshark::{self, canonical, TsharkPacket};
use aptp_wire::airplay::{self, OUI_APPLE, SUB_TYPE_SIGNALING_1, SUB_TYPE_SIGNALING_5};
use aptp_wire::{
    AlternateTimeOffsetIndicator, AnnounceBody, Body, CancelUnicastTransmission, ClockAccuracy,
    ClockIdentity, ClockQuality, Flags, FollowUpInformation, GrantUnicastTransmission,
    ManagementAction, ManagementBody, ManagementErrorId, ManagementErrorStatus, ManagementId,
    ManagementTlv, Message, MessageIntervalRequest, MessageType, OrganizationExtension, PathTrace,
    PortIdentity, RequestUnicastTransmission, TimeInterval, TimeSource, Timestamp, Tlv, TlvBuf,
    TlvRepr, TlvType, OUI_IEEE_802_1,
};

/// Fields tshark derives from others for display; the fields they come from are checked.
const DERIVED: &[&str] = &[
    "ptp.v2.clockidentity_manuf",
    "ptp.v2.sig.tlv.logInterMessagePeriod.period",
    "ptp.v2.sig.tlv.logInterMessagePeriod.rate",
];

/// How a test message travels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Carrier {
    Udp,
    Ethernet,
}

/// One message of the test: a name for failure messages, its bytes, how it travels.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    carrier: Carrier,
}

fn emit(message: &Message<'_>) -> Vec<u8> {
    let mut bytes = vec![0; message.buffer_len()];
    let written = message
        .emit(&mut bytes)
        .expect("the test's messages encode");
    bytes.truncate(written);
    bytes
}

fn timestamp(seconds: u64, nanoseconds: u32) -> Timestamp {
    Timestamp::new(seconds, nanoseconds).expect("a valid timestamp")
}

fn cases() -> Vec<Case> {
    let me = PortIdentity::new(
        ClockIdentity([0x00, 0x1b, 0x19, 0xff, 0xfe, 0x12, 0x34, 0x56]),
        1,
    );
    let apple = PortIdentity::new(
        ClockIdentity([0xa4, 0x83, 0xe7, 0x11, 0x22, 0x33, 0x00, 0x08]),
        0x8005,
    );
    let requester = PortIdentity::new(
        ClockIdentity([0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0xff]),
        7,
    );
    let t = timestamp(0x0001_6553_f100, 999_999_999);
    let mut cases = Vec::new();
    let mut add = |name, message: Message<'_>, carrier| {
        cases.push(Case {
            name,
            bytes: emit(&message),
            carrier,
        })
    };

    add(
        "sync",
        Message::sync(me, 1, t)
            .with_domain_number(24)
            .with_correction_field(TimeInterval(0x0000_0123_4567_89ab))
            .with_flags(Flags(0x0208 | Flags::TIME_TRACEABLE.0 | Flags::LEAP61.0)),
        Carrier::Udp,
    );
    add(
        "sync with every flag",
        Message::sync(me, 2, timestamp(0, 0)).with_flags(Flags(0xe77f)),
        Carrier::Udp,
    );
    add(
        "delay_req",
        Message::delay_req(requester, 3, timestamp(1, 2)),
        Carrier::Udp,
    );
    add(
        "pdelay_req",
        Message::pdelay_req(me, 4, timestamp(5, 6)),
        Carrier::Udp,
    );
    add(
        "pdelay_resp",
        Message::pdelay_resp(me, 5, t, requester),
        Carrier::Udp,
    );
    add(
        "pdelay_resp_follow_up",
        Message::pdelay_resp_follow_up(me, 6, t, requester),
        Carrier::Udp,
    );
    add(
        "follow_up",
        Message::follow_up(me, 7, t).with_correction_field(TimeInterval(-0x10000)),
        Carrier::Udp,
    );
    let mut delay_resp = Message::delay_resp(apple, 8, t, requester)
        .with_major_sdo_id(1)
        .with_flags(Flags(0x0608))
        .with_log_message_interval(-3);
    // A HomePod mini's Delay_Resp carries controlField 0.
    delay_resp.header.control_field = 0;
    add("delay_resp (HomePod)", delay_resp, Carrier::Udp);

    let path = [me.clock_identity, apple.clock_identity];
    let mut path_trace = TlvBuf::<24>::new();
    path_trace
        .push(&TlvRepr::PathTrace(PathTrace::from_identities(&path)))
        .expect("fits");
    let announce = Message::announce(
        me,
        9,
        AnnounceBody {
            origin_timestamp: t,
            current_utc_offset: -3,
            reserved: 0,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: ClockAccuracy::WITHIN_25_NS,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority2: 127,
            grandmaster_identity: apple.clock_identity,
            steps_removed: 3,
            time_source: TimeSource::GNSS,
        },
    )
    .with_tlvs(path_trace.tlvs())
    .expect("consistent");
    add("announce with PATH_TRACE", announce, Carrier::Udp);

    let name = b"CET";
    let apple_1 = [0x11u8; 16];
    let apple_5 = [0x55u8; 26];
    let signaling_tlvs = [
        TlvRepr::RequestUnicastTransmission(RequestUnicastTransmission {
            message_type: MessageType::ANNOUNCE,
            reserved_nibble: 0,
            log_inter_message_period: -3,
            duration_field: 60,
        }),
        TlvRepr::GrantUnicastTransmission(GrantUnicastTransmission {
            message_type: MessageType::SYNC,
            reserved_nibble: 0,
            log_inter_message_period: -2,
            duration_field: 300,
            reserved: 0,
            flags: 1,
        }),
        TlvRepr::CancelUnicastTransmission(CancelUnicastTransmission {
            message_type: MessageType::DELAY_RESP,
            reserved_nibble: 0,
            reserved: 0,
        }),
        TlvRepr::AcknowledgeCancelUnicastTransmission(CancelUnicastTransmission {
            message_type: MessageType::SYNC,
            reserved_nibble: 0,
            reserved: 0,
        }),
        TlvRepr::AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicator {
            key_field: 1,
            current_offset: 3600,
            jump_seconds: -3600,
            time_of_next_jump: 1_700_000_000,
            display_name: name,
            padding: &[0],
        }),
        TlvRepr::MessageIntervalRequest(MessageIntervalRequest {
            link_delay_interval: 127,
            time_sync_interval: -3,
            announce_interval: 126,
            flags: 3,
            reserved: [0, 0],
        }),
        TlvRepr::OrganizationExtension(OrganizationExtension {
            tlv_type: TlvType::ORGANIZATION_EXTENSION,
            organization_id: OUI_APPLE,
            organization_sub_type: SUB_TYPE_SIGNALING_1,
            data: &apple_1,
        }),
        TlvRepr::OrganizationExtension(OrganizationExtension {
            tlv_type: TlvType::ORGANIZATION_EXTENSION,
            organization_id: OUI_APPLE,
            organization_sub_type: SUB_TYPE_SIGNALING_5,
            data: &apple_5,
        }),
        TlvRepr::Pad(&[0; 6]),
    ];
    let mut area = TlvBuf::<256>::new();
    for tlv in &signaling_tlvs {
        area.push(tlv).expect("fits");
    }
    area.push_raw(Tlv {
        tlv_type: TlvType(0x7ff0),
        value: &[1, 2, 3, 4],
    })
    .expect("fits");
    let signaling = Message::signaling(apple, 10, PortIdentity::ZERO)
        .with_major_sdo_id(1)
        .with_flags(airplay::APPLE_FLAGS)
        .with_log_message_interval(-128)
        .with_tlvs(area.tlvs())
        .expect("consistent");
    add("signaling with every unicast TLV", signaling, Carrier::Udp);

    let management_body = ManagementBody {
        target_port_identity: PortIdentity::ALL,
        starting_boundary_hops: 1,
        boundary_hops: 1,
        action_field: ManagementAction::GET,
        action_reserved: 0,
        reserved: 0,
    };
    let mut get = TlvBuf::<8>::new();
    get.push(&TlvRepr::Management(ManagementTlv {
        management_id: ManagementId::CURRENT_DATA_SET,
        data: &[],
    }))
    .expect("fits");
    let management = Message::management(requester, 11, management_body)
        .with_tlvs(get.tlvs())
        .expect("consistent");
    add("management GET", management, Carrier::Udp);

    let display = [3, b'b', b'a', b'd'];
    let mut error_status = TlvBuf::<16>::new();
    error_status
        .push(&TlvRepr::ManagementErrorStatus(ManagementErrorStatus {
            management_error_id: ManagementErrorId::NO_SUCH_ID,
            management_id: ManagementId::DEFAULT_DATA_SET,
            reserved: [0; 4],
            display_data: &display,
        }))
        .expect("fits");
    let error_response = Message::management(
        me,
        12,
        ManagementBody {
            action_field: ManagementAction::RESPONSE,
            ..management_body
        },
    )
    .with_tlvs(error_status.tlvs())
    .expect("consistent");
    add("management error status", error_response, Carrier::Udp);

    let mut information = FollowUpInformation {
        cumulative_scaled_rate_offset: -12345,
        gm_time_base_indicator: 3,
        last_gm_phase_change: [0; 12],
        scaled_last_gm_freq_change: 777,
    };
    information
        .set_last_gm_phase_change_scaled(-0x1_0000_0001)
        .expect("in range");
    let mut gptp = TlvBuf::<32>::new();
    gptp.push(&TlvRepr::FollowUpInformation(information))
        .expect("fits");
    let gptp_follow_up = Message::follow_up(me, 13, t)
        .with_major_sdo_id(1)
        .with_tlvs(gptp.tlvs())
        .expect("consistent");
    let airplay_follow_up =
        airplay::follow_up(apple, 14, t, information).expect("an AirPlay Follow_Up");
    let airplay_announce = airplay::announce(apple, 15, 248).expect("an AirPlay Announce");
    for carrier in [Carrier::Udp, Carrier::Ethernet] {
        add("802.1AS follow_up", gptp_follow_up, carrier);
        add("AirPlay follow_up", airplay_follow_up.message(), carrier);
    }
    add("AirPlay announce", airplay_announce.message(), Carrier::Udp);
    cases
}

/// Every field tshark should report for `message`, by tshark's field names, with values in
/// [`canonical`] form, in order.
fn expected_fields(message: &Message<'_>, carrier: Carrier) -> Vec<(String, String)> {
    let mut fields = Fields::default();
    let header = &message.header;
    fields.put("ptp.v2.majorsdoid", header.major_sdo_id);
    fields.put("ptp.v2.messagetype", header.message_type.0);
    fields.put("ptp.v2.minorversionptp", header.minor_version_ptp);
    fields.put("ptp.v2.versionptp", header.version_ptp);
    fields.put("ptp.v2.messagelength", header.message_length);
    fields.put("ptp.v2.domainnumber", header.domain_number);
    fields.put("ptp.v2.minorsdoid", header.minor_sdo_id);
    fields.put("ptp.v2.flags", header.flags.0);
    for (name, bit) in [
        ("security", Flags::SECURITY),
        ("specific2", Flags::PROFILE_SPECIFIC_2),
        ("specific1", Flags::PROFILE_SPECIFIC_1),
        ("unicast", Flags::UNICAST),
        ("twostep", Flags::TWO_STEP),
        ("alternatemaster", Flags::ALTERNATE_MASTER),
        ("synchronizationUncertain", Flags::SYNCHRONIZATION_UNCERTAIN),
        ("frequencytraceable", Flags::FREQUENCY_TRACEABLE),
        ("timetraceable", Flags::TIME_TRACEABLE),
        ("timescale", Flags::PTP_TIMESCALE),
        ("utcreasonable", Flags::CURRENT_UTC_OFFSET_VALID),
        ("li59", Flags::LEAP59),
        ("li61", Flags::LEAP61),
    ] {
        fields.put(
            &format!("ptp.v2.flags.{name}"),
            u8::from(header.flags.contains(bit)),
        );
    }
    // correctionField is shown as whole nanoseconds (correctionField >> 16) and a fraction;
    // Wireshark declares the nanoseconds unsigned (FT_UINT64), so a negative correction shows
    // as its two's complement.
    fields.put(
        "ptp.v2.correction.ns",
        (header.correction_field.0 >> 16) as u64,
    );
    fields.put("ptp.v2.messagetypespecific", header.message_type_specific);
    fields.clock(
        "ptp.v2.clockidentity",
        &header.source_port_identity.clock_identity,
    );
    fields.put(
        "ptp.v2.sourceportid",
        header.source_port_identity.port_number,
    );
    fields.put("ptp.v2.sequenceid", header.sequence_id);
    fields.put("ptp.v2.controlfield", header.control_field);
    fields.put("ptp.v2.logmessageperiod", header.log_message_interval);

    match &message.body {
        Body::Sync { origin_timestamp } | Body::DelayReq { origin_timestamp } => {
            fields.timestamp("ptp.v2.sdr.origintimestamp", origin_timestamp);
        }
        Body::PdelayReq {
            origin_timestamp, ..
        } => fields.timestamp("ptp.v2.pdrq.origintimestamp", origin_timestamp),
        Body::PdelayResp {
            request_receipt_timestamp,
            requesting_port_identity,
        } => {
            fields.timestamp(
                "ptp.v2.pdrs.requestreceipttimestamp",
                request_receipt_timestamp,
            );
            fields.clock(
                "ptp.v2.pdrs.requestingportidentity",
                &requesting_port_identity.clock_identity,
            );
            fields.put(
                "ptp.v2.pdrs.requestingsourceportid",
                requesting_port_identity.port_number,
            );
        }
        Body::FollowUp {
            precise_origin_timestamp,
        } => {
            fields.timestamp("ptp.v2.fu.preciseorigintimestamp", precise_origin_timestamp);
            // The whole timestamp in nanoseconds, modulo 2^32.
            let low_32_bits = precise_origin_timestamp.total_nanoseconds() % (1 << 32);
            fields.put("ptp.v2.fu.preciseorigintimestamp.32bit", low_32_bits);
        }
        Body::DelayResp {
            receive_timestamp,
            requesting_port_identity,
        } => {
            fields.timestamp("ptp.v2.dr.receivetimestamp", receive_timestamp);
            fields.clock(
                "ptp.v2.dr.requestingsourceportidentity",
                &requesting_port_identity.clock_identity,
            );
            fields.put(
                "ptp.v2.dr.requestingsourceportid",
                requesting_port_identity.port_number,
            );
        }
        Body::PdelayRespFollowUp {
            response_origin_timestamp,
            requesting_port_identity,
        } => {
            fields.timestamp(
                "ptp.v2.pdfu.responseorigintimestamp",
                response_origin_timestamp,
            );
            fields.clock(
                "ptp.v2.pdfu.requestingportidentity",
                &requesting_port_identity.clock_identity,
            );
            fields.put(
                "ptp.v2.pdfu.requestingsourceportid",
                requesting_port_identity.port_number,
            );
        }
        Body::Announce(announce) => {
            fields.timestamp("ptp.v2.an.origintimestamp", &announce.origin_timestamp);
            fields.put(
                "ptp.v2.an.origincurrentutcoffset",
                announce.current_utc_offset,
            );
            fields.put("ptp.v2.an.priority1", announce.grandmaster_priority1);
            let quality = &announce.grandmaster_clock_quality;
            fields.put("ptp.v2.an.grandmasterclockclass", quality.clock_class);
            fields.put(
                "ptp.v2.an.grandmasterclockaccuracy",
                quality.clock_accuracy.0,
            );
            fields.put(
                "ptp.v2.an.grandmasterclockvariance",
                quality.offset_scaled_log_variance,
            );
            fields.put("ptp.v2.an.priority2", announce.grandmaster_priority2);
            fields.clock(
                "ptp.v2.an.grandmasterclockidentity",
                &announce.grandmaster_identity,
            );
            fields.put("ptp.v2.an.localstepsremoved", announce.steps_removed);
            fields.put("ptp.v2.timesource", announce.time_source.0);
        }
        Body::Signaling {
            target_port_identity,
        } => {
            fields.clock(
                "ptp.v2.sig.targetportidentity",
                &target_port_identity.clock_identity,
            );
            fields.put("ptp.v2.sig.targetportid", target_port_identity.port_number);
        }
        Body::Management(management) => {
            fields.clock(
                "ptp.v2.mm.targetportidentity",
                &management.target_port_identity.clock_identity,
            );
            fields.put(
                "ptp.v2.mm.targetportid",
                management.target_port_identity.port_number,
            );
            fields.put(
                "ptp.v2.mm.startingboundaryhops",
                management.starting_boundary_hops,
            );
            fields.put("ptp.v2.mm.boundaryhops", management.boundary_hops);
            fields.put("ptp.v2.mm.action", management.action_field.0);
        }
        Body::Unknown { .. } => panic!("the test builds only known message types"),
    }

    for tlv in message.tlvs {
        let tlv = tlv.expect("the test's TLV areas are well formed");
        let repr = tlv.decode().expect("the test's TLVs decode");
        expect_tlv(&mut fields, message.message_type(), carrier, tlv, &repr);
    }
    fields.0
}

/// The fields tshark shows for one TLV, which depend on the message carrying it.
fn expect_tlv(
    fields: &mut Fields,
    message_type: MessageType,
    carrier: Carrier,
    tlv: Tlv<'_>,
    repr: &TlvRepr<'_>,
) {
    match message_type {
        MessageType::ANNOUNCE => {
            fields.put("ptp.v2.an.tlvType", tlv.tlv_type.0);
            fields.put("ptp.v2.an.lengthField", tlv.length_field());
            let TlvRepr::PathTrace(path) = repr else {
                panic!("the test's Announces carry PATH_TRACE only");
            };
            for identity in path.iter() {
                fields.clock("ptp.v2.an.pathsequence", &identity);
            }
        }
        MessageType::FOLLOW_UP => {
            // tshark decodes Follow_Up TLVs only over Ethernet, and only 802.1AS's.
            if carrier == Carrier::Udp {
                return;
            }
            let TlvRepr::FollowUpInformation(info) = repr else {
                return;
            };
            fields.put("ptp.as.fu.tlvType", tlv.tlv_type.0);
            fields.put("ptp.as.fu.lengthField", tlv.length_field());
            fields.put("ptp.as.fu.organizationId", oui(&OUI_IEEE_802_1));
            fields.put("ptp.as.fu.organizationSubType", 1);
            // An Integer32 in 802.1AS, declared unsigned (FT_UINT32) by Wireshark: compare
            // the bits.
            fields.put(
                "ptp.as.fu.cumulativeScaledRateOffset",
                info.cumulative_scaled_rate_offset as u32,
            );
            fields.put("ptp.as.fu.gmTimeBaseIndicator", info.gm_time_base_indicator);
            fields.bytes("ptp.as.fu.lastGmPhaseChange", &info.last_gm_phase_change);
            fields.put(
                "ptp.as.fu.scaledLastGmFreqChange",
                info.scaled_last_gm_freq_change,
            );
        }
        MessageType::SIGNALING => {
            fields.put("ptp.v2.sig.tlv.tlvType", tlv.tlv_type.0);
            fields.put("ptp.v2.sig.tlv.lengthField", tlv.length_field());
            match repr {
                TlvRepr::RequestUnicastTransmission(request) => {
                    fields.put("ptp.v2.sig.tlv.messageType", request.message_type.0);
                    fields.put(
                        "ptp.v2.sig.tlv.logInterMessagePeriod",
                        request.log_inter_message_period,
                    );
                    fields.put("ptp.v2.sig.tlv.durationField", request.duration_field);
                }
                TlvRepr::GrantUnicastTransmission(grant) => {
                    fields.put("ptp.v2.sig.tlv.messageType", grant.message_type.0);
                    fields.put(
                        "ptp.v2.sig.tlv.logInterMessagePeriod",
                        grant.log_inter_message_period,
                    );
                    fields.put("ptp.v2.sig.tlv.durationField", grant.duration_field);
                    fields.put(
                        "ptp.v2.sig.tlv.renewalInvited",
                        u8::from(grant.renewal_invited()),
                    );
                }
                TlvRepr::CancelUnicastTransmission(cancel)
                | TlvRepr::AcknowledgeCancelUnicastTransmission(cancel) => {
                    fields.put("ptp.v2.sig.tlv.messageType", cancel.message_type.0);
                }
                TlvRepr::OrganizationExtension(extension) => {
                    fields.put(
                        "ptp.v2.an.oe.organizationId",
                        oui(&extension.organization_id),
                    );
                    fields.put(
                        "ptp.v2.an.oe.organizationSubType",
                        oui(&extension.organization_sub_type),
                    );
                }
                TlvRepr::MessageIntervalRequest(_) => {
                    fields.put("ptp.v2.an.oe.organizationId", oui(&OUI_IEEE_802_1));
                    fields.put("ptp.v2.an.oe.organizationSubType", 2);
                }
                // Types tshark shows as raw data.
                _ => fields.bytes("ptp.v2.sig.tlv.data", tlv.value),
            }
        }
        MessageType::MANAGEMENT => {
            fields.put("ptp.v2.mm.tlvType", tlv.tlv_type.0);
            fields.put("ptp.v2.mm.lengthField", tlv.length_field());
            match repr {
                TlvRepr::Management(management) => {
                    fields.put("ptp.v2.mm.managementId", management.management_id.0);
                }
                TlvRepr::ManagementErrorStatus(status) => {
                    fields.put("ptp.v2.mm.managementErrorId", status.management_error_id.0);
                    fields.put("ptp.v2.mm.managementId", status.management_id.0);
                    fields.bytes("ptp.v2.mm.reserved", &status.reserved);
                    let text = status.display_text().expect("the test's text is complete");
                    let text = String::from_utf8_lossy(text).into_owned();
                    // tshark shows the PTPText twice: the item and its text, with its length.
                    fields.put("ptp.v2.mm.displayData", &text);
                    fields.put("ptp.v2.mm.displayData.length", text.len());
                    fields.put("ptp.v2.mm.displayData", &text);
                }
                _ => panic!("the test's Management messages carry management TLVs only"),
            }
        }
        other => panic!("the test puts no TLV in a {other} message"),
    }
}

/// An OUI or organization subtype (3 bytes) as the integer tshark prints.
fn oui(bytes: &[u8; 3]) -> u32 {
    u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]])
}

/// Expected (field, canonical value) pairs, in order.
#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn put(&mut self, key: &str, value: impl ToString) {
        self.0.push((key.to_owned(), canonical(&value.to_string())));
    }

    fn clock(&mut self, key: &str, clock: &ClockIdentity) {
        self.put(key, format!("0x{clock}"));
    }

    fn bytes(&mut self, key: &str, bytes: &[u8]) {
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        self.0.push((key.to_owned(), hex));
    }

    fn timestamp(&mut self, prefix: &str, timestamp: &Timestamp) {
        self.put(&format!("{prefix}.seconds"), timestamp.seconds);
        self.put(&format!("{prefix}.nanoseconds"), timestamp.nanoseconds);
    }
}

/// Compares one frame: returns the disagreements, empty when tshark and aptp-wire agree.
fn compare(case: &Case, message: &Message<'_>, packet: &TsharkPacket) -> Vec<String> {
    let mut problems = Vec::new();
    if packet.ptp_bytes != case.bytes {
        problems.push("tshark dissected other bytes than the message".to_owned());
    }
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in expected_fields(message, case.carrier) {
        expected.entry(key).or_default().push(value);
    }
    for (key, values) in &expected {
        let reported: Vec<String> = packet.values(key).iter().map(|v| canonical(v)).collect();
        if &reported != values {
            problems.push(format!("{key}: aptp-wire {values:?}, tshark {reported:?}"));
        }
    }
    // The fraction of a nanosecond of correctionField.
    let fraction = f64::from(message.header.correction_field.fractional()) / 65536.0;
    match packet.values("ptp.v2.correction.subns") {
        [shown]
            if shown
                .parse::<f64>()
                .is_ok_and(|v| (v - fraction).abs() < 1e-9) => {}
        shown => problems.push(format!(
            "ptp.v2.correction.subns: aptp-wire {fraction}, tshark {shown:?}"
        )),
    }
    for (key, values) in &packet.fields {
        let checked = expected.contains_key(key)
            || DERIVED.contains(&key.as_str())
            || key == "ptp.v2.correction.subns";
        if !checked {
            problems.push(format!(
                "tshark reports {key} = {values:?}, which this test does not check"
            ));
        }
    }
    problems
}

#[test]
fn test_tshark_agrees_with_aptp_wire_on_every_field() {
    if !tshark::require_tshark("wireshark_agreement") {
        return;
    }
    let cases = cases();
    let frames: Vec<Vec<u8>> = cases
        .iter()
        .map(|case| match case.carrier {
            Carrier::Ethernet => tshark::ethernet_ptp_frame(&case.bytes),
            Carrier::Udp => {
                let port = match Message::parse(&case.bytes) {
                    Ok(message) if message.message_type().is_event() => 319,
                    _ => 320,
                };
                tshark::udp_ipv4_frame(port, port, &case.bytes)
            }
        })
        .collect();
    let directory =
        std::env::temp_dir().join(format!("aptp-wireshark-agreement-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    let path = directory.join("messages.pcap");
    tshark::write_pcap(&path, &frames).expect("the pcap is written");
    let decoded = tshark::decode(&path);
    std::fs::remove_dir_all(&directory).expect("the temporary directory is removed");
    let packets = decoded.expect("tshark decodes the capture");
    assert_eq!(packets.len(), cases.len(), "one tshark packet per frame");

    let mut report = Vec::new();
    let mut fields_checked = 0;
    for (index, (case, packet)) in cases.iter().zip(&packets).enumerate() {
        let message = Message::parse(&case.bytes).expect("aptp-wire parses its own messages");
        message.validate().expect("the test's messages are valid");
        fields_checked += packet.fields.values().map(Vec::len).sum::<usize>();
        for problem in compare(case, &message, packet) {
            report.push(format!(
                "frame {} ({}, {:?}): {problem}",
                index + 1,
                case.name,
                case.carrier
            ));
        }
    }
    assert!(
        report.is_empty(),
        "tshark and aptp-wire disagree:\n{}",
        report.join("\n")
    );
    // Every message type and typed TLV went through tshark.
    let mut types: Vec<u8> = cases
        .iter()
        .filter_map(|case| Message::parse(&case.bytes).ok())
        .map(|message| message.message_type().0)
        .collect();
    types.sort_unstable();
    types.dedup();
    assert_eq!(types.len(), MessageType::KNOWN.len());
    println!(
        "wireshark_agreement: {} frames, {fields_checked} tshark fields, all agree",
        cases.len()
    );
}
