//! YAML flow parser + checker, and the knowledge-base parser, on arbitrary text.
//!
//! Input: any bytes, read as UTF-8 (lossily). The text goes through `parse_flow`; a flow that
//! parses goes through `check`, and every diagnostic must say what is wrong. The same text is
//! also parsed as a knowledge base. Panics (and stack overflows on deep nesting) are findings.
//! Seeds: `fuzz/seeds/flow_yaml/` (the example flows).
#![no_main]

use frontdesk_flow::{Kb, check::check, parse::parse_flow};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    match parse_flow(&src) {
        Ok(flow) => {
            for d in check(&flow) {
                assert!(!d.message.is_empty(), "a diagnostic without a message: {d:?}");
            }
        }
        Err(diags) => assert!(!diags.is_empty(), "a failed parse must say why"),
    }
    let _ = Kb::parse(&src);
});
