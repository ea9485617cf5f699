//! The `startup-bench` binary: parses the flags, builds the journals, starts the gateway on each, prints the table
//! and, last, the JSON line. Any failure exits with status 1 and one message naming what failed (and why).

use std::process::ExitCode;

use clap::Parser;
use gateway_bench::StartupOptions;

fn main() -> ExitCode {
    let options = StartupOptions::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("startup-bench failed: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gateway_bench::startup::run(&options)) {
        Ok(report) => {
            if !options.json_only {
                println!("{}", report.table());
            }
            println!("{}", report.json_line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("startup-bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
