//! Asterisk AudioSocket transport: Asterisk dials out to us over TCP, one connection per call.
//!
//! No AudioSocket peer can be installed here (Asterisk is not packaged for this platform), so
//! tests speak the published frame format over real TCP.

pub mod frame;
mod server;

pub(crate) use server::serve;
