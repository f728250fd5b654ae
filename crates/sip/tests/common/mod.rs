//! Test harness: two endpoints wired back to back on a fake clock (after quinn-proto's
//! `Pair`), with per-direction packet loss and a log of everything sent.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use frontdesk_sip::{Config, Endpoint, Event, LocalMedia, Transmit, Transport};
use frontdesk_types::Instant;

pub type DropFilter = Box<dyn FnMut(&str) -> bool>;

pub struct Node {
    pub ep: Endpoint,
    pub addr: SocketAddr,
    pub events: VecDeque<Event>,
    /// Every message this node sent: (time, text, destination).
    pub sent: Vec<(Instant, String, SocketAddr)>,
    /// Returns true for outgoing messages to lose.
    pub drop: Option<DropFilter>,
    inbound: VecDeque<(Instant, Transport, SocketAddr, Vec<u8>)>,
}

impl Node {
    pub fn new(addr: &str, seed: u64) -> Self {
        let addr: SocketAddr = addr.parse().unwrap();
        let mut cfg = Config::new(addr);
        cfg.seed = seed;
        Node::with_config(cfg)
    }

    pub fn with_config(cfg: Config) -> Self {
        Node {
            addr: cfg.local_addr,
            ep: Endpoint::new(cfg),
            events: VecDeque::new(),
            sent: Vec::new(),
            drop: None,
            inbound: VecDeque::new(),
        }
    }

    pub fn media(&self, port: u16) -> LocalMedia {
        LocalMedia::new(self.addr.ip(), port)
    }

    /// Sent messages whose first line starts with `start` (e.g. "SIP/2.0 200", "BYE").
    pub fn sent_matching(&self, start: &str) -> Vec<(Instant, String)> {
        self.sent.iter().filter(|(_, s, _)| s.starts_with(start)).map(|(t, s, _)| (*t, s.clone())).collect()
    }

    /// Milliseconds at which messages starting with `start` were sent.
    pub fn sent_times_ms(&self, start: &str) -> Vec<u64> {
        self.sent_matching(start).iter().map(|(t, _)| t.as_micros() / 1000).collect()
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }
}

pub struct Pair {
    pub now: Instant,
    pub a: Node,
    pub b: Node,
    /// One-way network delay.
    pub latency: Duration,
}

impl Pair {
    pub fn new() -> Self {
        Pair {
            now: Instant::from_millis(1_000),
            a: Node::new("10.0.0.1:5060", 1),
            b: Node::new("10.0.0.2:5060", 2),
            latency: Duration::from_millis(10),
        }
    }

    /// Moves sends into the other node's inbound queue and events into the node's list.
    fn collect(&mut self) -> bool {
        let mut moved = false;
        for side in 0..2 {
            let (src, dst) = if side == 0 { (&mut self.a, &mut self.b) } else { (&mut self.b, &mut self.a) };
            while let Some(Transmit { destination, payload, transport }) = src.ep.poll_transmit() {
                moved = true;
                let text = String::from_utf8_lossy(&payload).into_owned();
                src.sent.push((self.now, text.clone(), destination));
                let lost = src.drop.as_mut().is_some_and(|f| f(&text));
                if !lost && destination == dst.addr {
                    dst.inbound.push_back((self.now + self.latency, transport, src.addr, payload));
                }
            }
            while let Some(e) = src.ep.poll_event() {
                moved = true;
                src.events.push_back(e);
            }
        }
        moved
    }

    /// Processes everything due at `self.now`.
    fn step(&mut self) {
        loop {
            self.collect();
            let now = self.now;
            let mut delivered = false;
            for node in [&mut self.a, &mut self.b] {
                if node.ep.poll_timeout().is_some_and(|t| t <= now) {
                    node.ep.handle_timeout(now);
                    delivered = true;
                }
                while node.inbound.front().is_some_and(|(t, ..)| *t <= now) {
                    let Some((_, transport, from, bytes)) = node.inbound.pop_front() else { break };
                    let _ = node.ep.handle_input(now, transport, from, &bytes);
                    delivered = true;
                }
            }
            if !delivered && !self.collect() {
                return;
            }
        }
    }

    /// Runs the simulation until `until`, jumping from event to event.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            self.step();
            let next = [
                self.a.ep.poll_timeout(),
                self.b.ep.poll_timeout(),
                self.a.inbound.front().map(|p| p.0),
                self.b.inbound.front().map(|p| p.0),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= until => self.now = t.max(self.now),
                _ => {
                    self.now = until;
                    self.step();
                    return;
                }
            }
        }
    }

    /// Runs for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Lets every exchange in flight finish (a few latencies).
    pub fn drive(&mut self) {
        self.run_for(self.latency * 8);
    }
}
pub mod wire;
