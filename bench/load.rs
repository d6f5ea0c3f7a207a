//! The load generator: unique signed events at a fixed concurrency (closed loop) or at a fixed
//! rate (open loop). In open loop every latency is measured from the moment the request was
//! due, not from when it could finally be sent, so a stalled server cannot hide its stall by
//! slowing the generator down (coordinated omission).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;

use crate::payload::{self, Kind};

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub url: String,
    pub secret: String,
    pub concurrency: usize,
    /// Measured time; the run also stops after `total_events` when that is set.
    pub duration: Option<Duration>,
    /// Sent but not measured before the measured time starts (connections, caches, JIT-free
    /// but allocator and page-cache warm-up still matter).
    pub warmup: Duration,
    /// Events per second (open loop); `None` sends as fast as `concurrency` allows.
    pub rate: Option<f64>,
    pub kind: Kind,
    pub total_events: Option<u64>,
    /// Keep (ticket, unix µs) of every ticket's first event, for webhook → note latency.
    pub record_sends: bool,
}

#[derive(Debug)]
pub struct LoadReport {
    /// Requests started in the measured window.
    pub requests: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// Connection errors and timeouts (no status).
    pub errors: u64,
    pub elapsed: Duration,
    /// Latency in microseconds.
    pub latency: Histogram<u64>,
    pub sends: Vec<(String, u64)>,
    /// Tickets used (all of them, including warm-up).
    pub tickets: Vec<u64>,
}

impl LoadReport {
    /// 2xx answers per second.
    pub fn ok_rps(&self) -> f64 {
        let ok: u64 = self
            .statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum();
        ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn failures(&self) -> u64 {
        self.errors
            + self
                .statuses
                .iter()
                .filter(|(s, _)| !(200..300).contains(*s))
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn summary(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        format!(
            "{} requests in {:.1}s: {:.0} ok/s; status {}; errors {}; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.ok_rps(),
            if statuses.is_empty() {
                "-".into()
            } else {
                statuses.join(" ")
            },
            self.errors,
            self.ms(0.50),
            self.ms(0.90),
            self.ms(0.99),
            self.latency.max() as f64 / 1000.0,
        )
    }
}

struct Shared {
    spec: LoadSpec,
    http: reqwest::Client,
    measure_from: Instant,
    stop_at: Option<Instant>,
    next_ticket_index: AtomicU64,
    stats: Mutex<Stats>,
}

struct Stats {
    requests: u64,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    latency: Histogram<u64>,
    last_done: Instant,
    sends: Vec<(String, u64)>,
    tickets: Vec<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    #[error("a load task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub async fn run(spec: LoadSpec) -> Result<LoadReport, LoadError> {
    let http = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(spec.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let shared = Arc::new(Shared {
        stop_at: spec.duration.map(|d| measure_from + d),
        measure_from,
        http,
        next_ticket_index: AtomicU64::new(0),
        stats: Mutex::new(Stats {
            requests: 0,
            statuses: BTreeMap::new(),
            errors: 0,
            latency: Histogram::new_with_bounds(1, 120_000_000, 3)?,
            last_done: measure_from,
            sends: vec![],
            tickets: vec![],
        }),
        spec,
    });
    match shared.spec.rate {
        None => closed_loop(&shared).await?,
        Some(rate) => open_loop(&shared, rate).await?,
    }
    let stats = std::mem::replace(
        &mut *shared.stats.lock().unwrap_or_else(PoisonError::into_inner),
        Stats {
            requests: 0,
            statuses: BTreeMap::new(),
            errors: 0,
            latency: Histogram::new(3)?,
            last_done: measure_from,
            sends: vec![],
            tickets: vec![],
        },
    );
    let end = stats.last_done.max(shared.stop_at.unwrap_or(measure_from));
    Ok(LoadReport {
        requests: stats.requests,
        statuses: stats.statuses,
        errors: stats.errors,
        elapsed: end.saturating_duration_since(measure_from),
        latency: stats.latency,
        sends: stats.sends,
        tickets: stats.tickets,
    })
}

impl Shared {
    /// The next ticket to send, or `None` when the run is over.
    fn claim_ticket(&self, now: Instant) -> Option<u64> {
        if self.stop_at.is_some_and(|stop| now >= stop) {
            return None;
        }
        let index = self.next_ticket_index.fetch_add(1, Ordering::Relaxed);
        let per_ticket = self.spec.kind.events_per_ticket();
        if let Some(total) = self.spec.total_events
            && index * per_ticket >= total
        {
            return None;
        }
        let ticket = payload::next_ticket();
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tickets
            .push(ticket);
        Some(ticket)
    }

    /// Sends one event; latency counts from `due`.
    async fn send(&self, ticket: u64, step: u64, due: Instant) {
        let body = payload::event(self.spec.kind, ticket, step);
        let mut request = self
            .http
            .post(&self.spec.url)
            .header("content-type", "application/json");
        for (name, value) in payload::signature_headers(&self.spec.secret, body.as_bytes()) {
            request = request.header(name, value);
        }
        let sent_at = SystemTime::now();
        let result = request.body(body).send().await;
        let status = match result {
            // The body is read so the connection goes back to the pool.
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                Some(status)
            }
            Err(_) => None,
        };
        let done = Instant::now();
        if due < self.measure_from {
            return;
        }
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.requests += 1;
        match status {
            Some(s) => *stats.statuses.entry(s).or_default() += 1,
            None => stats.errors += 1,
        }
        let micros = done.saturating_duration_since(due).as_micros() as u64;
        stats.latency.saturating_record(micros.max(1));
        stats.last_done = stats.last_done.max(done);
        if self.spec.record_sends && step == 0 {
            stats
                .sends
                .push((ticket.to_string(), payload::unix_micros(sent_at)));
        }
    }
}

async fn closed_loop(shared: &Arc<Shared>) -> Result<(), LoadError> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..shared.spec.concurrency.max(1) {
        let shared = shared.clone();
        tasks.spawn(async move {
            while let Some(ticket) = shared.claim_ticket(Instant::now()) {
                for step in 0..shared.spec.kind.events_per_ticket() {
                    shared.send(ticket, step, Instant::now()).await;
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(())
}

/// Tickets start on a fixed schedule; a ticket's later events are due one ticket interval
/// apart and never overtake the earlier ones (the workflow needs them in order).
async fn open_loop(shared: &Arc<Shared>, rate: f64) -> Result<(), LoadError> {
    let per_ticket = shared.spec.kind.events_per_ticket();
    let interval = Duration::from_secs_f64(per_ticket as f64 / rate.max(0.001));
    // Bounds connections, not the schedule: a request waiting for a permit is late, and its
    // latency says so.
    let permits = Arc::new(Semaphore::new(shared.spec.concurrency.max(1)));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0u32.. {
        let due = start + interval * n;
        tokio::time::sleep_until(due.into()).await;
        let Some(ticket) = shared.claim_ticket(due) else {
            break;
        };
        let shared = shared.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            for step in 0..per_ticket {
                let step_due = due + interval * step as u32;
                tokio::time::sleep_until(step_due.into()).await;
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                shared.send(ticket, step, step_due).await;
            }
        });
        while let Some(done) = tasks.try_join_next() {
            done?;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(())
}

/// "20s", "500ms", "2m" or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 20s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// "200/s" or "200".
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s");
    match number.parse::<f64>() {
        Ok(rate) if rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?}: expected events per second such as 200/s"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_rates() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert!(parse_rate("0").is_err());
    }
}
