//! Property tests: serialise -> parse round trip; arbitrary input never panics.

use proptest::prelude::*;

use super::*;

fn uri() -> impl Strategy<Value = SipUri> {
    (
        any::<bool>(),
        proptest::option::of("[a-z0-9+.]{1,12}"),
        prop_oneof!["[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?", "10\\.[0-9]{1,2}\\.0\\.[0-9]{1,3}"],
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(("[a-z]{1,6}", proptest::option::of("[a-z0-9]{1,6}")), 0..3),
    )
        .prop_map(|(secure, user, host, port, params)| SipUri {
            secure,
            user,
            host,
            port,
            params,
            headers: None,
        })
}

fn headers() -> impl Strategy<Value = Headers> {
    proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,14}", "([!-~]([ -~]{0,40}[!-~])?)?"), 0..12).prop_map(
        |hs| {
            Headers(
                hs.into_iter()
                    .map(|(n, v)| (canonical_name(&n), v))
                    .filter(|(n, _)| !n.eq_ignore_ascii_case("Content-Length"))
                    .collect(),
            )
        },
    )
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Refer),
        "[A-Z]{3,10}".prop_map(|s| Method::parse(&s).unwrap()),
    ]
}

proptest! {
    #[test]
    fn request_round_trips(method in method(), uri in uri(), headers in headers(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let req = Request { method, uri, headers, body };
        prop_assert_eq!(Message::parse(&req.to_bytes()).unwrap(), Message::Request(req));
    }

    #[test]
    fn response_round_trips(code in 100u16..700, reason in "[A-Za-z]([A-Za-z ]{0,20}[A-Za-z])?", headers in headers(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let resp = Response { code, reason, headers, body };
        prop_assert_eq!(Message::parse(&resp.to_bytes()).unwrap(), Message::Response(resp));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = Message::parse(&bytes) {
            // Whatever parsed also reads its typed headers without panicking.
            let h = m.headers();
            let _ = (h.top_via(), h.from(), h.to(), h.cseq(), h.call_id(), h.contact(), h.name_addrs("Record-Route"));
        }
        let mut f = StreamFramer::new();
        f.push(&bytes);
        while let Ok(Some(_)) = f.next_message() {}
    }

    #[test]
    fn mutated_messages_never_panic(cut in 0usize..400, idx in 0usize..400, byte in any::<u8>()) {
        let mut m = b"INVITE sip:bob@10.0.0.1:5060;transport=udp SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport\r\nFrom: \"A\" <sip:a@10.0.0.2>;tag=1\r\nTo: <sip:bob@10.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:[::1];lr>\r\nContent-Length: 4\r\n\r\nv=0\n".to_vec();
        if let Some(b) = m.get_mut(idx) { *b = byte; }
        m.truncate(cut.max(1));
        if let Ok(msg) = Message::parse(&m) {
            let h = msg.headers();
            let _ = (h.top_via(), h.from(), h.to(), h.cseq(), h.name_addrs("Record-Route"));
        }
    }
}
