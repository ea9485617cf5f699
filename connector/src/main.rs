//! The `connector` binary: parses the command line and runs the subcommand; errors are printed, not panicked.

use std::process::ExitCode;

use clap::Parser;

use connector::cli::{Cli, Command, DeadLettersAction, ProcessOptions, RequestsAction};

/// mimalloc instead of glibc malloc: the gateway allocates many small, short-lived buffers per message, and glibc's
/// free-list consolidation (`malloc_consolidate`, `unlink_chunk`) was over a third of `connector process` CPU time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The stack of threads started without a size of their own, lapin's I/O thread among them: it parses AMQP header
/// tables recursively, and a sender can nest one ~26,000 levels deep in a 128 KiB frame, which needs ~200 MiB of
/// stack in a debug build (measured) and overflows the default 2 MiB one, aborting the process. Only what a thread
/// touches becomes resident.
const DEFAULT_MIN_STACK_BYTES: &str = "268435456";

/// The async runtime's own threads: ordinary work, with room to spare over the 2 MiB default.
const RUNTIME_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    if std::env::var_os("RUST_MIN_STACK").is_none() {
        // SAFETY: nothing else runs yet: no thread has been started, so none can read the environment meanwhile.
        unsafe { std::env::set_var("RUST_MIN_STACK", DEFAULT_MIN_STACK_BYTES) };
    }
    connector::huge_pages::disable_transparent_huge_pages();
    // A file size limit (RLIMIT_FSIZE) must fail the write that crosses it (EFBIG), which the gateway handles as a
    // storage failure, instead of killing the process with SIGXFSZ mid-write.
    // SAFETY: ignoring a signal has no preconditions; nothing else runs yet.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(RUNTIME_STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<connector::gateway::StorageFailure>()
                .is_some()
            {
                ExitCode::from(connector::gateway::STORAGE_FAILURE_EXIT_CODE)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { config } => {
            println!("{}", connector::cli::check(&config).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::DeadLetters { action } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match action {
                DeadLettersAction::List { config, limit } => {
                    connector::cli::list_dead_letters(&config, limit, &mut out).await?;
                }
                DeadLettersAction::Replay {
                    config,
                    codes,
                    request_ids,
                    all,
                    dry_run,
                } => {
                    let filter = connector::dead_letters::ReplayFilter {
                        codes,
                        request_ids,
                        all,
                    };
                    connector::cli::replay_dead_letters(&config, &filter, dry_run, &mut out)
                        .await?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compact { config } => {
            println!("{}", connector::cli::compact(&config).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Process {
            config,
            input,
            clock,
            amqp_user,
        } => {
            init_stderr_logging();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            connector::cli::process(
                &ProcessOptions {
                    config,
                    input,
                    clock,
                    amqp_user,
                },
                &mut out,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain {
            config,
            input,
            clock,
            amqp_user,
            json,
        } => {
            init_stderr_logging();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            connector::cli::explain(
                &connector::cli::ExplainOptions {
                    config,
                    input,
                    clock,
                    amqp_user,
                    json,
                },
                &mut out,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Requests { action } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match action {
                RequestsAction::Show { config, request_id } => {
                    connector::cli::show_request(&config, &request_id, &mut out).await?;
                }
                RequestsAction::List {
                    config,
                    status,
                    code,
                    since,
                    limit,
                } => {
                    let query = connector::outcome_store::HistoryQuery {
                        status,
                        code,
                        since_ms: since,
                        limit: limit.unwrap_or(connector::outcome_store::DEFAULT_LIST_LIMIT),
                    };
                    connector::cli::list_requests(&config, &query, &mut out).await?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config } => {
            connector::cli::run(&config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox {
            config,
            listen,
            token_file,
            latency_ms,
            record_trace_context,
        } => {
            let options = connector::cli::SandboxOptions {
                config,
                listen,
                token_file,
                latency: std::time::Duration::from_millis(latency_ms),
                record_trace_context,
            };
            connector::cli::sandbox(&options).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { kind } => {
            print!("{}", connector::cli::schema_text(kind)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Send {
            config,
            file,
            timeout,
        } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let options = connector::cli::SendOptions {
                config,
                input: file,
                timeout,
            };
            let (sent, answered) = connector::cli::send(&options, &mut out).await?;
            eprintln!("sent {sent} message(s); {answered} answered");
            Ok(if answered == sent {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Test { files, accept, ci } => {
            let options =
                connector::cli::TestOptions::new(accept, ci, std::env::var_os("CI").as_deref())?;
            let all_passed = connector::cli::test_runner_main(&files, options).await?;
            Ok(if all_passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Offline commands log warnings to stderr so stdout stays pure egress (`RUST_LOG` changes the level).
fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
