//! Prompt templates: `*.md` files in one directory, loaded once. `{{name}}` holes are filled
//! from the flow's variables and `business`, plus `{{utterance}}` (the caller's words),
//! `{{choices}}` (one `- name: description` line per route) and `{{slots}}` (one
//! `- name (type)` line per slot); an unknown name renders empty.

use std::collections::BTreeMap;
use std::path::Path;

use frontdesk_flow::{LlmAsk, LlmRequest};

use crate::LlmError;

/// The loaded templates, by file name.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    files: BTreeMap<String, String>,
}

impl Prompts {
    /// Loads every `*.md` file in `dir`.
    ///
    /// # Errors
    /// [`LlmError::Prompt`] when the directory or a file cannot be read.
    pub fn load(dir: &Path) -> Result<Prompts, LlmError> {
        let err = |why: String| LlmError::Prompt { path: dir.display().to_string(), why };
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(dir).map_err(|e| err(e.to_string()))? {
            let p = e.map_err(|e| err(e.to_string()))?.path();
            if p.extension().is_some_and(|x| x == "md")
                && let Some(name) = p.file_name().and_then(|n| n.to_str())
            {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| LlmError::Prompt { path: p.display().to_string(), why: e.to_string() })?;
                files.insert(name.to_owned(), text);
            }
        }
        Ok(Prompts { files })
    }

    /// Templates given directly (tests).
    pub fn from_map(files: impl IntoIterator<Item = (String, String)>) -> Prompts {
        Prompts { files: files.into_iter().collect() }
    }

    /// The names of the loaded templates.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Renders template `name` for `req`.
    ///
    /// # Errors
    /// [`LlmError::Prompt`] when there is no such template.
    pub fn render(&self, name: &str, req: &LlmRequest) -> Result<String, LlmError> {
        let t = self
            .files
            .get(name)
            .ok_or_else(|| LlmError::Prompt { path: name.to_owned(), why: "no such prompt file".into() })?;
        let lines = |v: Vec<String>| v.join("\n");
        let (choices, slots) = match &req.ask {
            LlmAsk::Route(c) => {
                (lines(c.iter().map(|(n, d)| format!("- {n}: {d}")).collect()), String::new())
            }
            LlmAsk::Slots(s) => {
                (String::new(), lines(s.iter().map(|(n, ty)| format!("- {n} ({ty})")).collect()))
            }
        };
        let mut out = String::with_capacity(t.len());
        let mut rest = t.as_str();
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let key = after[..close].trim();
            match key {
                "utterance" => out.push_str(req.utterance.expose()),
                "choices" => out.push_str(&choices),
                "slots" => out.push_str(&slots),
                k => out.push_str(req.vars.expose().get(k).map_or("", String::as_str)),
            }
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
