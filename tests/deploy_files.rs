//! The operator files under `deploy/` checked against the code they deploy: every file parses,
//! every variable is a configuration key the binary accepts, every command is a subcommand,
//! every probe path is a route, every alerted metric is one the code records, and the
//! Kubernetes objects refer to each other correctly. No Docker engine or cluster is needed.

use regex::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn deploy(path: &str) -> PathBuf {
    root().join("deploy").join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e))
}

/// Every document of a YAML file, with `<<:` merge keys applied as Compose applies them.
fn yaml_documents(path: &Path) -> Result<Vec<Value>, String> {
    let text = read(path);
    let mut documents = vec![];
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut value = Value::deserialize(document).map_err(|e| e.to_string())?;
        value.apply_merge().map_err(|e| e.to_string())?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Mapping(map)) = value else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
            };
            (k.as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn k8s_objects() -> Vec<Value> {
    files_under(&deploy("k8s"))
        .iter()
        .filter(|p| has_extension(p, &["yaml", "yml"]))
        .flat_map(|p| yaml_documents(p).unwrap())
        .filter(|doc| doc.get("apiVersion").is_some())
        .collect()
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            text_at(o, &["kind"]) == Some(kind) && text_at(o, &["metadata", "name"]) == Some(name)
        })
        .unwrap_or_else(|| panic!("deploy/k8s has no {kind} {name}"))
}

fn run_onbehalf(args: &[&str], env: &BTreeMap<String, String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .args(args)
        .env_clear()
        .envs(env)
        .output()
        .unwrap()
}

/// Runs `onbehalf check-config` with exactly these variables; panics with its stderr if the
/// binary would refuse to start with them.
fn assert_accepted(what: &str, env: &BTreeMap<String, String>) -> String {
    let out = run_onbehalf(&["check-config"], env);
    assert!(
        out.status.success(),
        "{what}: onbehalf check-config refused it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn listen_port(listen: &str) -> u16 {
    listen.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn every_yaml_and_json_file_under_deploy_parses() {
    let files = files_under(&root().join("deploy"));
    let mut parsed = 0;
    for path in &files {
        if has_extension(path, &["yaml", "yml"]) {
            let docs = yaml_documents(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!docs.is_empty(), "{}: no YAML document", path.display());
            parsed += 1;
        } else if has_extension(path, &["json"]) {
            let value: serde_json::Value = serde_json::from_str(&read(path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(value.is_object(), "{}: not a JSON object", path.display());
            parsed += 1;
        }
    }
    for expected in [
        "compose.yaml",
        "prometheus/alerts.yaml",
        "k8s/receive.yaml",
        "k8s/work.yaml",
    ] {
        assert!(deploy(expected).is_file(), "deploy/{expected} is missing");
    }
    assert!(
        parsed >= 8,
        "only {parsed} YAML/JSON files found under deploy/"
    );
}

#[test]
fn every_onbehalf_variable_in_deploy_is_a_configuration_key() {
    let mut known: BTreeSet<String> = onbehalf::config::keys()
        .iter()
        .map(|k| onbehalf::config::env_name(k))
        .collect();
    // Read by the binary besides the keys: the file flag and the log filter.
    let src = source_text();
    for extra in ["ONBEHALF_CONFIG", "ONBEHALF_LOG"] {
        assert!(
            src.contains(&format!("\"{extra}\"")),
            "{extra} is not read by src/"
        );
        known.insert(extra.to_string());
    }
    let variable = Regex::new(r"\bONBEHALF_[A-Z0-9_]*[A-Z0-9]\b").unwrap();
    let mut seen = 0;
    let mut unknown = vec![];
    for path in files_under(&root().join("deploy")) {
        for m in variable.find_iter(&read(&path)) {
            seen += 1;
            if !known.contains(m.as_str()) {
                unknown.push(format!("{}: {}", path.display(), m.as_str()));
            }
        }
    }
    assert!(
        seen > 20,
        "only {seen} ONBEHALF_* mentions found: is the pattern broken?"
    );
    assert!(unknown.is_empty(), "not configuration keys: {unknown:#?}");
}

/// All of `src/`, to find route and metric names as string literals.
fn source_text() -> String {
    files_under(&root().join("src"))
        .iter()
        .filter(|p| has_extension(p, &["rs"]))
        .map(|p| read(p))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (file, subcommand) for every place a deploy file starts the binary.
fn commands_used() -> Vec<(String, String)> {
    let mut used = vec![];
    let dockerfile = read(&deploy("Dockerfile"));
    let cmd = Regex::new(r#"(?m)^CMD \["([a-z-]+)""#).unwrap();
    for c in cmd.captures_iter(&dockerfile) {
        used.push(("Dockerfile".to_string(), c[1].to_string()));
    }
    let compose = &yaml_documents(&deploy("compose.yaml")).unwrap()[0];
    for (name, service) in string_keyed(get(compose, &["services"])) {
        if let Some(first) = first_str(get(service, &["command"])) {
            used.push((format!("compose {name}"), first.to_string()));
        }
    }
    for object in k8s_objects() {
        for container in containers(&object) {
            if let Some(first) = first_str(get(container, &["args"])) {
                let name = text_at(&object, &["metadata", "name"]).unwrap();
                used.push((format!("k8s {name}"), first.to_string()));
            }
        }
    }
    used
}

fn string_keyed(value: Option<&Value>) -> Vec<(String, &Value)> {
    match value {
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
            .collect(),
        _ => vec![],
    }
}

fn first_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(|v| v.get(0)).and_then(Value::as_str)
}

fn containers(object: &Value) -> Vec<&Value> {
    get(object, &["spec", "template", "spec", "containers"])
        .and_then(Value::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

#[test]
fn every_command_a_deploy_file_runs_is_a_subcommand() {
    let used = commands_used();
    let names: BTreeSet<&str> = used.iter().map(|(_, c)| c.as_str()).collect();
    for expected in ["serve", "receive", "work", "migrate"] {
        assert!(
            names.contains(expected),
            "no deploy file runs `{expected}`: {used:?}"
        );
    }
    for name in names {
        let out = run_onbehalf(&[name, "--help"], &BTreeMap::new());
        assert!(
            out.status.success(),
            "`onbehalf {name}` is not a subcommand: {used:?}"
        );
    }
    // The same check rejects a command the binary does not have.
    assert!(
        !run_onbehalf(&["recieve", "--help"], &BTreeMap::new())
            .status
            .success()
    );
}

/// (file, path) for every HTTP path a probe or health check requests.
fn probe_paths() -> Vec<(String, String)> {
    let url = Regex::new(r"http://127\.0\.0\.1:\d+(/[a-z]+)").unwrap();
    let mut paths = vec![];
    for file in ["Dockerfile", "compose.yaml"] {
        for c in url.captures_iter(&read(&deploy(file))) {
            paths.push((file.to_string(), c[1].to_string()));
        }
    }
    for object in k8s_objects() {
        for container in containers(&object) {
            for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                if let Some(path) = text_at(container, &[probe, "httpGet", "path"]) {
                    let name = text_at(&object, &["metadata", "name"]).unwrap();
                    paths.push((format!("k8s {name} {probe}"), path.to_string()));
                }
            }
        }
    }
    paths
}

#[test]
fn every_probe_requests_a_route_the_server_has() {
    let routes = read(&root().join("src/ingest/mod.rs"));
    let paths = probe_paths();
    assert!(paths.len() >= 5, "too few probes found: {paths:?}");
    for (file, path) in &paths {
        assert!(
            routes.contains(&format!(".route(\"{path}\"")),
            "{file} probes {path}, which is not a route in src/ingest/mod.rs"
        );
    }
}

#[test]
fn k8s_deployments_are_probed_limited_and_locked_down() {
    let objects = k8s_objects();
    let config = string_map(get(
        object(&objects, "ConfigMap", "onbehalf-config"),
        &["data"],
    ));
    let port = listen_port(&config["ONBEHALF_LISTEN"]);
    let drain: u64 = config["ONBEHALF_SHUTDOWN_TIMEOUT_SECS"].parse().unwrap();
    for (name, role) in [("onbehalf-receive", "receive"), ("onbehalf-work", "work")] {
        let deployment = object(&objects, "Deployment", name);
        let pod = get(deployment, &["spec", "template", "spec"]).unwrap();
        let grace = get(pod, &["terminationGracePeriodSeconds"]).and_then(Value::as_u64);
        assert!(
            grace.is_some_and(|g| g > drain),
            "{name}: the grace period must exceed the {drain}s drain"
        );
        let [container] = containers(deployment)[..] else {
            panic!("{name}: one container expected");
        };
        assert_eq!(first_str(get(container, &["args"])), Some(role), "{name}");
        let http = get(container, &["ports"])
            .and_then(Value::as_sequence)
            .and_then(|ports| ports.iter().find(|p| text_at(p, &["name"]) == Some("http")))
            .unwrap_or_else(|| panic!("{name}: no port named http"));
        assert_eq!(
            get(http, &["containerPort"]).and_then(Value::as_u64),
            Some(u64::from(port)),
            "{name}: containerPort is not the ONBEHALF_LISTEN port"
        );
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let http_get = get(container, &[probe, "httpGet"]);
            let http_get = http_get.unwrap_or_else(|| panic!("{name}: no {probe}"));
            assert_eq!(text_at(http_get, &["path"]), Some(path), "{name} {probe}");
            assert_eq!(text_at(http_get, &["port"]), Some("http"), "{name} {probe}");
        }
        let non_root = [pod, container]
            .iter()
            .any(|v| get(v, &["securityContext", "runAsNonRoot"]) == Some(&Value::Bool(true)));
        assert!(non_root, "{name}: runAsNonRoot");
        let security = get(container, &["securityContext"]).unwrap();
        let flag = |key: &str| get(security, &[key]).and_then(Value::as_bool);
        assert_eq!(flag("readOnlyRootFilesystem"), Some(true), "{name}");
        assert_eq!(flag("allowPrivilegeEscalation"), Some(false), "{name}");
        assert_eq!(
            first_str(get(security, &["capabilities", "drop"])),
            Some("ALL"),
            "{name}: capabilities"
        );
        for bound in ["requests", "limits"] {
            assert!(
                text_at(container, &["resources", bound, "memory"]).is_some(),
                "{name}: resources.{bound}.memory"
            );
        }
        let annotations = string_map(get(
            deployment,
            &["spec", "template", "metadata", "annotations"],
        ));
        assert_eq!(
            annotations.get("prometheus.io/scrape").map(String::as_str),
            Some("true"),
            "{name}"
        );
        assert_eq!(
            annotations.get("prometheus.io/port"),
            Some(&port.to_string()),
            "{name}"
        );
    }
}

/// Labels of the pods a workload object creates.
fn pod_labels(object: &Value) -> BTreeMap<String, String> {
    string_map(get(object, &["spec", "template", "metadata", "labels"]))
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn k8s_objects_refer_to_objects_that_exist() {
    let objects = k8s_objects();
    let receive = object(&objects, "Deployment", "onbehalf-receive");
    let work = object(&objects, "Deployment", "onbehalf-work");

    let service = object(&objects, "Service", "onbehalf-receive");
    let selector = string_map(get(service, &["spec", "selector"]));
    assert!(
        selects(&selector, &pod_labels(receive)),
        "the Service misses the receivers"
    );
    assert!(
        !selects(&selector, &pod_labels(work)),
        "the Service must not route webhooks to workers"
    );
    let target_port = get(service, &["spec", "ports"])
        .and_then(|p| p.get(0))
        .and_then(|p| text_at(p, &["targetPort"]));
    assert_eq!(target_port, Some("http"), "Service targetPort");

    let hpa = object(&objects, "HorizontalPodAutoscaler", "onbehalf-receive");
    assert_eq!(
        text_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        Some("Deployment")
    );
    assert_eq!(
        text_at(hpa, &["spec", "scaleTargetRef", "name"]),
        Some("onbehalf-receive")
    );
    let requests_cpu = containers(receive)
        .iter()
        .all(|c| get(c, &["resources", "requests", "cpu"]).is_some());
    assert!(
        requests_cpu,
        "a CPU-utilisation HPA needs CPU requests on the receiver"
    );

    for deployment in [receive, work] {
        let name = text_at(deployment, &["metadata", "name"]).unwrap();
        let covered = objects.iter().any(|o| {
            text_at(o, &["kind"]) == Some("PodDisruptionBudget")
                && selects(
                    &string_map(get(o, &["spec", "selector", "matchLabels"])),
                    &pod_labels(deployment),
                )
        });
        assert!(covered, "no PodDisruptionBudget covers {name}");
        let matched = string_map(get(deployment, &["spec", "selector", "matchLabels"]));
        assert!(
            selects(&matched, &pod_labels(deployment)),
            "{name}: selector misses its pods"
        );
    }

    let job = object(&objects, "Job", "onbehalf-migrate");
    assert_eq!(
        first_str(get(containers(job)[0], &["args"])),
        Some("migrate")
    );
    let secret = deploy("k8s/secret.example.yaml");
    let secret = &yaml_documents(&secret).unwrap()[0];
    let secret_name = text_at(secret, &["metadata", "name"]).unwrap();
    for workload in [receive, work, job] {
        for container in containers(workload) {
            for source in get(container, &["envFrom"])
                .and_then(Value::as_sequence)
                .unwrap()
            {
                if let Some(name) = text_at(source, &["configMapRef", "name"]) {
                    object(&objects, "ConfigMap", name);
                }
                if let Some(name) = text_at(source, &["secretRef", "name"]) {
                    assert_eq!(
                        name, secret_name,
                        "secretRef names a Secret the example does not define"
                    );
                }
            }
        }
    }
}

#[test]
fn k8s_configuration_is_accepted_by_the_binary_and_keeps_secrets_out_of_the_configmap() {
    let objects = k8s_objects();
    let config = string_map(get(
        object(&objects, "ConfigMap", "onbehalf-config"),
        &["data"],
    ));
    let secret = &yaml_documents(&deploy("k8s/secret.example.yaml")).unwrap()[0];
    let secret = string_map(get(secret, &["stringData"]));
    for key in config.keys() {
        let secret_like = ["SECRET", "TOKEN", "PASSWORD", "DATABASE_URL", "QUEUE_URL"];
        assert!(
            !secret_like.iter().any(|s| key.contains(s)),
            "{key} carries a credential: it belongs in the Secret, not the ConfigMap"
        );
    }
    let mut env = config.clone();
    env.extend(secret);
    let effective = assert_accepted("ConfigMap + secret.example.yaml", &env);
    // receive and work refuse the embedded queue and need a shared database.
    assert!(effective.contains("queue_url = \"amqp://"), "{effective}");
    assert!(
        effective.contains("database_url = \"postgres://"),
        "{effective}"
    );
    assert!(effective.contains("listen = \"0.0.0.0:"), "{effective}");
}

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
            .any(|r| r.contains("cargo build --release --locked"))
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

#[test]
fn alerts_are_complete_and_name_only_metrics_and_labels_the_code_records() {
    let path = deploy("prometheus/alerts.yaml");
    let rules_file = &yaml_documents(&path).unwrap()[0];
    let groups = get(rules_file, &["groups"])
        .and_then(Value::as_sequence)
        .unwrap();
    let mut alerts = BTreeSet::new();
    for rule in groups
        .iter()
        .flat_map(|g| get(g, &["rules"]).and_then(Value::as_sequence).unwrap())
    {
        let name = text_at(rule, &["alert"]).expect("a rule without `alert`");
        assert!(alerts.insert(name.to_string()), "{name} defined twice");
        assert!(
            text_at(rule, &["expr"]).is_some_and(|e| !e.trim().is_empty()),
            "{name}: expr"
        );
        assert!(text_at(rule, &["for"]).is_some(), "{name}: `for`");
        let severity = text_at(rule, &["labels", "severity"]);
        assert!(
            matches!(severity, Some("info" | "warning" | "critical")),
            "{name}: severity"
        );
        assert!(
            text_at(rule, &["annotations", "summary"]).is_some(),
            "{name}: summary"
        );
        let description = text_at(rule, &["annotations", "description"]).unwrap_or_default();
        assert!(
            description.contains("Runbook"),
            "{name}: description without a runbook hint"
        );
    }
    assert!(alerts.len() >= 5, "{alerts:?}");

    let src = source_text();
    let text = read(&path);
    let metric = Regex::new(r"\bonbehalf_[a-z_]+").unwrap();
    let mut metrics = BTreeSet::new();
    for m in metric.find_iter(&text) {
        let name = m.as_str();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        metrics.insert(base.to_string());
    }
    for expected in [
        "onbehalf_dead_letters",
        "onbehalf_helpdesk_requests_total",
        "onbehalf_event_age_seconds",
        "onbehalf_webhooks_total",
    ] {
        assert!(metrics.contains(expected), "no alert on {expected}");
    }
    for name in &metrics {
        assert!(
            src.contains(&format!("\"{name}\"")),
            "alerts.yaml uses {name}, which src/ never records"
        );
    }
    // Label values the selectors match must be values the code emits, or the alert never fires.
    let selector = Regex::new(r#"\b(outcome|result|status)=~?"([^"]+)""#).unwrap();
    for c in selector.captures_iter(&text) {
        for value in c[2]
            .split('|')
            .filter(|v| v.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        {
            assert!(
                src.contains(&format!("\"{value}\"")),
                "alerts.yaml matches {}=\"{value}\", which src/ never emits",
                &c[1]
            );
        }
    }
}
