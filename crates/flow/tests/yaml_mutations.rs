//! Property test: mutated versions of `flows/clinic.yaml` (bytes deleted, YAML punctuation
//! inserted, lines duplicated, swapped or re-indented, the file truncated) never make the
//! parser or the checker panic, and every rejection says what is wrong.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::PathBuf;

use frontdesk_flow::check::check;
use frontdesk_flow::parse::parse_flow;
use proptest::prelude::*;

fn clinic() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows/clinic.yaml");
    std::fs::read_to_string(p).unwrap()
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let junk = prop::collection::vec(
        prop::sample::select(vec![
            ":", "-", " ", "\n", "{", "}", "[", "]", "'", "\"", "#", "&a", "*a", "!!str", "|", ">", "? ",
            "%", "\t", "{{", "}}", "goto: x", "if: ", "==", "nodes:", "é", "0x", "~", "null",
        ]),
        1..6,
    )
    .prop_map(|v| v.concat());
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), junk).prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0..6usize).prop_map(|(a, n)| Mutation::Indent(a, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(src: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    let mut lines: Vec<String> = src.lines().map(str::to_owned).collect();
    let n = chars.len().max(1);
    let l = lines.len().max(1);
    match m {
        Mutation::Delete(a, k) => {
            let a = a % n;
            chars.drain(a..(a + k).min(chars.len()));
        }
        Mutation::Insert(a, s) => {
            let a = a % n;
            chars.splice(a..a, s.chars());
        }
        Mutation::DuplicateLine(a) => {
            let line = lines.get(a % l).cloned().unwrap_or_default();
            lines.insert(a % l, line);
            return lines.join("\n");
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % l, b % l);
            }
            return lines.join("\n");
        }
        Mutation::Indent(a, k) => {
            if let Some(line) = lines.get_mut(a % l) {
                *line = format!("{}{}", " ".repeat(*k), line.trim_start());
            }
            return lines.join("\n");
        }
        Mutation::Truncate(a) => chars.truncate(a % n),
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_clinic_flow_never_panics(ms in prop::collection::vec(mutation(), 1..4)) {
        let mut src = clinic();
        for m in &ms {
            src = apply(&src, m);
        }
        match parse_flow(&src) {
            Ok(flow) => {
                for d in check(&flow) {
                    prop_assert!(!d.message.is_empty(), "{d:?}");
                }
            }
            Err(diags) => {
                prop_assert!(!diags.is_empty());
                prop_assert!(diags.iter().all(|d| !d.message.is_empty() && d.pos.line > 0), "{diags:?}");
            }
        }
    }
}

#[test]
fn the_unmutated_flow_parses_and_checks_clean() {
    let flow = parse_flow(&clinic()).unwrap();
    assert!(check(&flow).is_empty());
}
