//! frontdesk-dtmf: see docs/architecture.md.
