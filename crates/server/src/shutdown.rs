//! Graceful shutdown: stop accepting, let calls finish, then hang up what is left.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Shared by every listener and call task.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shutdown {
    /// Cancelled first: listeners stop accepting new calls.
    pub(crate) stop_accepting: CancellationToken,
    /// Cancelled when the drain time is over: calls still up are hung up.
    pub(crate) hang_up: CancellationToken,
    /// Every call task, so shutdown can wait for them.
    pub(crate) calls: TaskTracker,
}

impl Shutdown {
    /// Stops accepting, waits up to `drain` for calls to end, hangs up the rest and waits for
    /// them to close their transports. Returns how many calls had to be hung up.
    pub(crate) async fn drain(&self, drain: Duration) -> usize {
        self.stop_accepting.cancel();
        self.calls.close();
        let left =
            if tokio::time::timeout(drain, self.calls.wait()).await.is_ok() { 0 } else { self.calls.len() };
        self.hang_up.cancel();
        self.calls.wait().await;
        left
    }
}
