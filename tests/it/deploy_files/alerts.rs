//! Prometheus alert rules.

use serde_yaml_ng::Value;
use std::collections::BTreeSet;

use regex::Regex;

use super::support::*;

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
