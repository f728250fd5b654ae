//! The one error type of the benchmark.

use std::path::PathBuf;

/// What went wrong while loading clips, talking to the server or writing results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A clip set is missing or unreadable.
    #[error("{path}: {why} (generate the audio: python3 eval/voice/gen_corpus.py audio, and bench-audio)")]
    Clips {
        /// The file.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// A WAV file is not 8 kHz mono 16-bit.
    #[error("{path}: {why}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// The WebSocket could not be opened or failed.
    #[error("websocket {url}: {why} (is `frontdesk serve` running with --http on that port?)")]
    Connect {
        /// Where.
        url: String,
        /// What failed.
        why: String,
    },
    /// Writing the results failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A flag has a bad value.
    #[error("{0}")]
    Usage(String),
}
