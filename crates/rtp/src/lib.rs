//! frontdesk-rtp: see docs/architecture.md.
