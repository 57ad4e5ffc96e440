//! The compose file and the Dockerfile agree with the binary's flags: every variable they set is one the binary
//! reads and accepts, the published port is the one it listens on, the volume holds its database, and the health
//! check is its own subcommand. (`.ci/run` also validates both files with the real Compose program and hadolint.)

use std::path::Path;

use clap::CommandFactory;
use cloudpc_emulator::config::Cli;
use serde_yaml::Value;

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
}

/// The binary's flags as `(env var, --long)` pairs.
fn flags() -> Vec<(String, String)> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| Some((a.get_env()?.to_str()?.to_owned(), a.get_long()?.to_owned())))
        .collect()
}

#[test]
fn compose_environment_port_volume_and_healthcheck_match_the_binary() {
    let compose: Value = serde_yaml::from_str(&read("docker-compose.yml")).unwrap();
    let service = &compose["services"]["emulator"];
    let env = service["environment"]
        .as_mapping()
        .expect("environment is a mapping");
    let flags = flags();
    let mut args = vec!["cloudpc-emulator".to_owned()];
    for (name, value) in env {
        let name = name.as_str().unwrap();
        let value = value.as_str().expect("quoted values");
        if name == "RUST_LOG" {
            continue;
        }
        let (_, long) = flags
            .iter()
            .find(|(var, _)| var == name)
            .unwrap_or_else(|| panic!("{name} is not a variable the binary reads"));
        args.extend([format!("--{long}"), value.to_owned()]);
    }
    let cli = <Cli as clap::Parser>::try_parse_from(&args).expect("the binary accepts every value");
    let settings = cli.settings;
    // The flags of CONTRACT §2 are set explicitly, so the compose file documents them.
    for var in [
        "EMULATOR_LISTEN",
        "EMULATOR_DATABASE",
        "EMULATOR_AUTH",
        "EMULATOR_UPLOAD_DURATION",
        "EMULATOR_PAGE_SIZE",
        "EMULATOR_SYNCHRONOUS",
    ] {
        assert!(env.contains_key(var), "compose sets {var}");
    }

    let listen_port = settings.listen.rsplit(':').next().unwrap();
    assert!(
        settings.listen.starts_with("0.0.0.0:"),
        "reachable from outside the container"
    );
    let ports = service["ports"].as_sequence().unwrap();
    assert!(
        ports
            .iter()
            .any(|p| p.as_str().unwrap().ends_with(&format!(":{listen_port}"))),
        "a published port maps to {listen_port}"
    );

    let db_dir = Path::new(&settings.database)
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let volumes = service["volumes"].as_sequence().unwrap();
    let named: Vec<&str> = volumes.iter().map(|v| v.as_str().unwrap()).collect();
    let mount = named
        .iter()
        .find(|v| v.ends_with(&format!(":{db_dir}")))
        .expect("a volume holds the database");
    let volume_name = mount.split(':').next().unwrap();
    assert!(
        compose["volumes"]
            .as_mapping()
            .unwrap()
            .contains_key(volume_name),
        "a named volume"
    );

    let test: Vec<&str> = service["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        test,
        ["CMD", "/usr/local/bin/cloudpc-emulator", "healthcheck"]
    );
}

#[test]
fn dockerfile_runs_the_binary_as_a_non_root_user_with_data_in_a_volume() {
    let dockerfile = read("Dockerfile");
    let lines: Vec<&str> = dockerfile.lines().map(str::trim).collect();
    assert!(
        lines.iter().filter(|l| l.starts_with("FROM ")).count() >= 2,
        "multi-stage"
    );
    let user = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER");
    assert!(!user.ends_with("root") && !user.ends_with(" 0"), "{user}");
    assert!(lines.contains(&"VOLUME [\"/data\"]"));
    assert!(dockerfile.contains("EMULATOR_DATABASE=/data/cloudpc-emulator.db"));
    assert!(dockerfile.contains("EMULATOR_LISTEN=0.0.0.0:8080"));
    assert!(lines.contains(&"EXPOSE 8080"));
    assert!(dockerfile.contains("CMD [\"/usr/local/bin/cloudpc-emulator\", \"healthcheck\"]"));
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/cloudpc-emulator\"]"));
}
