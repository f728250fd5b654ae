//! Offer/answer (RFC 3264) for one audio stream: PCMU (0), PCMA (8), Opus (dynamic, 48000/2)
//! and telephone-event (RFC 4733, at 8000 Hz for G.711 and 48000 Hz for Opus).
//!
//! Codec choice: the first codec in *our* preference order ([`LocalMedia::codecs`]) that the
//! offer carries, using the offerer's payload type numbers. The first usable audio m-line is
//! accepted; every other m-line is rejected with port 0 (keeping one format, as 3264 section 6
//! requires). No usable audio stream at all is [`Error::NotAcceptable`] (the UA answers 488).
//! Direction: the answer mirrors the offer (sendonly -> recvonly, ...), intersected with ours;
//! an offer with `c=0.0.0.0` (RFC 2543 hold) is treated as sendonly.

use std::net::{IpAddr, SocketAddr};

use super::{Direction, Media, Origin, SessionDescription};
use crate::Error;

/// A codec we can send and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// G.711 mu-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
    /// Opus, dynamic payload type, `opus/48000/2`.
    Opus,
}

impl Codec {
    /// RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::Opus => 48000,
        }
    }

    /// The payload type we use in our own offers.
    pub fn default_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
            Codec::Opus => 111,
        }
    }

    fn rtpmap(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU/8000",
            Codec::Pcma => "PCMA/8000",
            Codec::Opus => "opus/48000/2",
        }
    }

    /// Whether payload type `pt` of media `m` is this codec.
    fn matches(self, m: &Media, pt: &str) -> bool {
        match m.rtpmap(pt) {
            Some((enc, rate, ch)) => match self {
                Codec::Pcmu => enc.eq_ignore_ascii_case("PCMU") && rate == 8000,
                Codec::Pcma => enc.eq_ignore_ascii_case("PCMA") && rate == 8000,
                Codec::Opus => enc.eq_ignore_ascii_case("opus") && rate == 48000 && ch == 2,
            },
            // Static payload types need no rtpmap.
            None => matches!((self, pt), (Codec::Pcmu, "0") | (Codec::Pcma, "8")),
        }
    }
}

/// Our side of the media: where we receive RTP and what we accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address we receive RTP on (goes in `c=` and `o=`).
    pub addr: IpAddr,
    /// RTP port.
    pub port: u16,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// Offer/accept RFC 4733 telephone-event.
    pub telephone_event: bool,
    /// Packetisation time to announce, ms.
    pub ptime: Option<u32>,
    /// The direction we want (sendrecv normally; sendonly to put the peer on hold).
    pub direction: Direction,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` version; bump it for every new description of the same session.
    pub session_version: u64,
}

impl LocalMedia {
    /// Sendrecv media at `addr:port` with PCMU, PCMA, Opus and telephone-event, ptime 20.
    pub fn new(addr: IpAddr, port: u16) -> Self {
        LocalMedia {
            addr,
            port,
            codecs: vec![Codec::Pcmu, Codec::Pcma, Codec::Opus],
            telephone_event: true,
            ptime: Some(20),
            direction: Direction::SendRecv,
            session_id: 1,
            session_version: 1,
        }
    }

    fn skeleton(&self) -> SessionDescription {
        let addr = self.addr.to_string();
        let atype = if self.addr.is_ipv6() { "IP6" } else { "IP4" };
        SessionDescription {
            origin: Origin {
                username: "frontdesk".to_owned(),
                session_id: self.session_id,
                version: self.session_version,
                address: format!("IN {atype} {addr}"),
            },
            session_name: "frontdesk".to_owned(),
            connection: Some(addr),
            other: vec![('t', "0 0".to_owned())],
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    fn tail_attributes(&self, attrs: &mut Vec<(String, Option<String>)>, dir: Direction) {
        if let Some(p) = self.ptime {
            attrs.push(("ptime".to_owned(), Some(p.to_string())));
        }
        attrs.push((dir.as_str().to_owned(), None));
    }

    /// An offer with every codec we accept (telephone-event at 8000 as PT 101 and, with Opus,
    /// at 48000 as PT 102).
    pub fn offer(&self) -> SessionDescription {
        let mut sdp = self.skeleton();
        let mut formats = Vec::new();
        let mut attrs = Vec::new();
        for c in &self.codecs {
            let pt = c.default_payload_type().to_string();
            attrs.push(("rtpmap".to_owned(), Some(format!("{pt} {}", c.rtpmap()))));
            if *c == Codec::Opus {
                attrs.push(("fmtp".to_owned(), Some(format!("{pt} minptime=10;useinbandfec=1"))));
            }
            formats.push(pt);
        }
        if self.telephone_event {
            let mut rates = vec![8000];
            if self.codecs.contains(&Codec::Opus) {
                rates.push(48000);
            }
            for (pt, rate) in [101u8, 102].into_iter().zip(rates) {
                formats.push(pt.to_string());
                attrs.push(("rtpmap".to_owned(), Some(format!("{pt} telephone-event/{rate}"))));
                attrs.push(("fmtp".to_owned(), Some(format!("{pt} 0-16"))));
            }
        }
        self.tail_attributes(&mut attrs, self.direction);
        sdp.media.push(Media {
            kind: "audio".to_owned(),
            port: self.port,
            proto: "RTP/AVP".to_owned(),
            formats,
            connection: None,
            other: Vec::new(),
            attributes: attrs,
        });
        sdp
    }

    /// Answers `offer`: returns our answer and what was agreed.
    pub fn answer(&self, offer: &SessionDescription) -> Result<(SessionDescription, Negotiated), Error> {
        let mut sdp = self.skeleton();
        let mut chosen: Option<Negotiated> = None;
        for m in &offer.media {
            let pick = if chosen.is_none() && m.port != 0 && is_rtp_avp(m) && m.kind == "audio" {
                self.pick(m)
            } else {
                None
            };
            let Some((codec, pt, te)) = pick else {
                sdp.media.push(Media {
                    kind: m.kind.clone(),
                    port: 0,
                    proto: m.proto.clone(),
                    formats: m.formats.first().cloned().into_iter().collect(),
                    connection: None,
                    other: Vec::new(),
                    attributes: Vec::new(),
                });
                continue;
            };
            let held = offer.connection_addr(m).is_some_and(|a| a.is_unspecified());
            let offered = if held { Direction::SendOnly } else { offer.direction(m) };
            let mine = offered.reversed();
            let dir = Direction::from_flags(
                mine.sends() && self.direction.sends(),
                mine.receives() && self.direction.receives(),
            );
            let mut attrs = vec![("rtpmap".to_owned(), Some(format!("{pt} {}", codec.rtpmap())))];
            if let Some(f) = m.fmtp(&pt.to_string()) {
                attrs.push(("fmtp".to_owned(), Some(format!("{pt} {f}"))));
            }
            let mut formats = vec![pt.to_string()];
            if let Some(te) = te {
                formats.push(te.to_string());
                attrs.push((
                    "rtpmap".to_owned(),
                    Some(format!("{te} telephone-event/{}", codec.clock_rate())),
                ));
                attrs.push((
                    "fmtp".to_owned(),
                    Some(format!("{te} {}", m.fmtp(&te.to_string()).unwrap_or("0-16"))),
                ));
            }
            self.tail_attributes(&mut attrs, dir);
            sdp.media.push(Media {
                kind: m.kind.clone(),
                port: self.port,
                proto: m.proto.clone(),
                formats,
                connection: None,
                other: Vec::new(),
                attributes: attrs,
            });
            let remote =
                offer.connection_addr(m).filter(|a| !a.is_unspecified()).map(|a| SocketAddr::new(a, m.port));
            chosen = Some(Negotiated {
                codec,
                payload_type: pt,
                telephone_event: te,
                remote,
                direction: dir,
                remote_ptime: m.ptime(),
            });
        }
        let n = chosen.ok_or(Error::NotAcceptable)?;
        Ok((sdp, n))
    }

    /// What to send/receive given our `offer` and the peer's `answer`.
    pub fn accept_answer(&self, answer: &SessionDescription) -> Result<Negotiated, Error> {
        for m in &answer.media {
            if m.port == 0 || m.kind != "audio" || !is_rtp_avp(m) {
                continue;
            }
            // The answerer lists what it will use; take its first format that is ours.
            let Some((codec, pt)) = m.formats.iter().find_map(|f| {
                let pt: u8 = f.parse().ok()?;
                self.codecs.iter().find(|c| c.matches(m, f)).map(|c| (*c, pt))
            }) else {
                continue;
            };
            let te = telephone_event_pt(m, codec.clock_rate());
            let held = answer.connection_addr(m).is_some_and(|a| a.is_unspecified());
            let theirs = if held { Direction::SendOnly } else { answer.direction(m) };
            let mine = theirs.reversed();
            let direction = Direction::from_flags(
                mine.sends() && self.direction.sends(),
                mine.receives() && self.direction.receives(),
            );
            let remote =
                answer.connection_addr(m).filter(|a| !a.is_unspecified()).map(|a| SocketAddr::new(a, m.port));
            return Ok(Negotiated {
                codec,
                payload_type: pt,
                telephone_event: te,
                remote,
                direction,
                remote_ptime: m.ptime(),
            });
        }
        Err(Error::NotAcceptable)
    }

    fn pick(&self, m: &Media) -> Option<(Codec, u8, Option<u8>)> {
        self.codecs.iter().find_map(|c| {
            let f = m.formats.iter().find(|f| c.matches(m, f))?;
            let pt: u8 = f.parse().ok().filter(|p| *p < 128)?;
            let te = if self.telephone_event { telephone_event_pt(m, c.clock_rate()) } else { None };
            Some((*c, pt, te))
        })
    }
}

fn is_rtp_avp(m: &Media) -> bool {
    m.proto.eq_ignore_ascii_case("RTP/AVP") || m.proto.eq_ignore_ascii_case("RTP/AVPF")
}

fn telephone_event_pt(m: &Media, rate: u32) -> Option<u8> {
    m.formats.iter().find_map(|f| {
        let (enc, r, _) = m.rtpmap(f)?;
        (enc.eq_ignore_ascii_case("telephone-event") && r == rate).then(|| f.parse().ok()).flatten()
    })
}

/// The outcome of offer/answer for the audio stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Codec to send and expect.
    pub codec: Codec,
    /// Its payload type number (the offerer's numbering).
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type at the codec's clock rate, if agreed.
    pub telephone_event: Option<u8>,
    /// Where to send RTP (`None` while the peer gave no address, e.g. `c=0.0.0.0` hold).
    pub remote: Option<SocketAddr>,
    /// Our direction: whether we send and/or receive.
    pub direction: Direction,
    /// The peer's `a=ptime`, if any.
    pub remote_ptime: Option<u32>,
}
