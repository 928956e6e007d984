//! The `pskeys` binary: parse the command line, run it, print the error once.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = pskeys::cli::Cli::parse();
    match pskeys::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            match &err {
                pskeys::Error::Rejected {
                    code: Some(code), ..
                } => eprintln!("error: {code} {err}"),
                _ => eprintln!("error: {err}"),
            }
            if let Some(hint) = err.hint() {
                eprintln!("  hint: {hint}");
            }
            std::process::ExitCode::from(err.exit_code() as u8)
        }
    }
}
