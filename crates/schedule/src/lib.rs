//! frontdesk-schedule: see docs/architecture.md.
