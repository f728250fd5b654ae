//! RTP port pairs from a configured range (`--rtp-ports`): an even port for RTP, the next one
//! for RTCP. A cursor walks the range round-robin, and a port in use (another call, another
//! program) is skipped, so nothing needs freeing: a pair is free again when its call's sockets
//! are dropped.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use tokio::net::UdpSocket;

/// The RTP port range of one gateway.
#[derive(Debug)]
pub(crate) struct RtpPorts {
    ip: IpAddr,
    first: u16,
    pairs: u16,
    cursor: Mutex<u16>,
}

impl RtpPorts {
    /// Pairs within `lo..=hi` on `ip` (the first port is rounded up to even).
    pub(crate) fn new(ip: IpAddr, lo: u16, hi: u16) -> RtpPorts {
        let first = lo.saturating_add(lo % 2);
        let pairs = if hi > first { (hi - first).div_ceil(2) } else { 0 };
        RtpPorts { ip, first, pairs, cursor: Mutex::new(0) }
    }

    /// Binds the next free pair: (RTP, RTCP) sockets. `None` when every pair is taken.
    pub(crate) async fn allocate(&self) -> Option<(UdpSocket, UdpSocket)> {
        for _ in 0..self.pairs {
            let k = {
                let mut c = self.cursor.lock().unwrap_or_else(|p| p.into_inner());
                let k = *c;
                *c = (k + 1) % self.pairs;
                k
            };
            let port = self.first + 2 * k;
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(self.ip, port)).await else { continue };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(self.ip, port + 1)).await else { continue };
            return Some((rtp, rtcp));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pairs_are_even_and_taken_ports_skipped() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // Find a free even base in a high range.
        let base = 41_000u16;
        let ports = RtpPorts::new(ip, base + 1, base + 5); // rounds to base+2 .. base+5: 2 pairs
        let (a, a2) = ports.allocate().await.unwrap();
        let pa = a.local_addr().unwrap().port();
        assert_eq!(pa % 2, 0);
        assert_eq!(a2.local_addr().unwrap().port(), pa + 1);
        let (b, _b2) = ports.allocate().await.unwrap();
        assert_ne!(b.local_addr().unwrap().port(), pa);
        assert!(ports.allocate().await.is_none(), "both pairs are in use");
        drop((a, a2));
        assert_eq!(ports.allocate().await.unwrap().0.local_addr().unwrap().port(), pa);
    }
}
