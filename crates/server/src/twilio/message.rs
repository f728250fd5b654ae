//! Twilio Media Streams messages (JSON text frames over a WebSocket), sans-IO.
//!
//! In: `connected`, `start` (stream and call ids, custom parameters, media format), `media`
//! (base64 of 20 ms of 8 kHz mu-law), `dtmf`, `mark` (a mark we sent has been played), `stop`.
//! Out: `media`, `mark`, `clear` (flush the audio Twilio has queued: barge-in).
//! Twilio sends `sequenceNumber`, `chunk` and `timestamp` as JSON strings; we accept numbers too.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use frontdesk_types::Digit;
use serde::{Deserialize, Serialize};

/// A message from Twilio.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Inbound {
    /// The WebSocket is connected; `start` follows.
    Connected {
        /// Protocol name ("Call").
        #[serde(default)]
        protocol: Option<String>,
    },
    /// The stream starts.
    Start {
        /// Stream metadata.
        start: Start,
    },
    /// 20 ms of caller audio.
    Media {
        /// The audio chunk.
        media: Media,
    },
    /// The caller pressed a key.
    Dtmf {
        /// The key.
        dtmf: DtmfEvent,
    },
    /// Audio up to a mark we sent has been played to the caller.
    Mark {
        /// The mark.
        mark: MarkName,
    },
    /// The stream (call) ended.
    Stop,
}

/// The `start` message's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    /// Stream id; every outbound message names it.
    pub stream_sid: String,
    /// The Twilio call id.
    #[serde(default)]
    pub call_sid: String,
    /// `<Parameter>`s from the TwiML `<Stream>`, passed to the call's flow.
    #[serde(default)]
    pub custom_parameters: BTreeMap<String, String>,
    /// Audio format; only `audio/x-mulaw` at 8000 Hz mono is defined by Twilio.
    #[serde(default)]
    pub media_format: Option<MediaFormat>,
}

/// Audio format of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    /// MIME type, `audio/x-mulaw`.
    pub encoding: String,
    /// Samples per second, 8000.
    pub sample_rate: u32,
    /// Channels, 1.
    pub channels: u32,
}

/// A `media` message's body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Media {
    /// Base64 of mu-law bytes.
    pub payload: String,
    /// "inbound" or "outbound".
    #[serde(default)]
    pub track: Option<String>,
}

/// A `dtmf` message's body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DtmfEvent {
    /// The key, as a one-character string.
    pub digit: String,
}

/// A `mark` message's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkName {
    /// The name we gave the mark.
    pub name: String,
}

/// A message we send to Twilio.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Outbound {
    /// Audio to play to the caller.
    #[serde(rename_all = "camelCase")]
    Media {
        /// Stream id from `start`.
        stream_sid: String,
        /// The audio.
        media: OutMedia,
    },
    /// Ask Twilio to echo a `mark` once the audio sent so far has played.
    #[serde(rename_all = "camelCase")]
    Mark {
        /// Stream id from `start`.
        stream_sid: String,
        /// The mark.
        mark: MarkName,
    },
    /// Drop the audio Twilio has queued (barge-in).
    #[serde(rename_all = "camelCase")]
    Clear {
        /// Stream id from `start`.
        stream_sid: String,
    },
}

/// An outbound `media` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutMedia {
    /// Base64 of mu-law bytes.
    pub payload: String,
}

/// A message that could not be understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Not JSON, or not a Media Streams message.
    #[error("not a Twilio Media Streams message: {0}")]
    Json(#[from] serde_json::Error),
    /// A `media` payload that is not base64.
    #[error("media payload is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// A `dtmf` digit that is not a key.
    #[error("dtmf event carries {0:?}, not a DTMF key")]
    BadDigit(String),
    /// A media format other than 8 kHz mono mu-law.
    #[error("unsupported media format {0}: only audio/x-mulaw at 8000 Hz, 1 channel")]
    UnsupportedFormat(String),
}

impl Inbound {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Inbound, MessageError> {
        let msg: Inbound = serde_json::from_str(text)?;
        if let Inbound::Start { start: Start { media_format: Some(f), .. } } = &msg
            && (f.encoding != "audio/x-mulaw" || f.sample_rate != 8000 || f.channels != 1)
        {
            return Err(MessageError::UnsupportedFormat(format!(
                "{} {} Hz x{}",
                f.encoding, f.sample_rate, f.channels
            )));
        }
        Ok(msg)
    }
}

impl Media {
    /// The mu-law bytes.
    pub fn decode(&self) -> Result<Vec<u8>, MessageError> {
        Ok(BASE64.decode(&self.payload)?)
    }
}

impl DtmfEvent {
    /// The key.
    pub fn digit(&self) -> Result<Digit, MessageError> {
        let mut chars = self.digit.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Digit::from_char(c).map_err(|_| MessageError::BadDigit(self.digit.clone())),
            _ => Err(MessageError::BadDigit(self.digit.clone())),
        }
    }
}

impl Outbound {
    /// A `media` message carrying `ulaw` bytes.
    pub fn media(stream_sid: &str, ulaw: &[u8]) -> Outbound {
        Outbound::Media {
            stream_sid: stream_sid.to_owned(),
            media: OutMedia { payload: BASE64.encode(ulaw) },
        }
    }

    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail (no maps with non-string keys, no floats).
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_twilio_messages() {
        let start = r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1",
            "callSid":"CA1","tracks":["inbound"],"customParameters":{"patient":"42"},
            "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}"#;
        let Inbound::Start { start } = Inbound::parse(start).unwrap() else { panic!("not start") };
        assert_eq!((start.stream_sid.as_str(), start.call_sid.as_str()), ("MZ1", "CA1"));
        assert_eq!(start.custom_parameters.get("patient").map(String::as_str), Some("42"));

        let media = r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1",
            "timestamp":"5","payload":"/38="},"streamSid":"MZ1"}"#;
        let Inbound::Media { media } = Inbound::parse(media).unwrap() else { panic!("not media") };
        assert_eq!(media.decode().unwrap(), vec![0xff, 0x7f]);

        let dtmf = r##"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"#"}}"##;
        let Inbound::Dtmf { dtmf } = Inbound::parse(dtmf).unwrap() else { panic!("not dtmf") };
        assert_eq!(dtmf.digit().unwrap().as_char(), '#');

        assert_eq!(
            Inbound::parse(r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"u7"}}"#).unwrap(),
            Inbound::Mark { mark: MarkName { name: "u7".into() } }
        );
        assert_eq!(Inbound::parse(r#"{"event":"stop","streamSid":"MZ1","stop":{}}"#).unwrap(), Inbound::Stop);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        assert!(matches!(Inbound::parse("{not json"), Err(MessageError::Json(_))));
        assert!(matches!(Inbound::parse(r#"{"event":"bogus"}"#), Err(MessageError::Json(_))));
        let l16 = r#"{"event":"start","start":{"streamSid":"MZ1","mediaFormat":{"encoding":"audio/l16","sampleRate":16000,"channels":1}}}"#;
        assert!(matches!(Inbound::parse(l16), Err(MessageError::UnsupportedFormat(_))));
        let bad = DtmfEvent { digit: "12".into() };
        assert!(matches!(bad.digit(), Err(MessageError::BadDigit(_))));
    }

    #[test]
    fn serialises_outbound_as_twilio_expects() {
        assert_eq!(
            Outbound::media("MZ1", &[0xff, 0x7f]).to_json(),
            r#"{"event":"media","streamSid":"MZ1","media":{"payload":"/38="}}"#
        );
        assert_eq!(
            Outbound::Clear { stream_sid: "MZ1".into() }.to_json(),
            r#"{"event":"clear","streamSid":"MZ1"}"#
        );
        let mark = Outbound::Mark { stream_sid: "MZ1".into(), mark: MarkName { name: "u1".into() } };
        assert_eq!(mark.to_json(), r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"u1"}}"#);
    }
}
