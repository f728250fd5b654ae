//! `frontdesk flow check FILE...` and `frontdesk flow test FILE...`.
//!
//! `check` parses and checks flow files (and the knowledge base and resources file each names;
//! appointment types and providers are checked against the resources), printing every
//! problem as `file:line:column: error[kind]: message` with a hint; it fails (exit code 1) on
//! any error. `test` runs conversation-test files (YAML of caller turns and expectations) and
//! fails when any test fails, printing the differences and the transcript. Each test runs
//! against its own SQLite store in a temporary directory (see `frontdesk_flow::convo`), and
//! webhook nodes make their HTTP calls (`frontdesk_effects`): `--secret NAME=VALUE` sets
//! `{{secret.NAME}}` (e.g. the base URL of a test server), else `FRONTDESK_SECRET_NAME` is read.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use frontdesk_flow::parse::resources::parse_resources;
use frontdesk_flow::{FlowError, Kb, check::check, check::check_resources, convo, parse::parse_flow};

/// Arguments of `frontdesk flow`.
#[derive(clap::Args, Debug)]
pub(crate) struct FlowArgs {
    #[command(subcommand)]
    pub(crate) command: FlowCommand,
}

/// `frontdesk flow` subcommands.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum FlowCommand {
    /// Check flow files: bad YAML, unknown or unreachable nodes, slots used before they are
    /// set, missing reprompts, type mismatches, undefined intents.
    Check(FlowCheckArgs),
    /// Run conversation tests (YAML files of caller turns and expectations).
    Test(FlowTestArgs),
}

/// Arguments of `frontdesk flow check`.
#[derive(clap::Args, Debug)]
pub(crate) struct FlowCheckArgs {
    /// Flow files.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
}

/// Arguments of `frontdesk flow test`.
#[derive(clap::Args, Debug)]
pub(crate) struct FlowTestArgs {
    /// Conversation-test files.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// A webhook secret `NAME=VALUE` for `{{secret.NAME}}` (repeatable; default: the
    /// environment variable FRONTDESK_SECRET_NAME).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub(crate) secrets: Vec<String>,
}

/// Runs `frontdesk flow ...`.
pub(crate) fn run(args: FlowArgs) -> anyhow::Result<()> {
    match args.command {
        FlowCommand::Check(a) => run_check(&a.files),
        FlowCommand::Test(a) => run_test(&a.files, &a.secrets),
    }
}

/// Every problem in one flow file (and its knowledge base), rendered.
fn check_file(path: &Path) -> Vec<String> {
    let name = path.display().to_string();
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => return vec![format!("{name}: error[io]: cannot read: {e}")],
    };
    let flow = match parse_flow(&src) {
        Ok(f) => f,
        Err(diags) => return diags.iter().map(|d| d.render(&name)).collect(),
    };
    let mut out: Vec<String> = check(&flow).iter().map(|d| d.render(&name)).collect();
    if let Some(r) = &flow.resources {
        let rpath = path.parent().unwrap_or(Path::new(".")).join(&r.value);
        match std::fs::read_to_string(&rpath) {
            Ok(rsrc) => match parse_resources(&rsrc) {
                Ok(res) => out.extend(check_resources(&flow, &res).iter().map(|d| d.render(&name))),
                Err(diags) => out.extend(diags.iter().map(|d| d.render(&rpath.display().to_string()))),
            },
            Err(e) => out.push(format!(
                "{name}:{}:{}: error[missing]: cannot read resources file {}: {e}\n  hint: the path is relative to the flow file",
                r.pos.line,
                r.pos.col,
                rpath.display()
            )),
        }
    }
    if let Some(k) = &flow.knowledge {
        let kpath = path.parent().unwrap_or(Path::new(".")).join(&k.value);
        match std::fs::read_to_string(&kpath) {
            Ok(ksrc) => {
                if let Err(diags) = Kb::parse(&ksrc) {
                    out.extend(diags.iter().map(|d| d.render(&kpath.display().to_string())));
                }
            }
            Err(e) => out.push(format!(
                "{name}:{}:{}: error[missing]: cannot read knowledge base {}: {e}\n  hint: the path is relative to the flow file",
                k.pos.line,
                k.pos.col,
                kpath.display()
            )),
        }
    }
    out
}

fn run_check(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let mut errors = 0;
    for f in files {
        let problems = check_file(f);
        errors += problems.len();
        for p in &problems {
            writeln!(stdout, "{p}")?;
        }
        if problems.is_empty() {
            writeln!(stdout, "{}: ok", f.display())?;
        }
    }
    if errors > 0 {
        bail!("{errors} error(s)");
    }
    Ok(())
}

fn run_test(files: &[PathBuf], secrets: &[String]) -> anyhow::Result<()> {
    let fx = crate::cli::chat::effects(secrets)?;
    let mut stdout = std::io::stdout().lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in files {
        let results = match convo::run_file_with(f, None, &fx) {
            Ok(r) => r,
            Err(FlowError::Invalid { file, diags }) => {
                for d in &diags {
                    writeln!(stdout, "{}", d.render(&file))?;
                }
                failed += 1;
                continue;
            }
            Err(e) => {
                writeln!(stdout, "{}: {e}", f.display())?;
                failed += 1;
                continue;
            }
        };
        for r in results {
            if r.passed() {
                passed += 1;
                writeln!(stdout, "ok    {}: {}", f.display(), r.name)?;
            } else {
                failed += 1;
                writeln!(stdout, "FAIL  {}: {}", f.display(), r.name)?;
                for msg in &r.failures {
                    writeln!(stdout, "      {}:{msg}", f.display())?;
                }
                writeln!(stdout, "      transcript:")?;
                for line in &r.transcript {
                    writeln!(stdout, "        {line}")?;
                }
            }
        }
    }
    writeln!(stdout, "{passed} passed, {failed} failed")?;
    if failed > 0 {
        bail!("{failed} conversation test(s) failed");
    }
    Ok(())
}
