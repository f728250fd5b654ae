//! The subcommands of the `frontdesk` CLI other than `serve`, one module each.

pub(crate) mod apikey;
pub(crate) mod asr;
pub(crate) mod chat;
pub(crate) mod flow;
pub(crate) mod models;
pub(crate) mod nlu;
pub(crate) mod tts;
