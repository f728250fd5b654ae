//! `frontdesk`: the gateway binary and operator CLI.

fn main() {}
