//! The port states of IEEE 1588-2019 §9.2.5 and the events that move between them.

use core::fmt;

/// The state of the engine's port (IEEE 1588-2019 §9.2.5; the names ptp4l prints).
///
/// ```
/// use aptp::engine::PortState;
/// assert_eq!(PortState::Uncalibrated.to_string(), "UNCALIBRATED");
/// assert_eq!(PortState::PreMaster.name_lower(), "pre_master");
/// assert!(PortState::Slave.is_following());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortState {
    /// Starting: data sets being initialised. The engine leaves it in [`Engine::new`](super::Engine::new).
    Initializing,
    /// A fault was reported ([`Engine::handle_fault`](super::Engine::handle_fault)); the
    /// port sends nothing until `fault_reset_interval` has passed.
    Faulty,
    /// Disabled by the application; sends nothing, ignores everything.
    Disabled,
    /// Waiting for Announces, until the announce receipt timeout lets it become master.
    Listening,
    /// Qualifying as master. An ordinary clock's M1/M2 decision has a zero qualification
    /// timeout (§9.2.6.11), so this engine passes straight to MASTER and never rests here;
    /// the state is named for completeness of the reported set.
    PreMaster,
    /// Serving time: Announce, Sync, Follow_Up, Delay_Resp.
    Master,
    /// A better master exists but this clock (clockClass 1..=127) must not follow it.
    Passive,
    /// Following a newly selected master, the estimator not yet settled.
    Uncalibrated,
    /// Following the selected master with a settled estimator.
    Slave,
}

impl PortState {
    /// The state's name in lower case (`pre_master`), as the CLI's JSON prints it.
    pub fn name_lower(self) -> &'static str {
        match self {
            PortState::Initializing => "initializing",
            PortState::Faulty => "faulty",
            PortState::Disabled => "disabled",
            PortState::Listening => "listening",
            PortState::PreMaster => "pre_master",
            PortState::Master => "master",
            PortState::Passive => "passive",
            PortState::Uncalibrated => "uncalibrated",
            PortState::Slave => "slave",
        }
    }

    /// The state's name in upper case (`PRE_MASTER`), as IEEE 1588 and ptp4l write it.
    pub fn name_upper(self) -> &'static str {
        match self {
            PortState::Initializing => "INITIALIZING",
            PortState::Faulty => "FAULTY",
            PortState::Disabled => "DISABLED",
            PortState::Listening => "LISTENING",
            PortState::PreMaster => "PRE_MASTER",
            PortState::Master => "MASTER",
            PortState::Passive => "PASSIVE",
            PortState::Uncalibrated => "UNCALIBRATED",
            PortState::Slave => "SLAVE",
        }
    }

    /// True in UNCALIBRATED and SLAVE: the port follows a master.
    pub fn is_following(self) -> bool {
        matches!(self, PortState::Uncalibrated | PortState::Slave)
    }

    /// True in PRE_MASTER and MASTER: the port serves time.
    pub fn is_serving(self) -> bool {
        matches!(self, PortState::PreMaster | PortState::Master)
    }

    /// True in the states where received Announces feed the BMCA (LISTENING, PRE_MASTER,
    /// MASTER, PASSIVE, UNCALIBRATED, SLAVE).
    pub fn runs_bmca(self) -> bool {
        !matches!(
            self,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        )
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_upper())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PortState; 9] = [
        PortState::Initializing,
        PortState::Faulty,
        PortState::Disabled,
        PortState::Listening,
        PortState::PreMaster,
        PortState::Master,
        PortState::Passive,
        PortState::Uncalibrated,
        PortState::Slave,
    ];

    #[test]
    fn names_agree_between_cases() {
        for state in ALL {
            assert_eq!(state.name_upper().to_lowercase(), state.name_lower());
            assert_eq!(state.to_string(), state.name_upper());
        }
    }

    #[test]
    fn classification() {
        let following: Vec<_> = ALL.into_iter().filter(|s| s.is_following()).collect();
        assert_eq!(following, [PortState::Uncalibrated, PortState::Slave]);
        let serving: Vec<_> = ALL.into_iter().filter(|s| s.is_serving()).collect();
        assert_eq!(serving, [PortState::PreMaster, PortState::Master]);
        let idle: Vec<_> = ALL.into_iter().filter(|s| !s.runs_bmca()).collect();
        assert_eq!(
            idle,
            [
                PortState::Initializing,
                PortState::Faulty,
                PortState::Disabled
            ]
        );
    }
}
