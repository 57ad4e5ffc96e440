//! The thin binary: parse flags, start telemetry, build the application, run it.

use std::process::ExitCode;

use clap::Parser;
use cloudpc_emulator::config::{Cli, Command};
use cloudpc_emulator::{healthcheck, startup::Application, telemetry};

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
        None => {}
    }
    telemetry::init();
    let app = match Application::build(cli.settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("cloudpc-emulator: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Tools and tests wait for exactly this line (CONTRACT §2).
    println!("listening on {}", app.url());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudpc-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
