//! `pskeys completions SHELL` and `pskeys man [COMMAND]`: generated from the clap
//! definition (clap_complete, clap_mangen), so they list exactly the flags `--help` does.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{Error, Result};

/// Prints the completion script for a shell.
pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "pskeys", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(())
}

/// Prints the man page of pskeys or of one of its commands.
pub fn man(args: &ManArgs) -> Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut name = "pskeys".to_string();
    for part in &args.command {
        let known: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        cmd = cmd.find_subcommand(part).cloned().ok_or_else(|| {
            Error::usage(
                format!("no command `{name} {part}`"),
                format!("one of: {}", known.join(", ")),
            )
        })?;
        name = format!("{name}-{part}");
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(name)
        .render(&mut page)
        .map_err(|e| Error::usage(format!("cannot render the man page: {e}"), None))?;
    out!("{}", String::from_utf8_lossy(&page));
    Ok(())
}
