//! Helpers over saphyr's `MarkedYaml`: positions, scalars, and mappings with known keys.

use saphyr::{MarkedYaml, Scalar, YamlData};

use crate::ast::{Literal, Pos, Spanned};
use crate::diag::{Diagnostic, suggest};

pub(crate) type Y<'i> = MarkedYaml<'i>;

pub(crate) fn pos(y: &Y<'_>) -> Pos {
    Pos { line: y.span.start.line(), col: y.span.start.col() + 1 }
}

/// Collects diagnostics while building the typed flow.
#[derive(Default)]
pub(crate) struct Ctx {
    pub(crate) diags: Vec<Diagnostic>,
}

impl Ctx {
    pub(crate) fn err(
        &mut self,
        pos: Pos,
        code: &'static str,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::new(pos, code, msg, hint));
    }
}

/// The text of a scalar (numbers and booleans as written); `None` for null and collections.
pub(crate) fn scalar_text(y: &Y<'_>) -> Option<String> {
    match &y.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        YamlData::Tagged(_, inner) => scalar_text(inner),
        _ => None,
    }
}

pub(crate) fn literal(y: &Y<'_>) -> Option<Literal> {
    match &y.data {
        YamlData::Value(Scalar::Boolean(b)) => Some(Literal::Bool(*b)),
        YamlData::Value(Scalar::Integer(i)) => Some(Literal::Int(*i)),
        _ => scalar_text(y).map(Literal::Str),
    }
}

pub(crate) fn is_null(y: &Y<'_>) -> bool {
    matches!(y.data, YamlData::Value(Scalar::Null))
}

/// A string, or a diagnostic.
pub(crate) fn string(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Option<Spanned<String>> {
    match scalar_text(y) {
        Some(s) => Some(Spanned { value: s, pos: pos(y) }),
        None => {
            cx.err(pos(y), "invalid", format!("{what} must be a text value"), "write it as a plain string");
            None
        }
    }
}

pub(crate) fn number_f32(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Option<f32> {
    let v = match &y.data {
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.into_inner() as f32),
        YamlData::Value(Scalar::Integer(i)) => Some(*i as f32),
        _ => None,
    };
    if v.is_none() {
        cx.err(pos(y), "invalid", format!("{what} must be a number"), "e.g. 0.6");
    }
    v
}

pub(crate) fn integer(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Option<i64> {
    match &y.data {
        YamlData::Value(Scalar::Integer(i)) => Some(*i),
        _ => {
            cx.err(pos(y), "invalid", format!("{what} must be a whole number"), "e.g. 3");
            None
        }
    }
}

pub(crate) fn boolean(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Option<bool> {
    match &y.data {
        YamlData::Value(Scalar::Boolean(b)) => Some(*b),
        _ => {
            cx.err(pos(y), "invalid", format!("{what} must be true or false"), "");
            None
        }
    }
}

/// A list of strings (a single string counts as a list of one).
pub(crate) fn strings(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Vec<Spanned<String>> {
    match &y.data {
        YamlData::Sequence(items) => items.iter().filter_map(|i| string(cx, i, what)).collect(),
        _ => string(cx, y, what).into_iter().collect(),
    }
}

pub(crate) fn seq<'a, 'i>(cx: &mut Ctx, y: &'a Y<'i>, what: &str) -> &'a [Y<'i>] {
    match &y.data {
        YamlData::Sequence(items) => items,
        _ => {
            cx.err(pos(y), "invalid", format!("{what} must be a list"), "start each item with `- `");
            &[]
        }
    }
}

/// Entries of a mapping: `(key, key position, value)`, in file order.
pub(crate) type Entries<'a, 'i> = Vec<(String, Pos, &'a Y<'i>)>;

/// The entries of a mapping whose keys must be in `allowed`; unknown keys are reported.
pub(crate) fn map<'a, 'i>(
    cx: &mut Ctx,
    y: &'a Y<'i>,
    what: &str,
    allowed: &[&str],
) -> Option<Entries<'a, 'i>> {
    let YamlData::Mapping(m) = &y.data else {
        cx.err(pos(y), "invalid", format!("{what} must be a mapping of `key: value`"), "");
        return None;
    };
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let Some(key) = scalar_text(k) else {
            cx.err(pos(k), "invalid", "keys must be plain text", "");
            continue;
        };
        if !allowed.is_empty() && !allowed.contains(&key.as_str()) {
            cx.err(
                pos(k),
                "unknown-key",
                format!("unknown key `{key}` in {what}"),
                suggest(&key, allowed.iter().copied()),
            );
            continue;
        }
        out.push((key, pos(k), v));
    }
    Some(out)
}

/// Any-key mapping.
pub(crate) fn open_map<'a, 'i>(cx: &mut Ctx, y: &'a Y<'i>, what: &str) -> Entries<'a, 'i> {
    map(cx, y, what, &[]).unwrap_or_default()
}

pub(crate) fn get<'a, 'i>(e: &Entries<'a, 'i>, key: &str) -> Option<&'a Y<'i>> {
    e.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| *v)
}
