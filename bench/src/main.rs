//! The `gateway-bench` binary: parses the flags, runs the benchmark, prints the table and the JSON line.

use anyhow::Context;
use clap::Parser;
use gateway_bench::Options;

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(gateway_bench::run(&options))?;
    if !options.json_only {
        println!("{}", report.table());
    }
    println!("{}", report.json_line());
    Ok(())
}
