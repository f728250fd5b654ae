//! Sample rates and 20 ms audio frames.

use std::fmt;

/// Milliseconds of audio in one media frame (RTP packetisation time and playout granularity).
pub const FRAME_MS: u32 = 20;

/// The sample rates the media path handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SampleRate {
    /// 8 kHz: G.711 telephony, AudioSocket, Twilio media streams.
    Hz8000,
    /// 16 kHz: speech models (VAD, ASR, end-of-turn).
    Hz16000,
    /// 22.05 kHz: Piper TTS output.
    Hz22050,
    /// 24 kHz: some TTS engines.
    Hz24000,
    /// 48 kHz: Opus fullband, WebRTC.
    Hz48000,
}

/// A sample rate outside [`SampleRate`]'s list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported sample rate {0} Hz: use 8000, 16000, 22050, 24000 or 48000")]
pub struct UnsupportedRate(pub u32);

impl SampleRate {
    /// All supported rates, ascending.
    pub const ALL: [SampleRate; 5] = [
        SampleRate::Hz8000,
        SampleRate::Hz16000,
        SampleRate::Hz22050,
        SampleRate::Hz24000,
        SampleRate::Hz48000,
    ];

    /// Samples per second.
    pub const fn hz(self) -> u32 {
        match self {
            SampleRate::Hz8000 => 8000,
            SampleRate::Hz16000 => 16000,
            SampleRate::Hz22050 => 22050,
            SampleRate::Hz24000 => 24000,
            SampleRate::Hz48000 => 48000,
        }
    }

    /// The rate for `hz`, if supported.
    pub fn from_hz(hz: u32) -> Result<Self, UnsupportedRate> {
        SampleRate::ALL.into_iter().find(|r| r.hz() == hz).ok_or(UnsupportedRate(hz))
    }

    /// Samples in `ms` milliseconds (rounded down; 22.05 kHz frames of 20 ms hold 441 samples).
    pub const fn samples_in_ms(self, ms: u32) -> usize {
        (self.hz() as usize * ms as usize) / 1000
    }

    /// Samples in one [`FRAME_MS`] frame.
    pub const fn frame_len(self) -> usize {
        self.samples_in_ms(FRAME_MS)
    }
}

impl fmt::Display for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.hz())
    }
}

/// A frame of mono signed 16-bit PCM at a known rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFrame {
    /// Sample rate of `samples`.
    pub rate: SampleRate,
    /// Mono samples.
    pub samples: Vec<i16>,
}

impl AudioFrame {
    /// A frame of `FRAME_MS` of silence.
    pub fn silence(rate: SampleRate) -> Self {
        AudioFrame { rate, samples: vec![0; rate.frame_len()] }
    }

    /// Duration of the frame in microseconds.
    pub fn duration_us(&self) -> u64 {
        self.samples.len() as u64 * 1_000_000 / u64::from(self.rate.hz())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_trip_and_frame_sizes() {
        for r in SampleRate::ALL {
            assert_eq!(SampleRate::from_hz(r.hz()), Ok(r));
        }
        assert_eq!(SampleRate::from_hz(11025), Err(UnsupportedRate(11025)));
        assert_eq!(SampleRate::Hz8000.frame_len(), 160);
        assert_eq!(SampleRate::Hz22050.frame_len(), 441);
        assert_eq!(SampleRate::Hz48000.frame_len(), 960);
        assert_eq!(AudioFrame::silence(SampleRate::Hz16000).duration_us(), 20_000);
    }
}
