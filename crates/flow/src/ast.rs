//! The typed flow: what a YAML file becomes after [`crate::parse`]. Every user-written item
//! keeps the [`Pos`] it came from, so the checker and runtime errors point at `line:column`.

use std::collections::BTreeMap;

use crate::template::Template;

/// A 1-based line and column in the flow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A whole flow file.
#[derive(Debug, Clone)]
pub struct Flow {
    /// `flow:` name.
    pub name: String,
    /// Legal business name, available to templates as `{{business}}`.
    pub business: String,
    /// Business phone (callback number), `{{business_phone}}`.
    pub business_phone: Option<String>,
    /// IANA zone of the business (dates are read back in it).
    pub timezone: Option<String>,
    pub start: Spanned<String>,
    pub settings: Settings,
    /// Knowledge-base file for `faq` (relative to the flow file).
    pub knowledge: Option<Spanned<String>>,
    /// Resources file (providers, hours, appointment types) for the scheduling nodes, relative
    /// to the flow file; the shell loads it into the store.
    pub resources: Option<Spanned<String>>,
    /// Slots the shell sets before `Start` (`inputs: [caller_name, answered_by]`), e.g. for an
    /// outbound call; the checker treats them as set everywhere.
    pub inputs: Vec<Spanned<String>>,
    pub intents: BTreeMap<String, Intent>,
    /// `llm_fallback:`: when a menu matches no intent and an LLM is configured, ask it to pick
    /// one of the menu's intents before counting a no-match.
    pub llm_fallback: Option<LlmFallback>,
    pub global: Globals,
    /// Nodes in file order.
    pub nodes: Vec<Node>,
}

impl Flow {
    /// The node called `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

/// A value with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

/// `settings:`; every field has a default.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Intent confidence below which an utterance is a no-match.
    pub intent_threshold: f32,
    /// When the best two intents are closer than this, ask which one was meant: the intent
    /// ranker's probabilities when it decides (an embedding model and examples), else the best
    /// example cosines. Without a model, a keyword tie is always asked.
    pub clarify_margin: f32,
    /// Optional, below `intent_threshold`: an utterance whose best cosine reaches it is still an
    /// intent when the ranker finds an intent likelier than the knowledge base's questions.
    pub intent_floor: Option<f32>,
    /// Optional lower intent threshold: when nothing else matched (no intent at
    /// `intent_threshold`, no FAQ answer) and the best intent is between it and
    /// `intent_threshold`, the agent asks "did you want to <intent>?" and routes on a yes.
    pub intent_confirm_threshold: Option<f32>,
    /// FAQ similarity threshold; below it the agent says it does not know.
    pub faq_threshold: f32,
    /// Optional lower FAQ threshold: between it and `faq_threshold` the agent asks whether the
    /// caller means the best entry's question ("are you asking: ...?") and answers on a yes.
    pub faq_confirm_threshold: Option<f32>,
    /// Failed tries (no-input + no-match) before escalation.
    pub max_tries: u32,
    /// Silence (ms) before a no-input reprompt.
    pub no_input_ms: u64,
    /// ASR confidence below which an utterance is treated as not understood.
    pub min_asr_confidence: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            intent_threshold: 0.55,
            clarify_margin: 0.05,
            intent_floor: None,
            intent_confirm_threshold: None,
            faq_threshold: 0.6,
            faq_confirm_threshold: None,
            max_tries: 3,
            no_input_ms: 6000,
            min_asr_confidence: 0.3,
        }
    }
}

/// An intent: example phrases (embedding) and keyword rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub name: String,
    pub pos: Pos,
    pub examples: Vec<String>,
    /// Each rule is a set of words that must all appear (any order).
    pub keywords: Vec<Vec<String>>,
    /// Said in a clarifying question ("Did you want to {{description}}?").
    pub description: Option<String>,
}

/// `global:` handlers (repair patterns), available on every listening node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Globals {
    /// Node for "speak to a person" and escalation after repeated failure.
    pub human: Option<Spanned<String>>,
    /// Node for "goodbye".
    pub goodbye: Option<Spanned<String>>,
    /// Text for "help"; `{{business}}` etc. allowed.
    pub help: Option<Template>,
    /// Answer to "am I talking to a real person?" (must say it is automated).
    pub are_you_human: Option<Template>,
    /// What is said before an opt-out hang-up.
    pub opt_out: Option<Template>,
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub pos: Pos,
    /// Spoken when the node is entered.
    pub say: Option<Template>,
    pub kind: NodeKind,
    /// Conditional routes, first match wins; `next` is the unconditional fallback.
    pub routes: Vec<Route>,
    pub next: Option<Spanned<String>>,
}

/// What a node does after its `say`.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// Say and continue to `next`/routes.
    Say,
    /// Listen for an intent (routes with `intent:`), with optional FAQ fallback.
    Menu(Menu),
    Collect(Collect),
    /// Answer the last (or next) question from the knowledge base.
    Faq(FaqNode),
    Transfer(Transfer),
    Hangup,
    /// Assign slots.
    Set(Vec<(String, Literal, Pos)>),
    /// Call out; the shell reports the outcome, mapped into variables.
    Webhook(Webhook),
    /// Search open slots, offer at most 3, hold the one the caller picks (`find_slots`).
    FindSlots(FindSlots),
    /// Read the held slot back and book it only after an explicit yes (`book`).
    Book(Book),
    /// Find the caller's next appointment, by caller number or by an id slot (`lookup`).
    Lookup(Lookup),
    /// Read a looked-up appointment back and cancel it after an explicit yes (`cancel`).
    Cancel(CancelAppt),
    /// Ask an LLM (if one is configured) to pick a route or fill slots from the caller's
    /// words; anything else takes `fallback`.
    Llm(LlmNode),
}

/// `llm`: see [`crate::machine::llm`].
#[derive(Debug, Clone)]
pub struct LlmNode {
    /// A prompt template file in the prompts directory (`routing.md`).
    pub prompt: Spanned<String>,
    pub task: LlmTask,
    /// Tools the model may call: tool name -> the node that runs it (often a `webhook`).
    pub tools: Vec<(String, Spanned<String>)>,
    /// For the whole exchange, 500..=20000 ms (default 4000).
    pub timeout_ms: u64,
    /// Where anything but a valid answer goes (no LLM configured, timeout, malformed answer,
    /// an undeclared tool, a route or slot value that does not validate).
    pub fallback: Spanned<String>,
}

/// What an `llm` node asks for.
#[derive(Debug, Clone)]
pub enum LlmTask {
    /// One of these route names, each going to its node.
    Route(Vec<(String, Spanned<String>)>),
    /// Values for these slots, each checked by the slot type's own parser; then `next`.
    Slots(Vec<(String, SlotType, Pos)>),
}

/// The flow-level `llm_fallback:`.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmFallback {
    pub prompt: Spanned<String>,
    pub timeout_ms: u64,
}

impl NodeKind {
    /// The reprompts of a listening node.
    pub fn reprompts(&self) -> Option<&Reprompts> {
        match self {
            NodeKind::Collect(c) => Some(&c.reprompt),
            NodeKind::Menu(m) => Some(&m.reprompt),
            NodeKind::FindSlots(f) => Some(&f.reprompt),
            NodeKind::Book(b) => Some(&b.reprompt),
            NodeKind::Cancel(c) => Some(&c.reprompt),
            _ => None,
        }
    }

    /// Outcome targets besides `routes`/`next` (`none`, `declined`).
    pub fn outcome_targets(&self) -> Vec<&Spanned<String>> {
        match self {
            NodeKind::FindSlots(f) => f.none.iter().collect(),
            NodeKind::Book(b) => vec![&b.declined],
            NodeKind::Lookup(l) => vec![&l.none],
            NodeKind::Cancel(c) => vec![&c.declined],
            NodeKind::Webhook(w) => w.on_failure.iter().collect(),
            NodeKind::Llm(l) => {
                let mut v = vec![&l.fallback];
                if let LlmTask::Route(r) = &l.task {
                    v.extend(r.iter().map(|(_, t)| t));
                }
                v.extend(l.tools.iter().map(|(_, t)| t));
                v
            }
            _ => Vec::new(),
        }
    }
}

/// `find_slots`: search, offer, hold. On a hold the node sets `slot` (the start, a date/time),
/// `slot_with` (provider name), `slot_provider` (provider id) and `slot_type` (type name).
#[derive(Debug, Clone)]
pub struct FindSlots {
    /// Appointment type id (from the resources file).
    pub appointment_type: Option<Spanned<String>>,
    /// An enum slot whose value is the appointment type id.
    pub type_slot: Option<Spanned<String>>,
    /// An enum slot whose value is a provider id (or `any`).
    pub provider: Option<Spanned<String>>,
    /// A date/time slot: when the caller wants to come.
    pub when: Option<Spanned<String>>,
    /// A `lookup` slot: this search reschedules that appointment (type and provider default to
    /// its own; booking the hold releases it in the same transaction).
    pub replaces: Option<Spanned<String>>,
    /// Slot the held offer goes to.
    pub slot: Spanned<String>,
    /// Asked after the offers are read (default "Which would you like?").
    pub prompt: Option<Template>,
    /// Where to go when nothing is open.
    pub none: Option<Spanned<String>>,
    pub reprompt: Reprompts,
}

/// `book`: confirm the held slot, then book.
#[derive(Debug, Clone)]
pub struct Book {
    /// The `find_slots` slot that holds the offer.
    pub slot: Spanned<String>,
    /// A person-name slot booked as the patient's name.
    pub name: Option<Spanned<String>>,
    /// The read-back question; booking happens only after yes.
    pub confirm: Template,
    /// Where a "no" goes (the hold is released).
    pub declined: Spanned<String>,
    pub reprompt: Reprompts,
}

/// `lookup`: the caller's next booked appointment. Sets `slot` (start), `slot_with`,
/// `slot_provider`, `slot_type` and `slot_id`.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub slot: Spanned<String>,
    /// A slot (often an `inputs:` one) with the appointment id; default: the caller's number.
    pub id: Option<Spanned<String>>,
    /// Where to go when there is none.
    pub none: Spanned<String>,
}

/// `cancel`: confirm, then cancel a looked-up appointment.
#[derive(Debug, Clone)]
pub struct CancelAppt {
    /// The `lookup` slot.
    pub slot: Spanned<String>,
    pub confirm: Template,
    pub declined: Spanned<String>,
    pub reprompt: Reprompts,
}

#[derive(Debug, Clone)]
pub struct Menu {
    pub prompt: Option<Template>,
    /// Utterances that match no intent are answered from the knowledge base.
    pub faq: bool,
    pub reprompt: Reprompts,
}

#[derive(Debug, Clone)]
pub struct FaqNode {
    /// Node to continue at after an answer (default: `next`).
    pub prompt: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct Transfer {
    pub target: TransferTarget,
    /// Context handed to the agent (templates, rendered at transfer time).
    pub context: Vec<(String, Template)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransferTarget {
    Queue(String),
    Sip(String),
}

/// `webhook`: an HTTP call to the business's system (see [`crate::machine::webhook`]).
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Templated URL; `{{secret.NAME}}` parts are filled in by the shell.
    pub url: Template,
    pub method: HttpMethod,
    /// Templated header values (`{{secret.NAME}}` allowed; never logged).
    pub headers: Vec<(String, Template)>,
    /// JSON body with templated strings; `None`: all slots (POST) or no body (GET).
    pub body: Option<JsonTemplate>,
    /// Per attempt, 100..=30000 ms (default 3000).
    pub timeout_ms: u64,
    /// Extra attempts after the first (0..=5; default 1 for GET, 0 for POST unless `retry_post`).
    pub retries: u32,
    /// What goes into flow variables on success.
    pub result: WebhookResultMap,
    /// Where a failure goes (default: `routes`/`next` with `webhook_ok` false).
    pub on_failure: Option<Spanned<String>>,
}

/// HTTP method of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// `result:` of a webhook.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookResultMap {
    /// Nothing is kept but `webhook_ok`.
    None,
    /// `result: SLOT`: the whole response body (a string as is, other JSON as text).
    Whole(String),
    /// `result: {var: json.path}`: each path (dotted or JSON pointer) into a variable.
    Map(Vec<(String, String, Pos)>),
}

impl WebhookResultMap {
    /// The variables a success sets.
    pub fn vars(&self) -> Vec<&str> {
        match self {
            WebhookResultMap::None => Vec::new(),
            WebhookResultMap::Whole(s) => vec![s.as_str()],
            WebhookResultMap::Map(m) => m.iter().map(|(k, _, _)| k.as_str()).collect(),
        }
    }
}

/// A JSON value whose strings are templates (a webhook `body`).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Every template inside, in order.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            JsonTemplate::Str(t) => vec![t],
            JsonTemplate::Array(a) => a.iter().flat_map(JsonTemplate::templates).collect(),
            JsonTemplate::Object(o) => o.iter().flat_map(|(_, v)| v.templates()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Reprompts for no-input (silence) and no-match (not understood).
#[derive(Debug, Clone, Default)]
pub struct Reprompts {
    pub no_input: Option<Template>,
    pub no_match: Option<Template>,
    /// Failed tries before escalation (default: settings).
    pub max_tries: Option<u32>,
    /// Where to go after `max_tries` (default: `global.human`).
    pub escalate: Option<Spanned<String>>,
}

/// A `collect` node: one typed slot.
#[derive(Debug, Clone)]
pub struct Collect {
    pub slot: String,
    pub ty: SlotType,
    pub prompt: Template,
    pub reprompt: Reprompts,
    /// Read-back question ("I have {{phone | digits}}, is that right?"); the slot is kept only after yes.
    pub confirm: Option<Template>,
    /// Validation.
    pub validate: Validate,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validate {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub length: Option<usize>,
}

/// Slot types.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotType {
    YesNo,
    Number,
    Digits,
    Phone,
    Date,
    Time,
    DateTime,
    PersonName,
    /// Canonical value -> synonyms.
    Enum(Vec<(String, Vec<String>)>),
    Text,
}

impl SlotType {
    /// The name used in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            SlotType::YesNo => "yes_no",
            SlotType::Number => "number",
            SlotType::Digits => "digits",
            SlotType::Phone => "phone",
            SlotType::Date => "date",
            SlotType::Time => "time",
            SlotType::DateTime => "datetime",
            SlotType::PersonName => "person_name",
            SlotType::Enum(_) => "enum",
            SlotType::Text => "text",
        }
    }
}

/// A literal in `set:` and conditions.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Str(s) => f.write_str(s),
        }
    }
}

/// `routes:` entry: `intent`, `if`, or both; then `goto`.
#[derive(Debug, Clone)]
pub struct Route {
    pub pos: Pos,
    pub intent: Option<Spanned<String>>,
    pub cond: Option<Cond>,
    pub goto: Spanned<String>,
}

/// A condition: `slot`, `not slot`, `slot == literal`, `slot != literal`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub slot: String,
    pub op: CondOp,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CondOp {
    IsSet,
    NotSet,
    Eq(Literal),
    Ne(Literal),
}
