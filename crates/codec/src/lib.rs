//! Audio codecs and resampling for the media path (sans-IO: pure functions and state machines
//! that are handed samples and bytes and hand them back; no clocks, no sockets, no threads).
//!
//! - [`g711`]: mu-law and A-law, bit-exact with the ITU-T G.711 reference (G.191), checked
//!   against it and against sox on all 65,536 inputs.
//! - [`opus`]: Opus through libopus (`audiopus`), 20 ms VOIP frames at 8/16/24/48 kHz, with
//!   packet-loss concealment and in-band FEC.
//! - [`resample`]: streaming polyphase sinc resampling between 8, 16, 22.05, 24 and 48 kHz,
//!   fed in chunks of any size, continuous across chunk joints, 4 ms delay at 8 kHz.
//!
//! One error type, [`CodecError`], names what was wrong with the input.

mod error;
pub mod g711;
pub mod opus;
mod polyphase;
pub mod resample;

pub use error::CodecError;
pub use g711::Law;
pub use opus::{DecoderStats, OpusConfig, OpusDecoder, OpusEncoder};
pub use resample::Resampler;

#[cfg(test)]
mod tests {
    /// Coders move into the shell's per-call tasks: they must be `Send`.
    #[test]
    fn coders_are_send() {
        fn send<T: Send>() {}
        send::<crate::OpusEncoder>();
        send::<crate::OpusDecoder>();
        send::<crate::Resampler>();
        send::<crate::CodecError>();
    }
}
