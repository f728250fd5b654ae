//! Diagnostics: what is wrong, where (`file:line:column`) and a hint to fix it.

use crate::ast::Pos;

/// One problem found in a flow, knowledge-base or test file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub pos: Pos,
    /// Short machine-readable kind: `yaml`, `unknown-key`, `unknown-node`, `unreachable`,
    /// `unset-slot`, `missing-reprompt`, `type-mismatch`, `undefined-intent`, `missing`, `invalid`.
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

impl Diagnostic {
    pub fn new(pos: Pos, code: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic { pos, code, message: message.into(), hint: hint.into() }
    }

    /// `file:line:col: error[code]: message\n  hint: ...`
    pub fn render(&self, file: &str) -> String {
        let mut s =
            format!("{file}:{}:{}: error[{}]: {}", self.pos.line, self.pos.col, self.code, self.message);
        if !self.hint.is_empty() {
            s.push_str("\n  hint: ");
            s.push_str(&self.hint);
        }
        s
    }
}

/// The closest of `options` to `word` (edit distance at most 1/3 of its length), for "did you mean".
pub fn closest<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let max = (word.chars().count() / 3).max(1);
    options
        .into_iter()
        .map(|o| (levenshtein(word, o), o))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// "did you mean `x`?" or a list of the options.
pub fn suggest<'a>(word: &str, options: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match closest(word, options.clone()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            let all: Vec<&str> = options.into_iter().collect();
            if all.is_empty() { String::new() } else { format!("expected one of: {}", all.join(", ")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        assert_eq!(closest("colect", ["collect", "say"]), Some("collect"));
        assert_eq!(closest("zzz", ["collect", "say"]), None);
        assert_eq!(suggest("trasnfer", ["transfer", "hangup"]), "did you mean `transfer`?");
    }
}
