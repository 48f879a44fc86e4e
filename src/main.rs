use std::process::ExitCode;

use clap::Parser;
use cockpit::cli::{self, Cli};
use cockpit::exit::as_user_error;

fn main() -> ExitCode {
    // Bugs get the full report; the terminal is restored by the UI's own panic hook,
    // which chains to this one.
    let _ = color_eyre::config::HookBuilder::default().display_env_section(false).install();
    let cli = Cli::parse();
    let runtime = match cli::runtime(&cli) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(70);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    // Do not wait for lingering watch or log tasks: the answer is already printed.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        Err(report) => match as_user_error(&report) {
            Some(user) => {
                eprintln!("error: {}", user.message);
                ExitCode::from(user.exit.code() as u8)
            }
            None => {
                eprintln!("Error: {report:?}");
                ExitCode::from(70)
            }
        },
    }
}
