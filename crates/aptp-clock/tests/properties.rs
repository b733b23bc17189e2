//! Property tests for the clock math's invariants.

use aptp_clock::{ClockMapping, MovingMedian, RtpAnchor, SlewedClock, Time, TimeDelta};
use proptest::prelude::*;

/// A local or remote instant anywhere in 48-bit PTP seconds, to the scaled nanosecond.
fn instant() -> impl Strategy<Value = Time> {
    (0u64..(1 << 48), 0u32..1_000_000_000, 0i128..65_536).prop_map(
        |(seconds, nanoseconds, fraction)| {
            Time::from_secs_nanos(seconds, nanoseconds).expect("nanoseconds < 10^9")
                + TimeDelta::from_scaled_nanos(fraction)
        },
    )
}

/// |rate − 1| up to 1000 ppm, far beyond any crystal.
fn rate_offset() -> impl Strategy<Value = f64> {
    -1e-3..1e-3f64
}

/// Up to ±10^6 s (11.5 days) from a mapping's reference.
fn span() -> impl Strategy<Value = TimeDelta> {
    (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(TimeDelta::from_nanos)
}

#[derive(Clone, Debug)]
enum Event {
    /// Advance `now` by this many ns, then give the clock a new target.
    Update {
        advance_ns: u32,
        remote_shift_ns: i64,
        rate_offset: f64,
        step: bool,
    },
    /// Advance `now` by this many ns and read the clock.
    Query { advance_ns: u32 },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            0u32..2_000_000_000,
            -50_000_000i64..50_000_000,
            rate_offset(),
            Just(false)
        )
            .prop_map(
                |(advance_ns, remote_shift_ns, rate_offset, step)| Event::Update {
                    advance_ns,
                    remote_shift_ns,
                    rate_offset,
                    step
                }
            ),
        (0u32..2_000_000_000).prop_map(|advance_ns| Event::Query { advance_ns }),
    ]
}

proptest! {
    #[test]
    fn local_to_remote_to_local_is_identity_within_a_nanosecond(
        local_ref in instant(), remote_ref in instant(), rate_offset in rate_offset(), elapsed in span(),
    ) {
        let mapping = ClockMapping::with_rate_offset(local_ref, remote_ref, rate_offset);
        let local = local_ref + elapsed;
        let back = mapping.to_local(mapping.to_remote(local));
        prop_assert!((back - local).abs() <= TimeDelta::from_nanos(1), "{:?}", back - local);
        let remote = remote_ref + elapsed;
        let forth = mapping.to_remote(mapping.to_local(remote));
        prop_assert!((forth - remote).abs() <= TimeDelta::from_nanos(1), "{:?}", forth - remote);
    }

    #[test]
    fn a_mapping_never_runs_backwards(
        local_ref in instant(), rate_offset in rate_offset(), a in span(), b in span(),
    ) {
        let mapping = ClockMapping::with_rate_offset(local_ref, local_ref, rate_offset);
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(mapping.to_remote(local_ref + early) <= mapping.to_remote(local_ref + late));
    }

    #[test]
    fn mapped_time_is_monotonic_under_any_update_sequence(
        start in instant(),
        first_rate in rate_offset(),
        slew_ppb in 0.0..1_000_000.0f64,
        events in proptest::collection::vec(event(), 1..60),
    ) {
        let mut clock = SlewedClock::new(slew_ppb);
        let mut now = start;
        clock.update(now, ClockMapping::with_rate_offset(now, now, first_rate), false);
        let mut last = clock.to_remote(now).expect("updated");
        for event in events {
            match event {
                Event::Update { advance_ns, remote_shift_ns, rate_offset, step } => {
                    now += TimeDelta::from_nanos(i64::from(advance_ns));
                    let before = clock.to_remote(now).expect("updated");
                    prop_assert!(before >= last);
                    let target = ClockMapping::with_rate_offset(now, now + TimeDelta::from_nanos(remote_shift_ns), rate_offset);
                    clock.update(now, target, step);
                    let after = clock.to_remote(now).expect("updated");
                    // Continuous at a non-step update.
                    prop_assert_eq!(after, before);
                    last = after;
                }
                Event::Query { advance_ns } => {
                    now += TimeDelta::from_nanos(i64::from(advance_ns));
                    let value = clock.to_remote(now).expect("updated");
                    prop_assert!(value >= last, "{:?} < {:?}", value, last);
                    last = value;
                }
            }
        }
    }

    #[test]
    fn slewed_clock_moves_at_most_the_slew_from_its_target_rate(
        start in instant(), shift_ns in -10_000_000i64..10_000_000, slew_ppb in 1_000.0..1_000_000.0f64,
        elapsed_ns in 0i64..100_000_000_000,
    ) {
        let mut clock = SlewedClock::new(slew_ppb);
        clock.update(start, ClockMapping::new(start, start, 1.0), false);
        clock.update(start, ClockMapping::new(start, start + TimeDelta::from_nanos(shift_ns), 1.0), false);
        let later = start + TimeDelta::from_nanos(elapsed_ns);
        let moved = clock.to_remote(later).expect("updated") - later;
        let bound = TimeDelta::from_nanos_f64(elapsed_ns as f64 * slew_ppb * 1e-9) + TimeDelta::from_nanos(1);
        prop_assert!(moved.abs() <= bound.min(TimeDelta::from_nanos(shift_ns.abs()) + TimeDelta::from_nanos(1)));
    }

    #[test]
    fn rtp_conversion_is_consistent_across_the_wrap(
        anchor_time in instant(),
        anchor_rtp in any::<u32>(),
        sample_rate_hz in prop_oneof![Just(44_100u32), Just(48_000), Just(96_000), 1u32..400_000],
        offset in -(1i64 << 31)..(1i64 << 31),
        later_by in 0i64..1_000_000,
    ) {
        let anchor = RtpAnchor::new(anchor_time, anchor_rtp, sample_rate_hz).expect("rate > 0");
        let frame = anchor_rtp.wrapping_add(offset as u32);
        let at = anchor.remote_time_of(frame);
        // Frame → time → frame is exact.
        prop_assert_eq!(anchor.rtp_at_remote(at), frame);
        // The instant is the exact frame instant rounded up by less than a scaled nanosecond.
        let exact_scaled = offset as i128 * 1_000_000_000 * 65_536;
        let placed = (at - anchor_time).scaled_nanos() * i128::from(sample_rate_hz);
        prop_assert!(placed >= exact_scaled && placed - exact_scaled < i128::from(sample_rate_hz));
        // Frames later stay exactly that many periods later, wrap or not.
        if offset + later_by < (1i64 << 31) {
            let later = frame.wrapping_add(later_by as u32);
            let difference = anchor.remote_time_of(later) - at;
            let expected_ns = later_by as f64 * 1e9 / f64::from(sample_rate_hz);
            prop_assert!((difference.as_nanos_f64() - expected_ns).abs() < 1e-3);
        }
    }

    #[test]
    fn median_filter_equals_sorted_window_median(values in proptest::collection::vec(-1_000_000i64..1_000_000, 1..40)) {
        let mut filter = MovingMedian::<10>::new();
        for (index, value) in values.iter().enumerate() {
            filter.push(TimeDelta::from_nanos(*value));
            let start = (index + 1).saturating_sub(10);
            let mut window: Vec<i64> = values[start..=index].to_vec();
            window.sort_unstable();
            let middle = window.len() / 2;
            let expected = if window.len() % 2 == 1 {
                TimeDelta::from_nanos(window[middle])
            } else {
                (TimeDelta::from_nanos(window[middle - 1]) + TimeDelta::from_nanos(window[middle])).half()
            };
            prop_assert_eq!(filter.median(), Some(expected));
        }
    }

    #[test]
    fn time_forms_round_trip(seconds in 0u64..(1 << 48), nanoseconds in 0u32..1_000_000_000, fixed in any::<u64>(), fraction in any::<u64>()) {
        let time = Time::from_secs_nanos(seconds, nanoseconds).expect("nanoseconds < 10^9");
        prop_assert_eq!(time.to_secs_nanos(), Some((seconds, nanoseconds)));
        prop_assert_eq!(Time::from_fixed_32_32(fixed).to_fixed_32_32(), Some(fixed));
        let airplay = Time::from_secs_fraction(seconds, fraction);
        let (back_seconds, back_fraction) = airplay.to_secs_fraction().expect("non-negative");
        // The 64-bit fraction is finer than a scaled nanosecond: back within one of its steps.
        let back = Time::from_secs_fraction(back_seconds, back_fraction);
        prop_assert_eq!(back, airplay);
    }
}
