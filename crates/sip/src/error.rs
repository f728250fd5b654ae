//! The crate's one error type.

/// Everything that can go wrong in the SIP core.
///
/// Parse errors carry a short static description of *what* was malformed; they never echo the
/// offending bytes (those may hold caller data).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A SIP message (start line, header or framing) could not be parsed.
    #[error("malformed SIP message: {0}")]
    Malformed(&'static str),
    /// A required header is missing or unparseable (the shell answers 400 to requests).
    #[error("missing or invalid {0} header")]
    BadHeader(&'static str),
    /// The buffer holds only part of a message (TCP framing: read more bytes).
    #[error("incomplete message: need more bytes")]
    Incomplete,
    /// The message exceeds the size limit.
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    /// A session description could not be parsed.
    #[error("malformed SDP at line {line}: {reason}")]
    Sdp {
        /// 1-based line number in the SDP body.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// Offer/answer found no codec and stream we can use (the core answers 488).
    #[error("no acceptable media in the offer")]
    NotAcceptable,
    /// A URI's host is not an IP literal and no destination address was given (resolve it in the shell).
    #[error("cannot route to a host name without a resolved address")]
    Unresolved,
    /// The call handle is unknown or already ended.
    #[error("unknown call")]
    UnknownCall,
    /// The command does not fit the call's current state.
    #[error("invalid in the current state: {0}")]
    InvalidState(&'static str),
    /// A digest challenge could not be answered.
    #[error("cannot answer authentication challenge: {0}")]
    Auth(&'static str),
}
