//! The `llm` node and the flow-level `llm_fallback` on the machine's side: what the shell is
//! asked ([`LlmRequest`], in `Command::Llm`) and what it reports ([`LlmOutcome`], in
//! `Event::LlmOutcome`). Nothing here calls a model.
//!
//! Every flow works with no LLM: unless the shell says one is configured
//! ([`FlowMachine::with_llm`]), an `llm` node takes its `fallback` at once and a menu's
//! no-match is a plain no-match. With one, the machine checks the answer again whatever the
//! shell did: a route must be one of the node's route names, a tool one the node declares,
//! each slot value must pass the slot type's own parser and validation; anything else is a
//! failure and goes to `fallback`. `llm_ok` is set either way, `llm_route` on a route,
//! `llm_error` on a failure (`not_configured`, `timeout`, `unavailable`, `malformed`,
//! `undeclared_tool`, `invalid_answer`).

use std::collections::BTreeMap;

use frontdesk_types::{Instant, Pii};

use super::{Command, FlowMachine, Wait};
use crate::ast::{LlmNode, LlmTask, NodeKind};
use crate::slots::{Value, from_speech, validate};

/// What the model is asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmAsk {
    /// One of these route names (name, description for the prompt).
    Route(Vec<(String, String)>),
    /// Values for these slots (name, type name).
    Slots(Vec<(String, String)>),
}

/// What an `llm` node (or a menu's `llm_fallback`) asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    /// The node's id (for logs).
    pub node: String,
    /// The prompt template file (in the prompts directory).
    pub prompt: String,
    /// The caller's last words.
    pub utterance: Pii<String>,
    /// The flow's variables as text, plus `business`, for the prompt template.
    pub vars: Pii<BTreeMap<String, String>>,
    pub ask: LlmAsk,
    /// Tools the model may call; any other is a failure.
    pub tools: Vec<String>,
    pub timeout_ms: u64,
}

/// Why an LLM step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LlmFailure {
    NotConfigured,
    Timeout,
    /// Connect error or a non-2xx answer.
    Unavailable,
    /// Not the JSON asked for.
    Malformed,
    /// A call to a tool the node does not declare.
    UndeclaredTool(String),
    /// A route name or slot value that is not allowed.
    InvalidAnswer(String),
}

impl LlmFailure {
    /// The value of `llm_error`.
    pub fn code(&self) -> &'static str {
        match self {
            LlmFailure::NotConfigured => "not_configured",
            LlmFailure::Timeout => "timeout",
            LlmFailure::Unavailable => "unavailable",
            LlmFailure::Malformed => "malformed",
            LlmFailure::UndeclaredTool(_) => "undeclared_tool",
            LlmFailure::InvalidAnswer(_) => "invalid_answer",
        }
    }
}

/// What the shell reports after a `Command::Llm`.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmOutcome {
    Route(String),
    /// Slot name -> the model's text for it (parsed by the machine).
    Slots(Vec<(String, String)>),
    /// A declared tool: its node runs next, with the arguments as text variables.
    Tool {
        name: String,
        args: Vec<(String, String)>,
    },
    Failed(LlmFailure),
}

impl FlowMachine {
    /// Tells the machine an LLM is configured (default: none, and `llm` nodes take their
    /// fallback at once).
    pub fn with_llm(mut self, configured: bool) -> Self {
        self.llm = configured;
        self
    }

    fn llm_vars(&self) -> Pii<BTreeMap<String, String>> {
        let tz = self.wall_start.time_zone().clone();
        let mut m: BTreeMap<String, String> =
            self.slots.iter().map(|(k, v)| (k.clone(), v.spoken(None, &tz))).collect();
        m.insert("business".into(), self.b.flow.business.clone());
        Pii::new(m)
    }

    /// Enters an `llm` node: a request, or the fallback at once without an LLM.
    pub(super) fn run_llm(&mut self, node: &str, l: &LlmNode) -> Option<String> {
        if !self.llm {
            self.turn.actions.push("llm:not_configured".into());
            self.slots.insert("llm_ok".into(), Value::Bool(false));
            self.slots.insert("llm_error".into(), Value::Text("not_configured".into()));
            return Some(l.fallback.value.clone());
        }
        let ask = match &l.task {
            LlmTask::Route(r) => {
                LlmAsk::Route(r.iter().map(|(n, _)| (n.clone(), n.replace('_', " "))).collect())
            }
            LlmTask::Slots(s) => {
                LlmAsk::Slots(s.iter().map(|(n, t, _)| (n.clone(), t.name().to_owned())).collect())
            }
        };
        self.out.push_back(Command::Llm(LlmRequest {
            node: node.to_owned(),
            prompt: l.prompt.value.clone(),
            utterance: Pii::new(self.last_utterance.clone()),
            vars: self.llm_vars(),
            ask,
            tools: l.tools.iter().map(|(n, _)| n.clone()).collect(),
            timeout_ms: l.timeout_ms,
        }));
        self.turn.actions.push("llm".into());
        self.wait = Wait::Llm;
        None
    }

    /// A menu's no-match with `llm_fallback`: asks the model for one of `allowed` intents.
    /// Returns false (a plain no-match) without an LLM.
    pub(super) fn menu_llm(&mut self, text: &str, allowed: &[&str]) -> bool {
        let Some(f) = self.b.flow.llm_fallback.clone() else { return false };
        if !self.llm || allowed.is_empty() {
            return false;
        }
        let choices = allowed
            .iter()
            .map(|a| {
                let d = self.b.flow.intents.get(*a).and_then(|i| i.description.clone());
                ((*a).to_owned(), d.unwrap_or_else(|| a.replace('_', " ")))
            })
            .collect();
        self.out.push_back(Command::Llm(LlmRequest {
            node: self.cur().map(|n| n.id.clone()).unwrap_or_default(),
            prompt: f.prompt.value.clone(),
            utterance: Pii::new(text.to_owned()),
            vars: self.llm_vars(),
            ask: LlmAsk::Route(choices),
            tools: Vec::new(),
            timeout_ms: f.timeout_ms,
        }));
        self.turn.actions.push("llm_fallback".into());
        self.wait = Wait::LlmMenu;
        true
    }

    pub(super) fn llm_outcome(&mut self, now: Instant, o: LlmOutcome) -> Result<(), crate::FlowError> {
        match self.wait {
            Wait::Llm => {}
            Wait::LlmMenu => {
                self.wait = Wait::Menu;
                let allowed: Vec<String> = self
                    .cur()
                    .map(|n| {
                        n.routes.iter().filter_map(|r| r.intent.as_ref().map(|i| i.value.clone())).collect()
                    })
                    .unwrap_or_default();
                match o {
                    LlmOutcome::Route(r) if allowed.contains(&r) => {
                        self.turn.actions.push(format!("llm:intent:{r}"));
                        self.advance(now, Some(&r));
                    }
                    other => {
                        let code = match other {
                            LlmOutcome::Failed(f) => f.code(),
                            LlmOutcome::Tool { .. } => "undeclared_tool",
                            _ => "invalid_answer",
                        };
                        self.turn.actions.push(format!("llm:failed:{code}"));
                        self.fail(now, false);
                    }
                }
                return Ok(());
            }
            _ => return Err(crate::FlowError::Unexpected("LLM result while not waiting for one".into())),
        }
        let b = self.b.clone();
        let Some(node) = b.flow.nodes.get(self.node) else { return Ok(()) };
        let NodeKind::Llm(l) = &node.kind else { return Ok(()) };
        let result: Result<String, LlmFailure> = match o {
            LlmOutcome::Failed(f) => Err(f),
            LlmOutcome::Route(r) => match &l.task {
                LlmTask::Route(routes) => match routes.iter().find(|(n, _)| *n == r) {
                    Some((_, t)) => {
                        self.slots.insert("llm_route".into(), Value::Text(r.clone()));
                        Ok(t.value.clone())
                    }
                    None => Err(LlmFailure::InvalidAnswer(r)),
                },
                LlmTask::Slots(_) => Err(LlmFailure::InvalidAnswer(r)),
            },
            LlmOutcome::Slots(vals) => match &l.task {
                LlmTask::Slots(want) => {
                    let wall = self.wall(now);
                    let mut parsed = Vec::new();
                    let mut bad = None;
                    for (name, ty, _) in want {
                        let v = vals
                            .iter()
                            .find(|(n, _)| n == name)
                            .and_then(|(_, text)| from_speech(ty, text, &wall))
                            .filter(|v| validate(v, &crate::ast::Validate::default()).is_ok());
                        match v {
                            Some(v) => parsed.push((name.clone(), v)),
                            None => {
                                bad = Some(name.clone());
                                break;
                            }
                        }
                    }
                    match bad {
                        Some(n) => Err(LlmFailure::InvalidAnswer(n)),
                        None => {
                            self.slots.extend(parsed);
                            match self.route(node, None) {
                                Some(t) => Ok(t),
                                None => Err(LlmFailure::InvalidAnswer("no next".into())),
                            }
                        }
                    }
                }
                LlmTask::Route(_) => Err(LlmFailure::InvalidAnswer("slots".into())),
            },
            LlmOutcome::Tool { name, args } => match l.tools.iter().find(|(n, _)| *n == name) {
                Some((_, t)) => {
                    for (k, v) in args {
                        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.is_empty() {
                            self.slots.insert(k, Value::Text(v));
                        }
                    }
                    self.turn.actions.push(format!("llm:tool:{name}"));
                    Ok(t.value.clone())
                }
                None => Err(LlmFailure::UndeclaredTool(name)),
            },
        };
        let target = match result {
            Ok(t) => {
                self.slots.insert("llm_ok".into(), Value::Bool(true));
                self.slots.remove("llm_error");
                self.turn.actions.push("llm:ok".into());
                t
            }
            Err(f) => {
                self.slots.insert("llm_ok".into(), Value::Bool(false));
                self.slots.insert("llm_error".into(), Value::Text(f.code().into()));
                self.turn.actions.push(format!("llm:failed:{}", f.code()));
                l.fallback.value.clone()
            }
        };
        self.goto(now, &target);
        Ok(())
    }
}
