//! The TLV decoders on their own, on any bytes:
//! - the bytes as a TLV area (`Tlvs::new`): iterate, `validate`, decode every TLV, round-trip
//!   each typed view;
//! - the first two bytes as a tlvType and the rest as a value of any length (odd included,
//!   which the iterator never hands out): `TlvRepr::decode` and the round trip;
//! - the organization-extension and PATH_TRACE value parsers directly.
#![no_main]

use aptp_wire::{OrganizationExtension, PathTrace, Tlv, TlvType, Tlvs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aptp_fuzz::check_tlvs(Tlvs::new(data), data.len());

    if let [high, low, value @ ..] = data {
        let tlv_type = TlvType(u16::from_be_bytes([*high, *low]));
        aptp_fuzz::check_tlv_round_trip(Tlv { tlv_type, value });

        match OrganizationExtension::parse_value(tlv_type, value) {
            Ok(org) => {
                assert!(value.len() >= OrganizationExtension::HEADER_LENGTH);
                assert_eq!(org.value_len(), value.len());
                assert_eq!(&org.organization_id[..], &value[..3]);
                assert_eq!(&org.organization_sub_type[..], &value[3..6]);
                assert_eq!(org.data, &value[6..]);
                assert!(org.sub_type() < 1 << 24);
            }
            Err(_) => assert!(value.len() < OrganizationExtension::HEADER_LENGTH),
        }
        match PathTrace::from_wire(value) {
            Ok(path) => {
                assert_eq!(value.len() % 8, 0);
                assert_eq!(path.len(), value.len() / 8);
                assert!(path
                    .iter()
                    .map(|id| id.0)
                    .eq(value.chunks_exact(8).map(|c| {
                        let mut id = [0; 8];
                        id.copy_from_slice(c);
                        id
                    })));
            }
            Err(_) => assert_ne!(value.len() % 8, 0),
        }
    }
});
