//! frontdesk-sip: see docs/architecture.md.
