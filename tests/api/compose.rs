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

/// The binary's flags as `(env var, --long, takes a value)`.
fn flags() -> Vec<(String, String, bool)> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| {
            let takes_value = a.get_action().takes_values();
            Some((
                a.get_env()?.to_str()?.to_owned(),
                a.get_long()?.to_owned(),
                takes_value,
            ))
        })
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
        let (_, long, takes_value) = flags
            .iter()
            .find(|(var, _, _)| var == name)
            .unwrap_or_else(|| panic!("{name} is not a variable the binary reads"));
        match (takes_value, value) {
            (true, _) => args.extend([format!("--{long}"), value.to_owned()]),
            (false, "true") => args.push(format!("--{long}")),
            (false, "false") => {}
            (false, other) => panic!("{name}: a flag takes true or false, not {other}"),
        }
    }
    let cli = <Cli as clap::Parser>::try_parse_from(&args).expect("the binary accepts every value");
    let settings = cli.settings;
    // The main flags (docs/running.md) are set explicitly, so the compose file documents them.
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

    // Clients in other containers reach it as https://emulator (the SDKs refuse plain http but to localhost).
    assert!(settings.tls_self_signed, "the stack serves https");
    assert!(
        settings.tls_san.iter().any(|n| n == "emulator"),
        "the certificate names the service"
    );

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
    // Published on loopback only, with the admin token required and the service name allowed as a Host.
    for port in ports {
        assert!(
            port.as_str().unwrap().starts_with("127.0.0.1:"),
            "{port:?} is published beyond loopback"
        );
    }
    let token = env
        .get("EMULATOR_ADMIN_TOKEN")
        .and_then(Value::as_str)
        .expect("compose passes the admin token");
    assert!(
        token.starts_with("${EMULATOR_ADMIN_TOKEN:?"),
        "the admin token is required from the environment, not a default: {token}"
    );
    assert!(
        settings.allowed_hosts.iter().any(|h| h == "emulator"),
        "other containers address it as emulator"
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

/// The seeded stack of docs/state.md: its variables are the binary's seed flags, and the file it names is the
/// example seed, mounted from the repository.
#[test]
fn the_seeded_compose_override_names_the_example_seed() {
    let over: Value = serde_yaml::from_str(&read("docs/examples/docker-compose.seed.yml")).unwrap();
    let service = &over["services"]["emulator"];
    let env = service["environment"].as_mapping().unwrap();
    let var = |name: &str| env.get(name).and_then(Value::as_str).unwrap().to_owned();
    let args = [
        "cloudpc-emulator".to_owned(),
        "--seed".to_owned(),
        var("EMULATOR_SEED"),
        "--seed-mode".to_owned(),
        var("EMULATOR_SEED_MODE"),
    ];
    let flags = flags();
    for name in ["EMULATOR_SEED", "EMULATOR_SEED_MODE"] {
        assert!(flags.iter().any(|(v, _, _)| v == name), "{name}");
    }
    let settings = <Cli as clap::Parser>::try_parse_from(args)
        .unwrap()
        .settings;
    let mount = service["volumes"][0].as_str().unwrap();
    let (host, rest) = mount.split_once(':').unwrap();
    let container = rest.trim_end_matches(":ro");
    let seed = settings.seed.unwrap();
    let relative = seed
        .strip_prefix(container)
        .expect("the seed is in the mount");
    let on_host = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(host)
        .join(relative.trim_start_matches('/'));
    assert!(on_host.is_file(), "{} exists", on_host.display());
}
