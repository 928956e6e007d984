//! The `pskeys` binary: parse the command line, run it, print the error once.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = pskeys::cli::Cli::parse();
    let json = cli.wants_json();
    match pskeys::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            if json && !matches!(err, pskeys::Error::Reported(_)) {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&err.to_json()).unwrap_or_default()
                );
            }
            match err.code() {
                Some(code) => eprintln!("error: {code} {err}"),
                None => eprintln!("error: {err}"),
            }
            if let Some(hint) = err.hint() {
                eprintln!("  hint: {hint}");
            }
            std::process::ExitCode::from(err.exit_code() as u8)
        }
    }
}
