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
        // The reader went away (`| head`): not a bug, nothing left to say to anyone. 141 is
        // what a shell reports for a writer stopped by SIGPIPE.
        Err(report) if stopped_reading(&report) => ExitCode::from(141),
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

fn stopped_reading(report: &color_eyre::Report) -> bool {
    report
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
