//! Reading the deploy files: paths, YAML documents, value lookups, and running the binary.

use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn deploy(path: &str) -> PathBuf {
    root().join("deploy").join(path)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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

pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e))
}

/// Every document of a YAML file, with `<<:` merge keys applied as Compose applies them.
pub fn yaml_documents(path: &Path) -> Result<Vec<Value>, String> {
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

pub fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

pub fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
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

pub fn k8s_objects() -> Vec<Value> {
    files_under(&deploy("k8s"))
        .iter()
        .filter(|p| has_extension(p, &["yaml", "yml"]))
        .flat_map(|p| yaml_documents(p).unwrap())
        .filter(|doc| doc.get("apiVersion").is_some())
        .collect()
}

pub fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            text_at(o, &["kind"]) == Some(kind) && text_at(o, &["metadata", "name"]) == Some(name)
        })
        .unwrap_or_else(|| panic!("deploy/k8s has no {kind} {name}"))
}

pub fn run_onbehalf(args: &[&str], env: &BTreeMap<String, String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .args(args)
        .env_clear()
        .envs(env)
        .output()
        .unwrap()
}

/// Runs `onbehalf check-config` with exactly these variables; panics with its stderr if the
/// binary would refuse to start with them.
pub fn assert_accepted(what: &str, env: &BTreeMap<String, String>) -> String {
    let out = run_onbehalf(&["check-config"], env);
    assert!(
        out.status.success(),
        "{what}: onbehalf check-config refused it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn listen_port(listen: &str) -> u16 {
    listen.rsplit(':').next().unwrap().parse().unwrap()
}

/// All of `src/`, to find route and metric names as string literals.
pub fn source_text() -> String {
    files_under(&root().join("src"))
        .iter()
        .filter(|p| has_extension(p, &["rs"]))
        .map(|p| read(p))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn string_keyed(value: Option<&Value>) -> Vec<(String, &Value)> {
    match value {
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
            .collect(),
        _ => vec![],
    }
}

pub fn first_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(|v| v.get(0)).and_then(Value::as_str)
}

pub fn containers(object: &Value) -> Vec<&Value> {
    get(object, &["spec", "template", "spec", "containers"])
        .and_then(Value::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}
