//! The `soak` binary: parses the flags, runs the soak (a sample line every few seconds) and prints the summary line
//! last. Any failure exits with status 1 and one message naming what failed.

use std::process::ExitCode;

use clap::Parser;
use gateway_bench::SoakOptions;

fn main() -> ExitCode {
    let options = SoakOptions::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("soak failed: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gateway_bench::soak::run(&options)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("soak failed: {e}");
            ExitCode::FAILURE
        }
    }
}
