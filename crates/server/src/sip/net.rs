//! SIP over TCP: one task per connection (accepted or opened by us), framed with the sip
//! crate's [`StreamFramer`]; the SIP task keeps a map from peer address to connection so a
//! [`frontdesk_sip::Transmit`] goes out on the connection to its destination, opening one when
//! there is none (RFC 3261 18.2.2: responses on the connection the request came on).

use std::collections::HashMap;
use std::net::SocketAddr;

use frontdesk_sip::message::StreamFramer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::debug;

/// Messages a connection sends to a peer, buffered per connection.
const CONN_DEPTH: usize = 256;

/// What the network side tells the SIP task.
#[derive(Debug)]
pub(super) enum NetIn {
    /// One SIP message framed from a TCP connection.
    Message { from: SocketAddr, bytes: Vec<u8> },
    /// A connection we opened is up.
    Connected { peer: SocketAddr, stream: TcpStream },
    /// Opening a connection failed.
    ConnectFailed { peer: SocketAddr },
    /// A connection closed (either side, or its stream could not be framed).
    Closed { peer: SocketAddr },
}

/// The SIP task's TCP connections.
#[derive(Debug)]
pub(super) struct TcpConns {
    conns: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    pending: HashMap<SocketAddr, Vec<Vec<u8>>>,
    net_tx: mpsc::Sender<NetIn>,
}

impl TcpConns {
    pub(super) fn new(net_tx: mpsc::Sender<NetIn>) -> TcpConns {
        TcpConns { conns: HashMap::new(), pending: HashMap::new(), net_tx }
    }

    /// Takes over a connection (accepted, or opened by us) and starts its task.
    pub(super) fn adopt(&mut self, stream: TcpStream, peer: SocketAddr) {
        let (tx, rx) = mpsc::channel(CONN_DEPTH);
        for msg in self.pending.remove(&peer).unwrap_or_default() {
            let _ = tx.try_send(msg);
        }
        self.conns.insert(peer, tx);
        tokio::spawn(connection(stream, peer, rx, self.net_tx.clone()));
    }

    /// Sends one message to `dest`, opening a connection if there is none. Returns `false` when
    /// it could not even be queued (the connection is wedged): a transport error.
    pub(super) fn send(&mut self, dest: SocketAddr, payload: Vec<u8>) -> bool {
        if let Some(tx) = self.conns.get(&dest) {
            return tx.try_send(payload).is_ok();
        }
        let queue = self.pending.entry(dest).or_default();
        queue.push(payload);
        if queue.len() == 1 {
            let net_tx = self.net_tx.clone();
            tokio::spawn(async move {
                let msg = match TcpStream::connect(dest).await {
                    Ok(stream) => NetIn::Connected { peer: dest, stream },
                    Err(e) => {
                        debug!(%dest, "sip tcp connect failed: {e}");
                        NetIn::ConnectFailed { peer: dest }
                    }
                };
                let _ = net_tx.send(msg).await;
            });
        }
        true
    }

    /// A connect attempt failed: what was queued for it is dropped.
    pub(super) fn failed(&mut self, peer: SocketAddr) {
        self.pending.remove(&peer);
    }

    /// A connection's task ended.
    pub(super) fn closed(&mut self, peer: SocketAddr) {
        self.conns.remove(&peer);
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    mut out: mpsc::Receiver<Vec<u8>>,
    net_tx: mpsc::Sender<NetIn>,
) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 16 * 1024];
    'conn: loop {
        tokio::select! {
            n = rd.read(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.push(&buf[..n]);
                loop {
                    match framer.next_message() {
                        Ok(Some(bytes)) => {
                            if net_tx.send(NetIn::Message { from: peer, bytes }).await.is_err() {
                                break 'conn;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            // Unrecoverable framing (no Content-Length, oversized): close.
                            debug!(%peer, "sip tcp stream closed: {e}");
                            break 'conn;
                        }
                    }
                }
            }
            msg = out.recv() => match msg {
                Some(bytes) => {
                    if wr.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let _ = wr.shutdown().await;
    let _ = net_tx.send(NetIn::Closed { peer }).await;
}
