//! The scheduling nodes: `find_slots`, `book`, `lookup`, `cancel` (see [`crate::ast::FindSlots`]
//! and friends). Cross-checks (slot kinds, appointment types, providers) are in
//! [`crate::check`].

use super::nodes::reprompts;
use super::template;
use super::yaml::{Ctx, Y, get, map, string};
use crate::ast::{Book, CancelAppt, FindSlots, Lookup, NodeKind, Pos};

const REPROMPT_KEYS: &[&str] = &["no_input", "no_match", "max_tries", "escalate"];

fn keys(own: &[&'static str]) -> Vec<&'static str> {
    let mut k = own.to_vec();
    k.extend_from_slice(REPROMPT_KEYS);
    k
}

/// Parses one scheduling action (`k` is its key).
pub(super) fn action(cx: &mut Ctx, k: &str, kpos: Pos, v: &Y<'_>) -> Option<NodeKind> {
    Some(match k {
        "find_slots" => {
            let e = map(
                cx,
                v,
                "find_slots",
                &keys(&["type", "type_slot", "provider", "when", "replaces", "slot", "prompt", "none"]),
            )?;
            let slot =
                super::required(cx, &e, kpos, "slot", "find_slots").and_then(|y| string(cx, y, "slot"));
            let appointment_type = get(&e, "type").and_then(|y| string(cx, y, "type"));
            let type_slot = get(&e, "type_slot").and_then(|y| string(cx, y, "type_slot"));
            let replaces = get(&e, "replaces").and_then(|y| string(cx, y, "replaces"));
            if appointment_type.is_none() && type_slot.is_none() && replaces.is_none() {
                cx.err(
                    kpos,
                    "missing",
                    "find_slots needs `type:` (an appointment type), `type_slot:` or `replaces:`",
                    "e.g. `type: office_visit`",
                );
            }
            NodeKind::FindSlots(FindSlots {
                appointment_type,
                type_slot,
                provider: get(&e, "provider").and_then(|y| string(cx, y, "provider")),
                when: get(&e, "when").and_then(|y| string(cx, y, "when")),
                replaces,
                slot: slot?,
                prompt: get(&e, "prompt").and_then(|y| template(cx, y, "prompt")),
                none: get(&e, "none").and_then(|y| string(cx, y, "none")),
                reprompt: reprompts(cx, &e),
            })
        }
        "book" => {
            let e = map(cx, v, "book", &keys(&["slot", "name", "confirm", "declined"]))?;
            let slot = super::required(cx, &e, kpos, "slot", "book").and_then(|y| string(cx, y, "slot"));
            let confirm =
                super::required(cx, &e, kpos, "confirm", "book").and_then(|y| template(cx, y, "confirm"));
            let declined =
                super::required(cx, &e, kpos, "declined", "book").and_then(|y| string(cx, y, "declined"));
            NodeKind::Book(Book {
                slot: slot?,
                name: get(&e, "name").and_then(|y| string(cx, y, "name")),
                confirm: confirm?,
                declined: declined?,
                reprompt: reprompts(cx, &e),
            })
        }
        "lookup" => {
            let e = map(cx, v, "lookup", &["slot", "id", "none"])?;
            let slot = super::required(cx, &e, kpos, "slot", "lookup").and_then(|y| string(cx, y, "slot"));
            let none = super::required(cx, &e, kpos, "none", "lookup").and_then(|y| string(cx, y, "none"));
            NodeKind::Lookup(Lookup {
                slot: slot?,
                id: get(&e, "id").and_then(|y| string(cx, y, "id")),
                none: none?,
            })
        }
        _ => {
            let e = map(cx, v, "cancel", &keys(&["slot", "confirm", "declined"]))?;
            let slot = super::required(cx, &e, kpos, "slot", "cancel").and_then(|y| string(cx, y, "slot"));
            let confirm =
                super::required(cx, &e, kpos, "confirm", "cancel").and_then(|y| template(cx, y, "confirm"));
            let declined =
                super::required(cx, &e, kpos, "declined", "cancel").and_then(|y| string(cx, y, "declined"));
            NodeKind::Cancel(CancelAppt {
                slot: slot?,
                confirm: confirm?,
                declined: declined?,
                reprompt: reprompts(cx, &e),
            })
        }
    })
}
