//! `judge`: the cost of judging one reply to a permission question, in process (no I/O), on
//! the inputs the consent judge must stay cheap on: a 256 KiB reply, a 36 KiB adversarial one
//! ("never … ok …" on one line, beyond the new-text cap) and the same pattern just under the cap
//! (16 KiB), which the judge reads in full. Each figure is the slowest of several runs after one
//! warm-up run; the first judgment in a process, which builds the phrase matcher and patterns
//! once, is reported on its own.

use std::time::{Duration, Instant};

use onbehalf::workflow::consent::{Asked, NEW_TEXT_CAP, judge_reply};
use onbehalf::workflow::{Comment, ConsentVerdict};

use crate::report::{Table, Target};

const RUNS: usize = 20;
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

fn slowest(body: &str) -> (Duration, ConsentVerdict) {
    let asked = Asked::question(QUESTION, "1001");
    let reply = reply(body);
    std::hint::black_box(judge_reply(&asked, &reply));
    let mut worst = Duration::ZERO;
    let mut verdict = ConsentVerdict::Unclear;
    for _ in 0..RUNS {
        let started = Instant::now();
        let judgment = std::hint::black_box(judge_reply(&asked, &reply));
        worst = worst.max(started.elapsed());
        verdict = judgment.verdict;
    }
    (worst, verdict)
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
        let (worst, verdict) = slowest(&body);
        table.add(
            "judge",
            &format!("{figure} → {}", verdict.as_str()),
            Ok(worst.as_secs_f64() * 1000.0),
            "ms",
            Some(Target::Below(10.0)),
        );
    }
}
