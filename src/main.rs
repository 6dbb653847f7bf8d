//! `yuqing`: the daemon and its command-line tools. Errors become exit codes here:
//! 0 success, 1 runtime failure, 2 usage error, 3 invalid configuration, 4 data directory in
//! use by another writer.

mod analysis_cmd;
mod cli;
mod demo;
mod feedcheck_cmd;
mod import_cmd;
mod incidents_cmd;
mod logging;
mod preview_cmd;
mod reload;
mod rules_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
