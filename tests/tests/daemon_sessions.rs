//! A thousand sessions opened and closed over the socket: the registry ends empty, no record is
//! left in shared memory, and the memory the process holds comes back to where it was.
//!
//! One test in this file on purpose: the counting allocator sees the whole process, so no other
//! test may allocate beside it.

mod daemon_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use aptp::client::{Client, OpenSession, SessionRole};
use aptp_service::sessions::{RecordPolicy, RegistryLimits};
use daemon_support::TestDaemon;

/// Counts the bytes the process holds.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SESSIONS: usize = 1000;

/// Opens `count` sessions at once (each with its shared-memory record), then closes them all.
fn open_and_close(client: &mut Client, count: usize) {
    let mut ids = Vec::with_capacity(count);
    for index in 0..count {
        let session = client
            .open(&OpenSession {
                role: if index % 2 == 0 {
                    SessionRole::Follower
                } else {
                    SessionRole::Grandmaster
                },
                peers: vec![format!("192.0.2.{}", index % 250 + 1).parse().unwrap()],
                name: None,
                lease_ms: Some(60_000),
            })
            .unwrap();
        ids.push(session.id);
    }
    assert_eq!(client.status().unwrap().sessions.len(), count);
    for id in ids {
        client.close(id).unwrap();
    }
}

fn leftover_records() -> Vec<String> {
    let prefix = format!("aptp-{}-", std::process::id());
    std::fs::read_dir("/dev/shm")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_thousand_sessions_leave_nothing_behind() {
    let daemon = TestDaemon::start(RegistryLimits::default(), RecordPolicy::Nqptp);
    let mut client = Client::connect(&daemon.socket).unwrap();
    // Warm up: every lazily grown buffer (the event ring keeps the last 1024 events, maps keep
    // their capacity) reaches its steady size.
    open_and_close(&mut client, SESSIONS);
    let before = LIVE_BYTES.load(Ordering::Relaxed);

    open_and_close(&mut client, SESSIONS);
    let after = LIVE_BYTES.load(Ordering::Relaxed);

    let status = client.status().unwrap();
    assert!(status.sessions.is_empty());
    assert_eq!(status.sessions_opened, 2 * SESSIONS as u64);
    assert!(daemon.state.registry().is_empty());
    assert_eq!(
        leftover_records(),
        Vec::<String>::new(),
        "records outlived their sessions"
    );
    let grown = after - before;
    println!(
        "live heap before {before} B, after {after} B, grown {grown} B over {SESSIONS} sessions"
    );
    // A leak of even 16 bytes a session would show as 16000.
    assert!(
        grown < 8 * 1024,
        "the heap grew by {grown} bytes over {SESSIONS} sessions"
    );
}
