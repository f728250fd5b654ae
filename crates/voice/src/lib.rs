//! frontdesk-voice: see docs/architecture.md.
