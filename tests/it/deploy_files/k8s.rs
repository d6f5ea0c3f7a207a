//! Kubernetes manifests: probes, privileges, references between objects, configuration.

use serde_yaml_ng::Value;
use std::collections::BTreeMap;

use super::support::*;

#[test]
fn k8s_deployments_are_probed_and_scraped_on_the_listener_port() {
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

#[test]
fn every_k8s_pod_runs_unprivileged_with_memory_bounds() {
    let workloads: Vec<Value> = k8s_objects()
        .into_iter()
        .filter(|o| get(o, &["spec", "template", "spec"]).is_some())
        .collect();
    assert!(workloads.len() >= 3, "receive, work and migrate expected");
    for workload in &workloads {
        let pod = get(workload, &["spec", "template", "spec"]).unwrap();
        for container in containers(workload) {
            let name = format!(
                "{} {}",
                text_at(workload, &["kind"]).unwrap(),
                text_at(workload, &["metadata", "name"]).unwrap()
            );
            // A container's own setting overrides the pod's.
            let non_root = [container, pod]
                .iter()
                .find_map(|v| get(v, &["securityContext", "runAsNonRoot"]))
                .and_then(Value::as_bool);
            assert_eq!(non_root, Some(true), "{name}: runAsNonRoot");
            let security = get(container, &["securityContext"])
                .unwrap_or_else(|| panic!("{name}: no securityContext"));
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
        }
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
