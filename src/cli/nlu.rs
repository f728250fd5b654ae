//! `frontdesk nlu`: the language-understanding pieces on their own, for flow authors and tests.

use anyhow::{Context as _, bail};
use frontdesk_schedule::{local_now, parse_datetime, read_back};

/// `frontdesk nlu ...`
#[derive(clap::Args, Debug)]
pub(crate) struct NluArgs {
    #[command(subcommand)]
    command: NluCommand,
}

#[derive(clap::Subcommand, Debug)]
enum NluCommand {
    /// Understand a date or time as a caller says it; prints one JSON object
    /// `{"start", "end", "grain", "ambiguous"}`, exit 1 when nothing is recognised.
    Datetime(DatetimeArgs),
}

#[derive(clap::Args, Debug)]
struct DatetimeArgs {
    /// What the caller said, e.g. "next tuesday afternoon" or "three thirty p m".
    expr: String,
    /// The caller's local time now, `YYYY-MM-DDTHH:MM[:SS]`.
    #[arg(long)]
    now: String,
    /// The caller's IANA time zone, e.g. America/New_York.
    #[arg(long, default_value = "America/New_York")]
    tz: String,
    /// Also print the alternative readings of an ambiguous expression, and the read-back.
    #[arg(long)]
    verbose: bool,
}

pub(crate) fn run(args: NluArgs) -> anyhow::Result<()> {
    match args.command {
        NluCommand::Datetime(a) => {
            let now = local_now(&a.now, &a.tz).context("--now/--tz")?;
            let m = match parse_datetime(&a.expr, &now) {
                Ok(m) => m,
                Err(e) => bail!("{:?}: {e}", a.expr),
            };
            let mut out = std::io::stdout().lock();
            if a.verbose {
                writeln(&mut out, &m.to_json_with_alternatives())?;
                writeln(&mut out, &read_back(&m, now.time_zone()))?;
            } else {
                writeln(&mut out, &m.to_json())?;
            }
            Ok(())
        }
    }
}

fn writeln(out: &mut impl std::io::Write, line: &str) -> anyhow::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}
