//! `judge`: the cost of judging one reply to a permission question, in process (no I/O), on
//! the inputs the consent judge must stay cheap on: a 256 KiB reply, a 36 KiB adversarial one
//! ("never … ok …" on one line, beyond the new-text cap) and the same pattern just under the cap
//! (16 KiB), which the judge reads in full. For each input: the CPU time of one judgment (this
//! thread's user + system time over all runs, divided by the runs: what a worker spends,
//! whatever else the machine is doing) and the median and slowest wall time of one run (which
//! other processes on a shared machine inflate). One warm-up run comes first; the first
//! judgment in a process, which builds the phrase matcher and patterns once, is its own row.

use std::time::{Duration, Instant};

use onbehalf::workflow::consent::{Asked, NEW_TEXT_CAP, judge_reply};
use onbehalf::workflow::{Comment, ConsentVerdict};

use crate::report::{Table, Target};

const RUNS: usize = 200;
const QUESTION: &str =
    "Could you please confirm that you would like us to delete the project `acme/legacy-site`?";

/// A long reply in many lines of ordinary prose, every sentence carrying phrases the judge
/// weighs (so the matcher has work everywhere).
fn long_reply(bytes: usize) -> String {
    let line = "Yes, please go ahead and delete it, but only after Friday unless the export isn't done, thanks!\n";
    line.repeat(bytes / line.len() + 1)
}

/// One line of alternating refusals and grants, the shape that made judging quadratic.
fn adversarial(bytes: usize) -> String {
    let unit = "never ok don't yes not sure go ahead no ";
    unit.repeat(bytes / unit.len() + 1)[..bytes].to_string()
}

fn reply(body: &str) -> Comment {
    Comment {
        id: "bench".into(),
        author_id: "1001".into(),
        public: true,
        body: body.to_string(),
        ..Comment::default()
    }
}

/// CPU time (user + system) this thread has used, in seconds; Linux reports it in USER_HZ,
/// which is 100 wherever it exports it.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

struct Timing {
    cpu_ms: Option<f64>,
    median: Duration,
    slowest: Duration,
    verdict: ConsentVerdict,
}

fn time(body: &str) -> Timing {
    let asked = Asked::question(QUESTION, "1001");
    let reply = reply(body);
    std::hint::black_box(judge_reply(&asked, &reply));
    let mut walls = Vec::with_capacity(RUNS);
    let mut verdict = ConsentVerdict::Unclear;
    let cpu_before = thread_cpu_seconds();
    for _ in 0..RUNS {
        let started = Instant::now();
        let judgment = std::hint::black_box(judge_reply(&asked, &reply));
        walls.push(started.elapsed());
        verdict = judgment.verdict;
    }
    let cpu_ms = thread_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| (after - before) * 1000.0 / RUNS as f64);
    walls.sort();
    Timing {
        cpu_ms,
        median: walls[RUNS / 2],
        slowest: walls[RUNS - 1],
        verdict,
    }
}

pub fn run(table: &mut Table) {
    eprintln!("judge: {RUNS} runs per input");
    let started = Instant::now();
    std::hint::black_box(judge_reply(
        &Asked::question(QUESTION, "1001"),
        &reply("Yes, go ahead."),
    ));
    table.add(
        "judge",
        "first judgment in a process (builds the phrase matcher)",
        Ok(started.elapsed().as_secs_f64() * 1000.0),
        "ms",
        None,
    );
    let cap_adversarial = adversarial(NEW_TEXT_CAP - 64);
    for (figure, body) in [
        ("judge a 256 KiB reply", long_reply(256 * 1024)),
        ("judge a 36 KiB adversarial line", adversarial(36 * 1024)),
        (
            "judge a 16 KiB adversarial line (at the cap, read in full)",
            cap_adversarial,
        ),
    ] {
        let t = time(&body);
        table.add(
            "judge",
            &format!("{figure} → {}: CPU per judgment", t.verdict.as_str()),
            t.cpu_ms
                .ok_or_else(|| "no /proc/thread-self/stat".to_string()),
            "ms",
            Some(Target::Below(10.0)),
        );
        table.add(
            "judge",
            &format!("{figure}: wall time, median of {RUNS}"),
            Ok(t.median.as_secs_f64() * 1000.0),
            "ms",
            None,
        );
        table.add(
            "judge",
            &format!("{figure}: wall time, slowest of {RUNS}"),
            Ok(t.slowest.as_secs_f64() * 1000.0),
            "ms",
            None,
        );
    }
}
