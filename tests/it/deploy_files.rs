//! The operator files under `deploy/` checked against the code they deploy: every file parses,
//! every variable is a configuration key the binary accepts, every command is a subcommand,
//! every probe path is a route, every alerted metric is one the code records, and the
//! Kubernetes objects refer to each other correctly. No Docker engine or cluster is needed.

mod alerts;
mod compose;
mod k8s;
mod support;

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use support::*;

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
