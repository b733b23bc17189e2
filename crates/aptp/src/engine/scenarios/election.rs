//! Master election, failover and re-election among three nodes.

use super::{config, states, worst_error_ns};
use crate::engine::sim::{LinkModel, Sim, SimClock};
use crate::engine::{DropReason, Event, PortState};
use PortState::*;

fn three_nodes(sim: &mut Sim) -> [usize; 3] {
    let a = sim.add_node(
        config(1),
        SimClock {
            offset_ns: 0,
            rate_ppb: 0,
        },
    );
    let b = sim.add_node(
        config(2),
        SimClock {
            offset_ns: 2_500_000,
            rate_ppb: 40_000,
        },
    );
    let c = sim.add_node(
        config(3),
        SimClock {
            offset_ns: -7_000_000,
            rate_ppb: -25_000,
        },
    );
    [a, b, c]
}

#[test]
fn three_nodes_elect_the_best_and_the_others_follow_it() {
    let mut sim = Sim::new(1, LinkModel::default());
    let [a, b, c] = three_nodes(&mut sim);
    sim.run_for_secs(30);
    assert_eq!(sim.engine(a).state(), Master);
    assert_eq!(sim.engine(b).state(), Slave);
    assert_eq!(sim.engine(c).state(), Slave);
    for node in [b, c] {
        let master = sim.engine(node).master().unwrap();
        assert_eq!(master.grandmaster_identity, Sim::clock_identity(a));
        // All start together: all time out of LISTENING into MASTER, then the worse two
        // qualify the best and follow it.
        assert_eq!(
            states(&sim, node),
            [Initializing, Listening, Master, Uncalibrated, Slave]
        );
    }
    assert_eq!(states(&sim, a), [Initializing, Listening, Master]);
    let error_b = worst_error_ns(&mut sim, b, a, 30);
    let error_c = worst_error_ns(&mut sim, c, a, 30);
    println!("election: worst |time error| over 30 s: b {error_b} ns, c {error_c} ns");
    // On the multicast group each slave sees the other's Delay_Req and Delay_Resp: counted
    // as normal traffic, not as errors.
    for node in [b, c] {
        let counters = sim.engine(node).counters();
        assert!(counters.dropped(DropReason::OtherPortsExchange) > 0);
        for reason in [DropReason::Unmatched, DropReason::NotExpected] {
            assert_eq!(counters.dropped(reason), 0, "{reason:?}");
        }
        let problems: Vec<_> = counters
            .dropped_by_reason()
            .filter(|(reason, count)| !reason.is_benign() && *count > 0)
            .collect();
        println!("node {node}: drops other than benign: {problems:?}");
    }
    assert!(
        error_b <= 50 && error_c <= 50,
        "b {error_b} ns, c {error_c} ns"
    );
}

#[test]
fn failover_when_the_master_stops() {
    let mut sim = Sim::new(2, LinkModel::default());
    let [a, b, c] = three_nodes(&mut sim);
    sim.run_for_secs(40);
    assert_eq!(sim.engine(c).state(), Slave);
    sim.set_up(a, false);
    // announceReceiptTimeout: 3 × 2 s after A's last Announce, B and C both expire A and
    // serve; C then qualifies B's Announces and follows it.
    sim.run_for_secs(30);
    assert_eq!(sim.engine(b).state(), Master);
    assert_eq!(sim.engine(c).state(), Slave);
    assert_eq!(
        sim.engine(c).master().unwrap().grandmaster_identity,
        Sim::clock_identity(b)
    );
    assert_eq!(
        states(&sim, c),
        [
            Initializing,
            Listening,
            Master,
            Uncalibrated,
            Slave,
            Master,
            Uncalibrated,
            Slave
        ]
    );
    assert_eq!(
        states(&sim, b),
        [Initializing, Listening, Master, Uncalibrated, Slave, Master]
    );
    let error = worst_error_ns(&mut sim, c, b, 30);
    println!("failover: worst |time error| of c against b over 30 s: {error} ns");
    assert!(error <= 50, "{error} ns");
}

#[test]
fn a_better_master_appearing_takes_over() {
    let mut sim = Sim::new(3, LinkModel::default());
    let b = sim.add_node(
        config(2),
        SimClock {
            offset_ns: 2_500_000,
            rate_ppb: 40_000,
        },
    );
    let c = sim.add_node(
        config(3),
        SimClock {
            offset_ns: -7_000_000,
            rate_ppb: -25_000,
        },
    );
    sim.run_for_secs(30);
    assert_eq!(sim.engine(b).state(), Master);
    assert_eq!(sim.engine(c).state(), Slave);
    let a = sim.add_node(
        config(1),
        SimClock {
            offset_ns: 9_000_000,
            rate_ppb: 10_000,
        },
    );
    sim.run_for_secs(30);
    assert_eq!(sim.engine(a).state(), Master);
    // The newcomer wins as soon as it has qualified the old master: LISTENING → MASTER.
    assert_eq!(states(&sim, a), [Initializing, Listening, Master]);
    assert_eq!(
        states(&sim, b),
        [Initializing, Listening, Master, Uncalibrated, Slave]
    );
    assert_eq!(
        states(&sim, c),
        [
            Initializing,
            Listening,
            Master,
            Uncalibrated,
            Slave,
            Uncalibrated,
            Slave
        ]
    );
    let changes: Vec<_> = sim
        .events(c)
        .filter_map(|(_, e)| match e {
            Event::MasterChanged { master } => Some(master.map(|m| m.grandmaster_identity)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [Some(Sim::clock_identity(b)), Some(Sim::clock_identity(a))]
    );
    let error_b = worst_error_ns(&mut sim, b, a, 30);
    let error_c = worst_error_ns(&mut sim, c, a, 30);
    println!(
        "re-election: worst |time error| against the new master: b {error_b} ns, c {error_c} ns"
    );
    assert!(
        error_b <= 50 && error_c <= 50,
        "b {error_b} ns, c {error_c} ns"
    );
}

#[test]
fn unicast_master_serves_its_peers_and_answers_them_by_unicast() {
    let mut sim = Sim::new(4, LinkModel::default());
    let master = sim.add_node(config(1), SimClock::default());
    let first = sim.add_node(
        config(128),
        SimClock {
            offset_ns: 1_000_000,
            rate_ppb: 30_000,
        },
    );
    let second = sim.add_node(
        config(128),
        SimClock {
            offset_ns: -2_000_000,
            rate_ppb: -30_000,
        },
    );
    sim.engine_mut(master).set_unicast_peers([first, second]);
    sim.run_for_secs(40);
    for slave in [first, second] {
        assert_eq!(
            states(&sim, slave),
            [Initializing, Listening, Master, Uncalibrated, Slave]
        );
        let error = worst_error_ns(&mut sim, slave, master, 20);
        println!("unicast: worst |time error| of node {slave} over 20 s: {error} ns");
        assert!(error <= 50, "{error} ns");
        // Delay_Req and Delay_Resp went by unicast from the first one on: no slave ever saw
        // the other's request or answer.
        let counters = sim.engine(slave).counters();
        assert_eq!(counters.dropped(crate::engine::DropReason::Unmatched), 0);
        assert_eq!(counters.dropped(crate::engine::DropReason::NotExpected), 0);
    }
}
