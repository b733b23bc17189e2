//! `MessageView::new_checked` against `Message::parse` on any bytes: the view is accepted
//! exactly when parse succeeds and versionPTP is 2, fails with parse's own error otherwise
//! (or `BadVersion` at byte 1 when only the version is wrong), every getter and typed body
//! view equals the parsed field, `to_message` gives parse's `Message`, and the 802.1AS
//! Follow_Up information view agrees with `FollowUpInformation::decode` of the first TLV.
//! Nothing may panic. Seeds: the `message` target's (`fuzz/seeds/message`).
#![no_main]

use aptp_wire::{Body, BodyView, ErrorKind, FollowUpInformation, Message, MessageView, WireError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let view = MessageView::new_checked(data);
    let message = match Message::parse(data) {
        Ok(message) => message,
        Err(error) => {
            assert_eq!(view, Err(error), "the view must fail as parse does");
            return;
        }
    };
    if message.header.version_ptp != 2 {
        let expected = WireError::new(
            ErrorKind::BadVersion {
                version: message.header.version_ptp,
            },
            1,
        );
        assert_eq!(
            view,
            Err(expected),
            "only versionPTP separates view and parse"
        );
        return;
    }
    let view = match view {
        Ok(view) => view,
        Err(error) => panic!("the view refused what parse accepts: {error:?}"),
    };
    assert_eq!(view.header(), message.header);
    assert_eq!(view.message_type(), message.header.message_type);
    assert_eq!(view.sequence_id(), message.header.sequence_id);
    assert_eq!(view.correction_field(), message.header.correction_field);
    assert_eq!(
        view.source_port_identity(),
        message.header.source_port_identity
    );
    assert_eq!(view.flags(), message.header.flags);
    assert_eq!(view.tlvs(), message.tlvs);
    assert_eq!(view.tlvs().offset(), message.tlvs.offset());
    assert_eq!(view.suffix(), message.suffix);
    assert_eq!(view.to_message(), message);
    match (view.body(), message.body) {
        (BodyView::Sync(v), Body::Sync { origin_timestamp }) => {
            assert_eq!(v.origin_timestamp(), origin_timestamp)
        }
        (BodyView::DelayReq(v), Body::DelayReq { origin_timestamp }) => {
            assert_eq!(v.origin_timestamp(), origin_timestamp)
        }
        (
            BodyView::FollowUp(v),
            Body::FollowUp {
                precise_origin_timestamp,
            },
        ) => {
            assert_eq!(v.precise_origin_timestamp(), precise_origin_timestamp);
            let decoded = match { message.tlvs }.next() {
                Some(Ok(tlv)) => FollowUpInformation::decode(tlv).ok(),
                _ => None,
            };
            let info = v.follow_up_information();
            assert_eq!(info.map(|i| i.to_follow_up_information()), decoded);
            if let Some(info) = info {
                let _ = (info.rate_ratio(), info.last_gm_phase_change_scaled());
            }
        }
        (
            BodyView::DelayResp(v),
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            },
        ) => {
            assert_eq!(v.receive_timestamp(), receive_timestamp);
            assert_eq!(v.requesting_port_identity(), requesting_port_identity);
        }
        (BodyView::Other(v), body) => {
            assert_eq!(v, view);
            assert!(!matches!(
                body,
                Body::Sync { .. }
                    | Body::DelayReq { .. }
                    | Body::FollowUp { .. }
                    | Body::DelayResp { .. }
            ));
        }
        (body, expected) => panic!("typed view {body:?} for body {expected:?}"),
    }
});
