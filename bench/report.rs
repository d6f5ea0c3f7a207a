//! The results table: one row per figure, with its target and whether it was met.

use std::fmt::Write;

#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtLeast(bound) => value >= bound,
            Target::AtMost(bound) => value <= bound,
            Target::Below(bound) => value < bound,
        }
    }

    fn describe(self, unit: &str) -> String {
        let (op, bound) = match self {
            Target::AtLeast(b) => ("≥", b),
            Target::AtMost(b) => ("≤", b),
            Target::Below(b) => ("<", b),
        };
        format!("{op} {}", format_value(bound, unit))
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub figure: String,
    /// The measurement, or why there is none.
    pub value: Result<f64, String>,
    pub unit: &'static str,
    pub target: Option<Target>,
}

#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    pub fn add(
        &mut self,
        scenario: &str,
        figure: &str,
        value: Result<f64, String>,
        unit: &'static str,
        target: Option<Target>,
    ) {
        let row = Row {
            scenario: scenario.into(),
            figure: figure.into(),
            value,
            unit,
            target,
        };
        eprintln!(
            "  {} / {}: {}",
            row.scenario,
            row.figure,
            render_value(&row)
        );
        self.rows.push(row);
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| Scenario | Figure | Measured | Target | Met |\n|---|---|---:|---|:-:|\n",
        );
        for row in &self.rows {
            let target = row
                .target
                .map(|t| t.describe(row.unit))
                .unwrap_or_else(|| "—".into());
            let met = match (&row.value, row.target) {
                (Ok(v), Some(t)) if t.met(*v) => "yes",
                (Ok(_), Some(_)) => "**no**",
                _ => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {target} | {met} |",
                row.scenario,
                row.figure,
                render_value(row)
            );
        }
        out
    }
}

fn render_value(row: &Row) -> String {
    match &row.value {
        Ok(v) => format_value(*v, row.unit),
        Err(why) => format!("unavailable ({})", why.replace('|', "/")),
    }
}

fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "ms" if value < 10.0 => format!("{value:.2} ms"),
        "ms" => format!("{value:.1} ms"),
        "MiB" => format!("{value:.1} MiB"),
        "×" => format!("{value:.2}×"),
        "" => format!("{value:.0}"),
        unit => format!("{value:.0} {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_missed_targets_and_unavailable_figures() {
        let mut table = Table::default();
        table.add(
            "a",
            "rps",
            Ok(4000.0),
            "req/s",
            Some(Target::AtLeast(5000.0)),
        );
        table.add("a", "p99", Ok(12.0), "ms", Some(Target::Below(50.0)));
        table.add("b", "rps", Err("no broker".into()), "req/s", None);
        let md = table.markdown();
        assert!(
            md.contains("| a | rps | 4000 req/s | ≥ 5000 req/s | **no** |"),
            "{md}"
        );
        assert!(
            md.contains("| a | p99 | 12.0 ms | < 50.0 ms | yes |"),
            "{md}"
        );
        assert!(md.contains("unavailable (no broker)"), "{md}");
    }
}
