//! The port's state machine: Announces into the foreign master table, the state decision
//! after each one and at each announce receipt timeout, and what each state change does.

use super::bmca::{state_decision, ComparisonDataset, Recommendation};
use super::config::log_interval_ns;
use super::events::{Event, MasterInfo};
use super::follow::Follower;
use super::foreign::{AnnounceFlags, Recorded, FOREIGN_MASTER_TIME_WINDOW};
use super::io::DropReason;
use super::state::PortState;
use super::time::after;
use super::time::nanos_since;
use super::time_properties::TimeProperties;
use super::{Engine, LostParent, Parent, LOST_MASTER_MEMORY};
use aptp_clock::Time;
use aptp_wire::{AnnounceBody, ClockIdentity, Header, PortIdentity};
use core::fmt::Debug;

impl<A: Copy + Eq + Debug> Engine<A> {
    /// One announce interval of this port, in nanoseconds.
    pub(super) fn announce_interval_ns(&self) -> u64 {
        log_interval_ns(self.config.log_announce_interval)
    }

    /// FOREIGN_MASTER_TIME_WINDOW announce intervals.
    fn qualification_window_ns(&self) -> u64 {
        self.announce_interval_ns()
            .saturating_mul(FOREIGN_MASTER_TIME_WINDOW)
    }

    /// announceReceiptTimeout announce intervals.
    fn announce_receipt_timeout_ns(&self) -> u64 {
        self.announce_interval_ns()
            .saturating_mul(u64::from(self.config.announce_receipt_timeout))
    }

    /// This clock's own dataset D0.
    pub(super) fn local_dataset(&self) -> ComparisonDataset {
        ComparisonDataset::local(
            self.config.priority1,
            self.config.effective_clock_class(),
            self.config.clock_accuracy,
            self.config.offset_scaled_log_variance,
            self.config.priority2,
            self.port_identity,
        )
    }

    /// Enters LISTENING and arms the announce receipt timeout.
    pub(super) fn enter_listening(&mut self, now: Time) {
        self.set_parent(now, None);
        self.set_state(now, PortState::Listening);
        self.announce_receipt_deadline = Some(after(now, self.announce_receipt_timeout_ns()));
    }

    pub(super) fn on_announce(
        &mut self,
        now: Time,
        source: A,
        header: &Header,
        announce: &AnnounceBody,
    ) -> Result<(), DropReason> {
        if self.config.master_only {
            return Err(DropReason::AnnounceIgnored);
        }
        if announce.grandmaster_identity == self.port_identity.clock_identity {
            // Our own grandmastership come back through a boundary clock.
            return Err(DropReason::AnnounceIgnored);
        }
        if !self.config.is_acceptable_master(
            announce.grandmaster_identity,
            header.source_port_identity.clock_identity,
        ) {
            return Err(DropReason::NotAcceptable);
        }
        let quality = announce.grandmaster_clock_quality;
        let dataset = ComparisonDataset {
            grandmaster_priority1: announce.grandmaster_priority1,
            grandmaster_identity: announce.grandmaster_identity,
            grandmaster_clock_class: quality.clock_class,
            grandmaster_clock_accuracy: quality.clock_accuracy.0,
            grandmaster_offset_scaled_log_variance: quality.offset_scaled_log_variance,
            grandmaster_priority2: announce.grandmaster_priority2,
            steps_removed: announce.steps_removed,
            sender: header.source_port_identity,
            receiver: self.port_identity,
        };
        // An Announce that travelled 255 steps is discarded (§9.3.2.5 d).
        if announce.steps_removed >= 255 {
            return Err(DropReason::AnnounceIgnored);
        }
        let time_properties = TimeProperties::from_announce(header.flags, announce);
        let window = self.qualification_window_ns();
        match self.foreign_masters.record(
            now,
            window,
            source,
            header.sequence_id,
            dataset,
            AnnounceFlags {
                unicast: header.flags.unicast(),
                time_properties,
            },
        ) {
            Recorded::Accepted => self.recall_lost_parent_announce(now, &dataset),
            Recorded::Duplicate => return Err(DropReason::Duplicate),
            Recorded::TableFull => return Err(DropReason::ForeignMasterTableFull),
        }
        if let Some(parent) = self.parent.as_mut() {
            if parent.source == header.source_port_identity {
                parent.unicast = header.flags.unicast();
                parent.time_properties = time_properties;
                if self.state.is_following() || self.state == PortState::Passive {
                    self.announce_receipt_deadline =
                        Some(after(now, self.announce_receipt_timeout_ns()));
                }
            }
        }
        self.run_state_decision(now);
        Ok(())
    }

    /// Expires silent masters when the announce receipt timeout passes, and decides again.
    pub(super) fn check_announce_receipt(&mut self, now: Time) {
        let Some(deadline) = self.announce_receipt_deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        self.announce_receipt_deadline = None;
        let timeout = self.announce_receipt_timeout_ns();
        let parent_last_announce = self
            .parent
            .and_then(|p| self.foreign_masters.get(&p.source))
            .and_then(|m| m.last_receipt());
        self.foreign_masters.expire(now, timeout);
        let parent_alive = self
            .parent
            .is_some_and(|p| self.foreign_masters.get(&p.source).is_some());
        if let (false, Some(parent)) = (parent_alive, self.parent) {
            // Remember it: a restarted master process comes back under the same identity.
            let follower = core::mem::replace(&mut self.follower, Follower::new(&self.config));
            self.lost_parent = Some(LostParent {
                source: parent.source,
                grandmaster_identity: parent.dataset.grandmaster_identity,
                lost_at: now,
                last_announce_at: parent_last_announce,
                last_sync_sequence_id: self.slave.last_sync_sequence_id(),
                follower,
            });
            self.set_parent(now, None);
        }
        if self.state == PortState::Listening {
            // ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES in LISTENING: nobody better was heard.
            let best = self
                .foreign_masters
                .best(now, self.qualification_window_ns(), None)
                .map(|m| m.dataset);
            let local = self.local_dataset();
            match state_decision(
                &local,
                best.as_ref(),
                PortState::Master,
                self.config.slave_only,
                self.config.master_only,
            ) {
                Recommendation::Master => self.become_master(now),
                _ => {
                    self.announce_receipt_deadline = Some(after(now, timeout));
                    self.run_state_decision(now);
                }
            }
            return;
        }
        self.run_state_decision(now);
    }

    /// The state decision algorithm, applied.
    pub(super) fn run_state_decision(&mut self, now: Time) {
        if !self.state.runs_bmca() {
            return;
        }
        let window = self.qualification_window_ns();
        let timeout = self.announce_receipt_timeout_ns();
        self.foreign_masters.expire(now, timeout);
        let parent = self.parent.map(|p| p.source);
        let best = self
            .foreign_masters
            .best(now, window, parent)
            .map(|m| (m.source, m.address, m.dataset, m.unicast, m.time_properties));
        let local = self.local_dataset();
        let recommendation = state_decision(
            &local,
            best.as_ref().map(|b| &b.2),
            self.state,
            self.config.slave_only,
            self.config.master_only,
        );
        match recommendation {
            Recommendation::Listening => {
                if self.state != PortState::Listening {
                    self.enter_listening(now);
                }
            }
            Recommendation::Master => {
                if self.state == PortState::Master {
                    // Keep expiring the (worse) foreign masters heard meanwhile.
                    self.announce_receipt_deadline = self.foreign_masters.next_expiry(timeout);
                } else {
                    self.become_master(now);
                }
            }
            Recommendation::Passive => {
                self.set_parent(
                    now,
                    best.map(
                        |(source, address, dataset, unicast, time_properties)| Parent {
                            source,
                            address,
                            dataset,
                            unicast,
                            time_properties,
                        },
                    ),
                );
                self.set_state(now, PortState::Passive);
                self.announce_receipt_deadline = Some(after(now, timeout));
            }
            Recommendation::Slave => {
                let Some((source, address, dataset, unicast, time_properties)) = best else {
                    return;
                };
                let same_master = self.parent.is_some_and(|p| {
                    p.source == source
                        && p.dataset.grandmaster_identity == dataset.grandmaster_identity
                });
                let last_heard = self
                    .foreign_masters
                    .get(&source)
                    .and_then(|m| m.last_receipt())
                    .unwrap_or(now);
                if same_master && self.state.is_following() {
                    if let Some(parent) = self.parent.as_mut() {
                        parent.dataset = dataset;
                        parent.address = address;
                        parent.unicast = unicast;
                        parent.time_properties = time_properties;
                    }
                    self.announce_receipt_deadline = Some(after(last_heard, timeout));
                    return;
                }
                self.set_parent(
                    now,
                    Some(Parent {
                        source,
                        address,
                        dataset,
                        unicast,
                        time_properties,
                    }),
                );
                self.set_state(now, PortState::Uncalibrated);
                self.start_following(now);
                self.resume_lost_parent(now, source, dataset.grandmaster_identity);
                self.announce_receipt_deadline = Some(after(last_heard, timeout));
            }
        }
    }

    /// The lost master, if it is `source` of `grandmaster` and still remembered at `now`.
    fn take_lost_parent(
        &mut self,
        now: Time,
        source: PortIdentity,
        grandmaster: ClockIdentity,
    ) -> Option<LostParent> {
        let memory = self
            .announce_receipt_timeout_ns()
            .saturating_mul(LOST_MASTER_MEMORY);
        let lost = self.lost_parent.take()?;
        if nanos_since(now, lost.lost_at) > memory {
            return None;
        }
        if lost.source == source && lost.grandmaster_identity == grandmaster {
            Some(lost)
        } else {
            self.lost_parent = Some(lost);
            None
        }
    }

    /// An Announce from the lost master: its latest Announce before the silence counts
    /// towards the qualification window again (FOREIGN_MASTER_THRESHOLD Announces within
    /// FOREIGN_MASTER_TIME_WINDOW, as for any foreign master), so a restarted master that
    /// was silent for less than the window is selected at its first Announce.
    fn recall_lost_parent_announce(&mut self, now: Time, dataset: &ComparisonDataset) {
        if let Some(lost) = self.take_lost_parent(now, dataset.sender, dataset.grandmaster_identity)
        {
            if let Some(at) = lost.last_announce_at {
                self.foreign_masters.recall_receipt(&lost.source, at);
            }
            self.lost_parent = Some(lost);
        }
    }

    /// Following `source` again: when it is the lost master, the estimator resumes (the
    /// master's clock did not change with its process; a step is detected as any other)
    /// and its Sync sequenceIds are tracked from before the silence, so a restart is
    /// recognised.
    fn resume_lost_parent(&mut self, now: Time, source: PortIdentity, grandmaster: ClockIdentity) {
        if let Some(lost) = self.take_lost_parent(now, source, grandmaster) {
            self.follower = lost.follower;
            self.slave.resume_sync_sequence(lost.last_sync_sequence_id);
        }
    }

    /// Enters MASTER: no parent, Announce and Sync start now.
    fn become_master(&mut self, now: Time) {
        self.set_parent(now, None);
        self.set_state(now, PortState::Master);
        self.start_serving(now);
        // Keep listening for better masters: foreign masters expire on this timer.
        self.announce_receipt_deadline = self
            .foreign_masters
            .next_expiry(self.announce_receipt_timeout_ns());
    }

    /// Changes the followed master and reports it when it changes.
    pub(super) fn set_parent(&mut self, _now: Time, parent: Option<Parent<A>>) {
        let before = self
            .parent
            .map(|p| (p.source, p.dataset.grandmaster_identity));
        let after_change = parent.map(|p| (p.source, p.dataset.grandmaster_identity));
        self.parent = parent;
        if before != after_change {
            self.follower.reset();
            self.slave.reset();
            self.push_event(Event::MasterChanged {
                master: parent.map(|p| MasterInfo {
                    grandmaster_identity: p.dataset.grandmaster_identity,
                    parent_port_identity: p.source,
                    address: p.address,
                    dataset: p.dataset,
                    time_properties: p.time_properties,
                }),
            });
        }
    }
}
