//! Standalone CapMonster Cloud simulator: prints its base URL on the first stdout line and
//! serves until Ctrl-C.
#![forbid(unsafe_code)]

use clap::Parser;

/// Offline CapMonster Cloud simulator.
#[derive(Debug, Parser)]
#[command(name = "capmonster-sim", version, about)]
struct Cli {
    #[command(flatten)]
    sim: capmonster_sim::SimArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match capmonster_sim::run_foreground(cli.sim) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capmonster-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
