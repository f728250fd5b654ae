//! Audio codecs and resampling for the media path (sans-IO: pure functions and state machines).
//!
//! - [`g711`]: mu-law and A-law, bit-exact with the ITU-T G.711 reference tables.

pub mod g711;
