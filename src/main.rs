//! The thin binary: parse flags, start telemetry, build the application, handle signals, run it.

use std::process::ExitCode;

use clap::Parser;
use cloudpc_emulator::config::{Cli, Command};
use cloudpc_emulator::{healthcheck, http::Application, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Healthcheck { url }) => {
            return healthcheck::run(url.as_deref(), &cli.settings)
        }
        Some(Command::Token {
            tenant,
            scopes,
            roles,
            lifetime,
        }) => {
            return cloudpc_emulator::identity::token::print(
                &cli.settings,
                tenant,
                scopes,
                roles,
                lifetime,
            )
            .await
        }
        Some(Command::Replay {
            file,
            url,
            compare_bodies,
            token,
            tenant,
            insecure,
        }) => {
            return cloudpc_emulator::replay::run(&cloudpc_emulator::replay::Options {
                file,
                url,
                compare_bodies,
                token,
                tenant,
                admin_token: cli.settings.admin_token.clone(),
                insecure,
            })
        }
        None => {}
    }
    telemetry::init();
    let code = serve(cli).await;
    telemetry::flush();
    code
}

/// Builds and runs the emulator until a stop signal.
async fn serve(cli: Cli) -> ExitCode {
    let app = match Application::build(cli.settings).await {
        Ok(app) => app,
        Err(e) => {
            telemetry::flush();
            eprintln!("cloudpc-emulator: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The handlers are in place before the line: a SIGTERM right after it still stops the emulator gracefully.
    let stop = match shutdown_signals() {
        Ok(signals) => signals,
        Err(e) => {
            telemetry::flush();
            eprintln!("cloudpc-emulator: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let handle = app.handle();
    tokio::spawn(async move {
        stop.await;
        tracing::info!("stop signal received; finishing requests in flight");
        handle.stop(true).await;
    });
    // Tools and tests wait for exactly this line (docs/running.md).
    println!("listening on {}", app.url());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            telemetry::flush();
            eprintln!("cloudpc-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A future that completes on SIGTERM or SIGINT; the handlers are registered when this returns.
fn shutdown_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
