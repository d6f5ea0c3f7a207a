//! `GET /console`: activity per hour, tickets by stage and category, verdicts per day,
//! dependencies, dead letters and each helpdesk's mode.

use axum::extract::State;
use axum::response::Html;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::console::error::ConsoleError;
use crate::console::render::{self, format_ms};
use crate::console::session::Session;
use crate::health::Dependency;
use crate::ingest::HttpState;

const HOURS: i64 = 24;
const DAYS: i64 = 14;

/// One hour of the chart: two bars, heights in the SVG's units.
#[derive(Serialize)]
struct Bar {
    x: i64,
    events: i64,
    notes: i64,
    events_height: i64,
    notes_height: i64,
    label: String,
    /// Hour label under the axis (every sixth hour).
    tick: Option<String>,
}

const CHART_HEIGHT: i64 = 100;
const SLOT: i64 = 20;

fn bars(per_hour: &[(i64, i64, i64)]) -> Vec<Bar> {
    let max = per_hour
        .iter()
        .map(|(_, e, n)| (*e).max(*n))
        .max()
        .unwrap_or(0)
        .max(1);
    per_hour
        .iter()
        .enumerate()
        .map(|(i, (hour, events, notes))| {
            let scaled = |n: i64| {
                if n == 0 {
                    0
                } else {
                    (n * CHART_HEIGHT / max).max(2)
                }
            };
            let at = format_ms(*hour);
            Bar {
                x: i as i64 * SLOT,
                events: *events,
                notes: *notes,
                events_height: scaled(*events),
                notes_height: scaled(*notes),
                tick: (i % 6 == 0).then(|| at[11..16].to_string()),
                label: at,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct DependencyRow {
    /// `queue`, `database`, `helpdesk zendesk`, `gitlab`.
    name: String,
    /// For the element's id: `queue`, `helpdesk-zammad`…
    id: String,
    state: String,
    up: bool,
}

/// The queue and the database as probed now; each helpdesk and GitLab (when configured) as the
/// workers last found them.
fn dependency_rows(state: &HttpState, readiness: &crate::ingest::Readiness) -> Vec<DependencyRow> {
    let row = |name: String, id: String, state: String| DependencyRow {
        up: state.starts_with("ok"),
        name,
        id,
        state,
    };
    let mut rows = vec![
        row("queue".into(), "queue".into(), readiness.queue.clone()),
        row(
            "database".into(),
            "database".into(),
            readiness.database.clone(),
        ),
    ];
    let watched = state.health.states();
    for helpdesk in state.console.helpdesks.iter() {
        let down = watched
            .iter()
            .find(|s| s.dependency.helpdesk() == Some(helpdesk.name.as_str()))
            .and_then(|s| s.down.clone());
        let text = match down {
            Some(reason) => format!("down: {reason}"),
            None if !helpdesk.live => "ok (shadow mode: not contacted)".to_string(),
            None => "ok".to_string(),
        };
        rows.push(row(
            format!("helpdesk {}", helpdesk.name),
            format!("helpdesk-{}", helpdesk.name),
            text,
        ));
    }
    let gitlab = watched
        .into_iter()
        .find(|s| s.dependency == Dependency::GitLab);
    if let Some(gitlab) = gitlab {
        let text = match gitlab.down {
            Some(reason) => format!(
                "down for {}s: {reason} (notes go on without its facts)",
                gitlab.down_for.unwrap_or_default().as_secs()
            ),
            None => "ok".to_string(),
        };
        rows.push(row("gitlab".into(), "gitlab".into(), text));
    }
    rows
}

#[derive(Serialize)]
struct StageRow {
    stage: String,
    counts: Vec<i64>,
    total: i64,
}

#[derive(Serialize)]
struct VerdictRow {
    day: String,
    granted: i64,
    declined: i64,
    unclear: i64,
}

pub async fn page(
    State(state): State<HttpState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    // Counted at most every few seconds (the counts read every recent row); the page says when.
    let counted = state.store.overview_counted(HOURS, DAYS).await?;
    let overview = &*counted.overview;
    let (readiness, stats) = crate::ingest::dependency_probes(&state).await;
    let dependencies = dependency_rows(&state, &readiness);

    let mut categories: Vec<String> = overview.tickets.iter().map(|(_, c, _)| c.clone()).collect();
    categories.sort();
    categories.dedup();
    let mut stages: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (stage, category, n) in &overview.tickets {
        let row = stages
            .entry(stage.clone())
            .or_insert_with(|| vec![0; categories.len()]);
        if let Some(slot) = categories.iter().position(|c| c == category) {
            row[slot] += n;
        }
    }
    let stage_rows: Vec<StageRow> = stages
        .into_iter()
        .map(|(stage, counts)| StageRow {
            total: counts.iter().sum(),
            stage,
            counts,
        })
        .collect();
    let ticket_total: i64 = stage_rows.iter().map(|r| r.total).sum();

    let mut days: BTreeMap<i64, VerdictRow> = BTreeMap::new();
    for (day, verdict, n) in &overview.verdicts {
        let row = days.entry(*day).or_insert_with(|| VerdictRow {
            day: format_ms(*day)[..10].to_string(),
            granted: 0,
            declined: 0,
            unclear: 0,
        });
        match verdict.as_str() {
            "granted" => row.granted += n,
            "declined" => row.declined += n,
            _ => row.unclear += n,
        }
    }
    let events_total: i64 = overview.per_hour.iter().map(|(_, e, _)| e).sum();
    let notes_total: i64 = overview.per_hour.iter().map(|(_, _, n)| n).sum();
    let body = render::page(
        "overview.html",
        "overview",
        &session.csrf,
        minijinja::context! {
            bars => bars(&overview.per_hour),
            chart_width => HOURS * SLOT,
            chart_height => CHART_HEIGHT,
            events_total, notes_total, hours => HOURS, days => DAYS,
            categories => categories.iter().map(|c| if c.is_empty() { "(none yet)".to_string() } else { c.clone() }).collect::<Vec<_>>(),
            stage_rows, ticket_total,
            verdict_rows => days.into_values().rev().collect::<Vec<_>>(),
            dependencies,
            dead_letters => stats.dead,
            queue_ready => stats.ready,
            helpdesks => state.console.helpdesks.clone(),
            notes_by_status => overview.notes.clone(),
            fresh_seconds => crate::store::console::OVERVIEW_FRESH.as_secs(),
            counted_at => format_ms(counted.counted_at_ms),
            counted_seconds_ago => (crate::store::now_ms() - counted.counted_at_ms).max(0) / 1000,
        },
    )?;
    Ok(Html(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_hour() {
        let bars = bars(&[(0, 10, 5), (3_600_000, 0, 1)]);
        assert_eq!(bars[0].events_height, CHART_HEIGHT);
        assert_eq!(bars[0].notes_height, CHART_HEIGHT / 2);
        assert_eq!(bars[1].events_height, 0);
        // A non-empty hour never disappears.
        assert_eq!(bars[1].notes_height, 10);
        assert_eq!(bars[0].tick.as_deref(), Some("00:00"));
        assert_eq!(bars[1].tick, None);
    }
}
