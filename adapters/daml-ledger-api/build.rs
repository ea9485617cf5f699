//! Compiles our Ledger API v2 subset with protox (pure Rust, so no system `protoc` is needed) and generates the
//! prost messages and the tonic clients and servers from it.

const PROTOS: &[&str] = &[
    "com/daml/ledger/api/v2/value.proto",
    "com/daml/ledger/api/v2/commands.proto",
    "com/daml/ledger/api/v2/event.proto",
    "com/daml/ledger/api/v2/transaction.proto",
    "com/daml/ledger/api/v2/transaction_filter.proto",
    "com/daml/ledger/api/v2/command_service.proto",
    "com/daml/ledger/api/v2/state_service.proto",
    "com/daml/ledger/api/v2/update_service.proto",
    "com/daml/ledger/api/v2/completion.proto",
    "com/daml/ledger/api/v2/command_completion_service.proto",
    "com/daml/ledger/api/v2/offset_checkpoint.proto",
    "com/daml/ledger/api/v2/version_service.proto",
    "com/daml/ledger/api/v2/trace_context.proto",
    "com/daml/ledger/api/v2/admin/party_management_service.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
