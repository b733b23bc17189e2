//! A PTP slave, printing a line a second like `ptp4l -m`.
//!
//! ```sh
//! cargo run -p aptp --example slave -- eth0            # multicast on an interface (root)
//! cargo run -p aptp --example slave -- 127.0.0.2 3319   # unicast on an address, ports 3319/3320
//! ```

use std::net::IpAddr;
use std::time::Duration;

use aptp::runtime::{Network, Node, NodeOptions, Role};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let where_ = args.next().unwrap_or_else(|| "127.0.0.2".into());
    let event_port: u16 = args.next().map_or(Ok(319), |p| p.parse())?;
    let network = match where_.parse::<IpAddr>() {
        Ok(address) => Network::Bind(address),
        Err(_) => Network::Interface {
            name: where_,
            ipv6: false,
        },
    };
    let options = NodeOptions::new(Role::Slave, network).with_ports(event_port, event_port + 1);
    let slave = Node::start(options)?;
    println!("clock {} listening", slave.clock_identity().dotted());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                let status = slave.status();
                let offset = slave.offset_ns().map_or("-".into(), |ns| ns.to_string());
                let master = status.grandmaster_identity().map_or("-".into(), |id| id.dotted().to_string());
                println!("{:<12} offset {offset:>10} ns  path delay {:?} ns  master {master}",
                    status.state.to_string(), status.path_delay_ns);
            }
        }
    }
    slave.shutdown().await?;
    Ok(())
}
