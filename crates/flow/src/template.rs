//! Templates: text with `{{ slot }}` and `{{ slot | filter }}` holes.
//!
//! Parsed once at load time; the checker knows every slot a template reads and every filter it
//! applies, so "slot used before it is set" and "filter on the wrong type" are load-time errors.
//! Filters: `spoken_datetime`, `spoken_date`, `spoken_time` (date/time slots), `digits` (spaced
//! out for read-back, "5 5 5 0 1 4 2"), `upper`, `lower`. Built-in names: `business`,
//! `business_phone`, `caller_number`.

use crate::ast::Pos;

/// Known filters.
pub const FILTERS: &[&str] = &["spoken_datetime", "spoken_date", "spoken_time", "digits", "upper", "lower"];

/// Names every template may use without a slot.
pub const BUILTINS: &[&str] = &["business", "business_phone", "caller_number"];

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub source: String,
    pub pos: Pos,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Var { name: String, filter: Option<String> },
}

/// A template syntax error (offset in characters from the start of the text).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub message: String,
    pub hint: String,
}

impl Template {
    /// Parses `source`, written at `pos`.
    pub fn parse(source: &str, pos: Pos) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(TemplateError {
                    message: "unclosed `{{` in template".into(),
                    hint: "close it with `}}`, e.g. `{{appointment | spoken_datetime}}`".into(),
                });
            };
            let inner = after[..close].trim();
            let (name, filter) = match inner.split_once('|') {
                Some((n, f)) => (n.trim(), Some(f.trim().to_owned())),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                return Err(TemplateError {
                    message: format!("`{{{{{inner}}}}}` is not a slot name"),
                    hint: "use letters, digits, `_` and `.`, e.g. `{{caller_name}}`".into(),
                });
            }
            if let Some(f) = &filter
                && !FILTERS.contains(&f.as_str())
            {
                return Err(TemplateError {
                    message: format!("unknown filter `{f}`"),
                    hint: format!("filters are: {}", FILTERS.join(", ")),
                });
            }
            parts.push(Part::Var { name: name.to_owned(), filter });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { source: source.to_owned(), pos, parts })
    }

    /// Slot names read (with their filters), builtins excluded.
    pub fn vars(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, filter } if !BUILTINS.contains(&name.as_str()) => {
                Some((name.as_str(), filter.as_deref()))
            }
            _ => None,
        })
    }

    /// Renders with `lookup(name, filter)` giving each hole's text (missing: empty).
    pub fn render(&self, mut lookup: impl FnMut(&str, Option<&str>) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.source.len());
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var { name, filter } => {
                    if let Some(v) = lookup(name, filter.as_deref()) {
                        out.push_str(&v);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_holes_and_filters() {
        let t =
            Template::parse("Hi {{ name }}, see you {{appt | spoken_datetime}}.", Pos::default()).unwrap();
        let vars: Vec<_> = t.vars().collect();
        assert_eq!(vars, vec![("name", None), ("appt", Some("spoken_datetime"))]);
        let s = t.render(|n, f| Some(format!("<{n}:{}>", f.unwrap_or("-"))));
        assert_eq!(s, "Hi <name:->, see you <appt:spoken_datetime>.");
    }

    #[test]
    fn rejects_unclosed_and_unknown_filter() {
        assert!(Template::parse("Hi {{ name", Pos::default()).is_err());
        let e = Template::parse("{{x | shout}}", Pos::default()).unwrap_err();
        assert!(e.message.contains("shout"), "{e:?}");
        assert!(Template::parse("{{ }}", Pos::default()).is_err());
    }

    #[test]
    fn builtins_are_not_slot_reads() {
        let t = Template::parse("This is {{business}}.", Pos::default()).unwrap();
        assert_eq!(t.vars().count(), 0);
    }
}
