//! A master and a slave in one process on loopback, no privileges: the slave's view of the
//! master's clock for 15 seconds (both read the same clock, so the truth is 0).
//!
//! ```sh
//! cargo run -p aptp --example loopback
//! ```

use std::time::Duration;

use aptp::engine::{Config, PortKind};
use aptp::runtime::{Network, Node, NodeOptions, Role};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config {
        log_sync_interval: -3,
        log_announce_interval: -2,
        log_min_delay_req_interval: -3,
        ..Config::default()
    };
    let master = Node::start(
        NodeOptions::new(Role::Master, Network::Bind("127.0.0.1".parse()?))
            .with_config(config.clone())
            .with_ports(0, 0)
            .with_unicast_peers(["127.0.0.2".parse()?]),
    )?;
    let slave = Node::start(
        NodeOptions::new(Role::Slave, Network::Bind("127.0.0.2".parse()?))
            .with_config(config)
            .with_ports(
                master.local_addr(PortKind::Event).port(),
                master.local_addr(PortKind::General).port(),
            ),
    )?;
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let status = slave.status();
        println!(
            "{:<12} offset {:>8} ns  rate {:>8.1} ppb  path delay {:>6} ns",
            status.state.to_string(),
            slave.offset_ns().map_or("-".into(), |ns| ns.to_string()),
            status.rate_ppb().unwrap_or(f64::NAN),
            status.path_delay_ns.map_or("-".into(), |ns| ns.to_string()),
        );
    }
    slave.shutdown().await?;
    master.shutdown().await?;
    Ok(())
}
