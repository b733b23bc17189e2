//! A PTP master serving unicast peers (or multicast on an interface), printing its state.
//!
//! ```sh
//! cargo run -p aptp --example master -- 127.0.0.1 3319 127.0.0.2   # unicast to 127.0.0.2, ports 3319/3320
//! cargo run -p aptp --example master -- eth0                       # multicast on eth0 (root)
//! ```

use std::net::IpAddr;
use std::time::Duration;

use aptp::engine::Config;
use aptp::runtime::{Network, Node, NodeOptions, Role};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let where_ = args.next().unwrap_or_else(|| "127.0.0.1".into());
    let event_port: u16 = args.next().map_or(Ok(319), |p| p.parse())?;
    let peers = args
        .map(|p| p.parse::<IpAddr>())
        .collect::<Result<Vec<_>, _>>()?;
    let network = match where_.parse::<IpAddr>() {
        Ok(address) => Network::Bind(address),
        Err(_) => Network::Interface {
            name: where_,
            ipv6: false,
        },
    };
    let config = Config {
        log_sync_interval: -3,
        ..Config::default()
    };
    let options = NodeOptions::new(Role::Master, network)
        .with_config(config)
        .with_ports(event_port, event_port + 1)
        .with_unicast_peers(peers);
    let master = Node::start(options)?;
    let mut events = master.subscribe();
    println!("clock {} serving", master.clock_identity().dotted());
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = events.recv() => match event {
                Ok(event) => println!("{event:?}"),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("({n} events skipped)"),
                Err(_) => break,
            },
            _ = tokio::time::sleep(Duration::from_secs(5)) => {
                println!("state {} sent {}", master.state(), master.status().counters.sent);
            }
        }
    }
    master.shutdown().await?;
    Ok(())
}
