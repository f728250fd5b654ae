use proptest::prelude::*;

use super::*;

const SIPP_OFFER: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn local() -> LocalMedia {
    LocalMedia::new("192.0.2.10".parse().unwrap(), 40000)
}

#[test]
fn parses_and_reserialises_sipp_sdp() {
    let sdp = SessionDescription::parse(SIPP_OFFER.as_bytes()).unwrap();
    assert_eq!(sdp.origin.session_id, 53655765);
    let m = &sdp.media[0];
    assert_eq!((m.port, m.formats.clone()), (6000, vec!["0".to_owned(), "101".to_owned()]));
    assert_eq!(m.rtpmap("101"), Some(("telephone-event".to_owned(), 8000, 1)));
    assert_eq!(m.fmtp("101"), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(sdp.direction(m), Direction::SendRecv);
    assert_eq!(sdp.connection_addr(m), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(String::from_utf8(sdp.to_bytes()).unwrap(), SIPP_OFFER);
}

#[test]
fn errors_carry_line_numbers() {
    let bad = "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio notaport RTP/AVP 0\r\n";
    assert_eq!(
        SessionDescription::parse(bad.as_bytes()),
        Err(Error::Sdp { line: 4, reason: "bad media port" })
    );
    assert_eq!(
        SessionDescription::parse(b"o=x\r\n"),
        Err(Error::Sdp { line: 1, reason: "first line must be v=0" })
    );
    assert!(SessionDescription::parse(b"v=0\r\ns=-\r\n").is_err(), "o= is mandatory");
    assert!(SessionDescription::parse(b"v=0\r\nnonsense\r\n").is_err());
}

#[test]
fn answers_pcmu_with_telephone_event() {
    let offer = SessionDescription::parse(SIPP_OFFER.as_bytes()).unwrap();
    let (answer, n) = local().answer(&offer).unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!((n.payload_type, n.telephone_event), (0, Some(101)));
    assert_eq!(n.remote, Some("127.0.0.1:6000".parse().unwrap()));
    assert_eq!(n.direction, Direction::SendRecv);
    let m = &answer.media[0];
    assert_eq!(m.port, 40000);
    assert_eq!(m.formats, vec!["0", "101"]);
    assert_eq!(m.fmtp("101"), Some("0-15"), "echoes the offered event range");
    // The answer is itself valid SDP that the offerer accepts.
    let reparsed = SessionDescription::parse(&answer.to_bytes()).unwrap();
    let back = LocalMedia::new("127.0.0.1".parse().unwrap(), 6000).accept_answer(&reparsed).unwrap();
    assert_eq!((back.codec, back.remote), (Codec::Pcmu, Some("192.0.2.10:40000".parse().unwrap())));
}

#[test]
fn picks_by_our_preference_using_offerer_payload_types() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 5000 RTP/AVP 96 8 0 97 98\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 telephone-event/48000\r\n\
a=rtpmap:98 telephone-event/8000\r\n";
    let offer = SessionDescription::parse(offer.as_bytes()).unwrap();
    let mut l = local();
    let (_, n) = l.answer(&offer).unwrap();
    assert_eq!((n.codec, n.payload_type, n.telephone_event), (Codec::Pcmu, 0, Some(98)));
    l.codecs = vec![Codec::Opus, Codec::Pcma];
    let (a, n) = l.answer(&offer).unwrap();
    assert_eq!((n.codec, n.payload_type, n.telephone_event), (Codec::Opus, 96, Some(97)));
    assert_eq!(a.media[0].rtpmap("96"), Some(("opus".to_owned(), 48000, 2)));
    l.telephone_event = false;
    assert_eq!(l.answer(&offer).unwrap().1.telephone_event, None);
}

#[test]
fn rejects_unusable_streams_and_fails_when_none_is_usable() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=video 5002 RTP/AVP 31\r\nm=audio 5000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\nm=audio 5004 RTP/AVP 8\r\n";
    let (a, n) = local().answer(&SessionDescription::parse(offer.as_bytes()).unwrap()).unwrap();
    assert_eq!(a.media.len(), 3, "one answer m-line per offer m-line");
    assert_eq!((a.media[0].port, a.media[0].formats.clone()), (0, vec!["31".to_owned()]));
    assert_eq!(a.media[1].port, 0);
    assert_eq!(a.media[2].port, 40000);
    assert_eq!((n.codec, n.remote), (Codec::Pcma, Some("10.0.0.1:5004".parse().unwrap())));

    let g729 =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 18\r\n";
    assert_eq!(
        local().answer(&SessionDescription::parse(g729.as_bytes()).unwrap()),
        Err(Error::NotAcceptable)
    );
    let srtp =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n";
    assert_eq!(
        local().answer(&SessionDescription::parse(srtp.as_bytes()).unwrap()),
        Err(Error::NotAcceptable)
    );
    let disabled = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    assert_eq!(
        local().answer(&SessionDescription::parse(disabled.as_bytes()).unwrap()),
        Err(Error::NotAcceptable)
    );
}

#[test]
fn hold_and_unhold_directions() {
    let with = |dir: &str, c: &str| {
        let s = format!(
            "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 {c}\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n{dir}"
        );
        local().answer(&SessionDescription::parse(s.as_bytes()).unwrap()).unwrap()
    };
    for (offer, want) in [
        ("a=sendonly\r\n", Direction::RecvOnly),
        ("a=recvonly\r\n", Direction::SendOnly),
        ("a=inactive\r\n", Direction::Inactive),
        ("a=sendrecv\r\n", Direction::SendRecv),
        ("", Direction::SendRecv),
    ] {
        let (a, n) = with(offer, "10.0.0.1");
        assert_eq!(n.direction, want, "{offer}");
        assert_eq!(a.direction(&a.media[0]), want);
    }
    let (_, n) = with("", "0.0.0.0");
    assert_eq!((n.direction, n.remote), (Direction::RecvOnly, None), "RFC 2543 hold");
    // We hold the peer: our sendonly limits a sendrecv offer.
    let mut l = local();
    l.direction = Direction::SendOnly;
    let s =
        "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
    assert_eq!(
        l.answer(&SessionDescription::parse(s.as_bytes()).unwrap()).unwrap().1.direction,
        Direction::SendOnly
    );
}

#[test]
fn our_offer_lists_everything() {
    let o = local().offer();
    let text = String::from_utf8(o.to_bytes()).unwrap();
    assert!(text.contains("m=audio 40000 RTP/AVP 0 8 111 101 102\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:111 opus/48000/2\r\n"));
    assert!(text.contains("a=rtpmap:102 telephone-event/48000\r\n"));
    assert!(text.contains("a=sendrecv\r\n"));
    assert_eq!(SessionDescription::parse(text.as_bytes()).unwrap(), o);
}

proptest! {
    #[test]
    fn arbitrary_sdp_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(s) = SessionDescription::parse(&bytes) {
            let _ = local().answer(&s);
            let _ = local().accept_answer(&s);
        }
    }

    #[test]
    fn generated_offers_round_trip_and_answer(port in 1u16.., pref in proptest::sample::subsequence(vec![Codec::Pcmu, Codec::Pcma, Codec::Opus], 1..=3), te in any::<bool>()) {
        let mut l = local();
        l.port = port;
        l.codecs = pref.clone();
        l.telephone_event = te;
        let offer = l.offer();
        let parsed = SessionDescription::parse(&offer.to_bytes()).unwrap();
        prop_assert_eq!(&parsed, &offer);
        let (_, n) = local().answer(&parsed).unwrap();
        // Our default preference is PCMU, PCMA, Opus: the first of those that was offered wins.
        let want = [Codec::Pcmu, Codec::Pcma, Codec::Opus].into_iter().find(|c| pref.contains(c)).unwrap();
        prop_assert_eq!(n.codec, want);
        prop_assert_eq!(n.telephone_event.is_some(), te);
    }
}
