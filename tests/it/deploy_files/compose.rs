//! Compose file, env.example and Dockerfile.

use regex::Regex;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::support::*;

/// `KEY=VALUE` lines of env.example; with `optional`, also the commented-out `# KEY=VALUE` ones.
fn env_example(optional: bool) -> BTreeMap<String, String> {
    let line = Regex::new(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$").unwrap();
    read(&deploy("env.example"))
        .lines()
        .filter_map(|l| line.captures(l.trim()))
        .filter(|c| optional || c.get(1).is_none())
        .map(|c| (c[2].to_string(), c[3].to_string()))
        .collect()
}

/// Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` substitution.
fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> String {
    let reference = Regex::new(r"\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}").unwrap();
    reference
        .replace_all(text, |c: &regex::Captures| {
            match (vars.get(&c[1]), c.get(2).map(|m| m.as_str())) {
                (Some(value), _) if !value.is_empty() => value.clone(),
                (_, Some("-")) => c[3].to_string(),
                _ => panic!(
                    "compose.yaml needs {} and env.example does not set it",
                    &c[1]
                ),
            }
        })
        .into_owned()
}

#[test]
fn compose_file_wires_services_in_order_and_env_example_covers_it() {
    let text = read(&deploy("compose.yaml"));
    let vars = env_example(false);
    let reference = Regex::new(r"\$\{([A-Z0-9_]+)").unwrap();
    for c in reference.captures_iter(&text) {
        assert!(
            vars.contains_key(&c[1]),
            "compose.yaml uses {} but env.example has no {}= line",
            &c[1],
            &c[1]
        );
    }
    let compose = &yaml_documents(&deploy("compose.yaml")).unwrap()[0];
    let service = |name: &str| {
        get(compose, &["services", name])
            .unwrap_or_else(|| panic!("compose.yaml has no service {name}"))
    };
    for backing in ["postgres", "rabbitmq"] {
        assert!(
            get(service(backing), &["healthcheck", "test"]).is_some(),
            "{backing} has no healthcheck"
        );
    }
    let condition = |name: &str, on: &str| text_at(service(name), &["depends_on", on, "condition"]);
    assert_eq!(condition("migrate", "postgres"), Some("service_healthy"));
    for role in ["receive", "work"] {
        assert_eq!(
            condition(role, "migrate"),
            Some("service_completed_successfully"),
            "{role}"
        );
        assert_eq!(
            condition(role, "postgres"),
            Some("service_healthy"),
            "{role}"
        );
        assert_eq!(
            condition(role, "rabbitmq"),
            Some("service_healthy"),
            "{role}"
        );
        let check = serde_yaml_ng::to_string(get(service(role), &["healthcheck", "test"]).unwrap())
            .unwrap();
        assert!(check.contains("/readyz"), "{role} healthcheck: {check}");
    }
    let replicas = get(service("work"), &["deploy", "replicas"]).and_then(Value::as_u64);
    assert!(
        replicas.is_some_and(|r| r >= 2),
        "two workers expected, got {replicas:?}"
    );
    let declared = string_map(get(compose, &["volumes"]));
    for (name, svc) in string_keyed(get(compose, &["services"])) {
        for volume in get(svc, &["volumes"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            assert!(
                declared.contains_key(source),
                "{name}: volume {source} is not declared"
            );
        }
    }
}

#[test]
fn compose_environment_is_accepted_by_the_binary() {
    let compose = &yaml_documents(&deploy("compose.yaml")).unwrap()[0];
    // Once as shipped, once with the commented-out optional lines (live Zendesk) switched on.
    for optional in [false, true] {
        let vars = env_example(optional);
        for role in ["migrate", "receive", "work"] {
            let service = get(compose, &["services", role]).unwrap();
            assert_eq!(text_at(service, &["env_file"]), Some(".env"), "{role}");
            // env_file passes every line; `environment` wins over it.
            let mut env = vars.clone();
            for (key, value) in string_map(get(service, &["environment"])) {
                env.insert(key, interpolate(&value, &vars));
            }
            let effective =
                assert_accepted(&format!("compose {role} (optional: {optional})"), &env);
            assert!(
                effective.contains("queue_url = \"amqp://"),
                "{role}: {effective}"
            );
            assert!(
                effective.contains("database_url = \"postgres://"),
                "{role}: {effective}"
            );
            assert!(
                effective.contains("listen = \"0.0.0.0:8080\""),
                "{role}: {effective}"
            );
        }
    }
}

/// Dockerfile instructions with continuation lines joined and comments dropped.
fn dockerfile_instructions() -> Vec<(String, String)> {
    let text = read(&deploy("Dockerfile")).replace("\\\n", " ");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_ascii_uppercase(), rest.trim().to_string())
        })
        .collect()
}

#[test]
fn image_runs_unprivileged_and_listens_where_it_exposes_and_checks() {
    let instructions = dockerfile_instructions();
    let args = |op: &str| -> Vec<&str> {
        instructions
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, a)| a.as_str())
            .collect()
    };
    assert!(args("FROM").len() >= 2, "multi-stage build expected");
    assert!(
        args("RUN")
            .iter()
            .any(|r| r.contains("cargo build --profile production --locked"))
    );
    let user = args("USER");
    let uid = user.last().expect("no USER: the image would run as root");
    assert!(
        !["root", "0"].contains(&uid.split(':').next().unwrap()),
        "USER {uid}"
    );

    let mut env = BTreeMap::new();
    for line in args("ENV") {
        for pair in line.split_whitespace() {
            let (key, value) = pair.split_once('=').unwrap();
            env.insert(key.to_string(), value.to_string());
        }
    }
    let effective = assert_accepted("Dockerfile ENV", &env);
    let listen = &env["ONBEHALF_LISTEN"];
    assert!(
        listen.starts_with("0.0.0.0:"),
        "a container must listen beyond loopback: {listen}"
    );
    assert!(
        effective.contains(&format!("listen = \"{listen}\"")),
        "{effective}"
    );
    let port = listen_port(listen).to_string();
    assert_eq!(args("EXPOSE"), vec![port.as_str()]);
    let health = args("HEALTHCHECK");
    assert!(
        health
            .iter()
            .any(|h| h.contains(&format!("127.0.0.1:{port}/healthz"))),
        "HEALTHCHECK does not probe the listener: {health:?}"
    );
    assert_eq!(args("ENTRYPOINT"), vec![r#"["onbehalf"]"#]);
}

/// Files the build reads besides `src/`: target paths from Cargo.toml and everything embedded
/// with `include_str!`/`include_bytes!`/`sqlx::migrate!`, relative to the repository root.
fn files_the_build_reads() -> Vec<PathBuf> {
    let root = root().canonicalize().unwrap();
    let manifest: toml::Table = toml::from_str(&read(&root.join("Cargo.toml"))).unwrap();
    let mut files: Vec<PathBuf> = ["lib", "bin"]
        .iter()
        .filter_map(|section| manifest.get(*section))
        .flat_map(|v| match v {
            toml::Value::Array(targets) => targets.clone(),
            other => vec![other.clone()],
        })
        .filter_map(|target| target.get("path")?.as_str().map(PathBuf::from))
        .collect();
    // Cargo reads every workspace member's manifest, whatever package is built.
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str());
    files.extend(members.map(|m| PathBuf::from(m).join("Cargo.toml")));
    let include = Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let migrate = Regex::new(r#"migrate!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let sources = files_under(&root.join("src"))
        .into_iter()
        .chain(files_under(&root.join("bench")))
        .filter(|p| has_extension(p, &["rs"]));
    for source in sources {
        let text = read(&source);
        for c in include.captures_iter(&text) {
            let path = source.parent().unwrap().join(&c[1]);
            let path = path
                .canonicalize()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.push(path.strip_prefix(&root).unwrap().to_path_buf());
        }
        for c in migrate.captures_iter(&text) {
            files.push(PathBuf::from(&c[1]));
        }
    }
    files
}

#[test]
fn image_build_context_holds_every_file_the_build_embeds() {
    let files = files_the_build_reads();
    assert!(
        files.iter().any(|f| f.starts_with("migrations")),
        "the migrations should be among {files:?}"
    );
    let copied: Vec<String> = dockerfile_instructions()
        .into_iter()
        .filter(|(op, args)| op == "COPY" && !args.starts_with("--from"))
        .flat_map(|(_, args)| {
            let mut words: Vec<String> = args.split_whitespace().map(String::from).collect();
            words.pop(); // the destination
            words
        })
        .collect();
    let ignored: Vec<String> = read(&deploy("Dockerfile.dockerignore"))
        .lines()
        .map(|l| l.trim().trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for file in &files {
        let top = file
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let in_context = copied
            .iter()
            .any(|c| c == "." || c.trim_end_matches('/') == top);
        assert!(
            in_context,
            "the image build does not COPY {}",
            file.display()
        );
        assert!(
            !ignored.iter().any(|i| i == top),
            "Dockerfile.dockerignore leaves out {}, which the build needs",
            file.display()
        );
    }
}
