//! The timeouts that must agree, as one budget built from the configuration and checked at
//! start-up.
//!
//! Handling one event nests waits inside each other: a helpdesk request (reqwest's timeout,
//! `helpdesk_timeout_secs`, covering the answer's body too) is tried [`http::ATTEMPTS`] times,
//! each attempt first waiting up to [`http::MAX_BUDGET_WAIT`] for the account's API budget (a
//! token, or a `Retry-After` hold); posting one note is cut off at the post deadline; the
//! note's claim keeps other workers off it while it is posted; a worker that finds a note of
//! the ticket claimed by another waits for that claim; and the embedded queue hands the event
//! to another handler once its lease runs out. Each outer wait must cover the inner ones, or
//! the inner retries are cut short (the post deadline), a second worker posts the same note
//! (the claim), a waiting worker gives up on a holder that is still within its claim, or the
//! queue hands out an event that is still being handled (the lease).
//!
//! Only the request timeout is the operator's; the rest is derived from it, so a longer
//! timeout lengthens everything outside it. What cannot follow is the embedded queue's lease
//! ([`EMBEDDED_LEASE`]): a timeout whose event handling would outlast it is refused.

use std::time::Duration;

use crate::helpdesk::http;

/// How long the embedded queue leases an event to one handler before handing it out again
/// (a hung handler). The one value [`crate::app::open_queue`] and the queue's defaults use.
pub const EMBEDDED_LEASE: Duration = Duration::from_secs(300);
/// How often a worker looks again whether another worker's claim on a note is over.
pub const HOLDER_POLL: Duration = Duration::from_millis(250);
/// The claim is taken when the decision commits, a moment before its first post starts, and
/// covers the ticket's further notes as long as what is left of it covers a whole post (else
/// they are claimed afresh): beyond the post deadline, room for the commit and a few quick
/// posts.
const CLAIM_MARGIN: Duration = Duration::from_secs(10);

/// Every timeout of an event's handling, outermost last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutBudget {
    /// One helpdesk API request (`helpdesk_timeout_secs`).
    pub request: Duration,
    /// Tries of one request against a blip (5xx, timeout).
    pub attempts: u32,
    /// The pauses between those tries, together.
    pub retry_pauses: Duration,
    /// The longest one try waits for the API budget before it is given up.
    pub budget_wait: Duration,
    /// Posting one note (finding it first if an earlier claim may have posted it, then
    /// recording that it is posted).
    pub post_deadline: Duration,
    /// How long a worker holds the notes it is posting.
    pub note_claim: Duration,
    /// How long a worker waits for another worker's claim on a note of the same ticket.
    pub wait_for_holder: Duration,
    /// The whole GitLab lookup before the decision.
    pub gitlab_deadline: Duration,
    /// The embedded queue's lease; `None` with RabbitMQ, which has no lease but a
    /// delivery acknowledgement timeout of 30 minutes by default
    /// (https://www.rabbitmq.com/docs/consumers#acknowledgement-timeout).
    pub lease: Option<Duration>,
}

/// A relation of [`TimeoutBudget`] that does not hold. Worded to follow the key it comes from,
/// `helpdesk_timeout_secs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("expected a helpdesk request timeout of at least 1 second")]
    NoRequestTime,
    #[error(
        "posting a note is cut off after {} s, before one helpdesk request is through its {attempts} tries ({} s each, up to {} s for the API budget, {} s of pauses)",
        post_deadline.as_secs(), request.as_secs(), budget_wait.as_secs(), retry_pauses.as_secs_f64()
    )]
    PostDeadlineShort {
        post_deadline: Duration,
        request: Duration,
        attempts: u32,
        budget_wait: Duration,
        retry_pauses: Duration,
    },
    #[error(
        "a note's claim of {} s runs out before its post is cut off ({} s): a second worker could post it too",
        note_claim.as_secs(), post_deadline.as_secs()
    )]
    ClaimShort {
        note_claim: Duration,
        post_deadline: Duration,
    },
    #[error(
        "a worker waits {} s for another worker's note claim of {} s: it would give up before the claim is over",
        wait_for_holder.as_secs(), note_claim.as_secs()
    )]
    HolderWaitShort {
        wait_for_holder: Duration,
        note_claim: Duration,
    },
    #[error(
        "a helpdesk request timeout of {} s makes handling one event take up to {} s (GitLab lookup {} s, this event's notes under a {} s claim, waiting {} s for another worker's claim, then posting under a fresh claim), longer than the embedded queue's {} s lease, after which the event is handed to a second handler; set helpdesk_timeout_secs to at most {max_request} or use RabbitMQ (queue_url = amqp://…)",
        request.as_secs(), handling.as_secs(), gitlab_deadline.as_secs(), note_claim.as_secs(), wait_for_holder.as_secs(), lease.as_secs()
    )]
    LeaseShort {
        request: Duration,
        handling: Duration,
        gitlab_deadline: Duration,
        note_claim: Duration,
        wait_for_holder: Duration,
        lease: Duration,
        max_request: u64,
    },
}

impl TimeoutBudget {
    /// The budget around a helpdesk request of `request`; `lease`: the embedded queue's.
    pub fn around(request: Duration, lease: Option<Duration>) -> TimeoutBudget {
        let attempts = http::ATTEMPTS;
        let retry_pauses = (1..attempts).map(http::pause_after_try).sum();
        let budget_wait = http::MAX_BUDGET_WAIT;
        let one_request = (request + budget_wait) * attempts + retry_pauses;
        let post_deadline = whole_seconds(one_request);
        let note_claim = post_deadline + CLAIM_MARGIN;
        TimeoutBudget {
            request,
            attempts,
            retry_pauses,
            budget_wait,
            post_deadline,
            note_claim,
            wait_for_holder: whole_seconds(note_claim + HOLDER_POLL),
            gitlab_deadline: crate::gitlab::LOOKUP_DEADLINE,
            lease,
        }
    }

    /// The configuration's budget, checked.
    pub fn from_config(config: &crate::config::Config) -> Result<TimeoutBudget, BudgetError> {
        let lease = config.is_embedded_queue().then_some(EMBEDDED_LEASE);
        let budget =
            TimeoutBudget::around(Duration::from_secs(config.helpdesk_timeout_secs), lease);
        budget.check()?;
        Ok(budget)
    }

    /// The longest one helpdesk request takes, its tries and waits included.
    pub fn one_request(&self) -> Duration {
        (self.request + self.budget_wait) * self.attempts + self.retry_pauses
    }

    /// The longest handling one event takes whose notes fit one claim: the GitLab lookup, the
    /// posts under the claim taken with the decision, the wait for another worker's claim and
    /// the posts under the claim taken after it. Database statements come on top (they have
    /// their own timeouts and are short next to these).
    pub fn handling(&self) -> Duration {
        self.gitlab_deadline + self.note_claim + self.wait_for_holder + self.note_claim
    }

    /// Whether every wait covers the waits inside it.
    pub fn check(&self) -> Result<(), BudgetError> {
        if self.request.is_zero() {
            return Err(BudgetError::NoRequestTime);
        }
        if self.post_deadline < self.one_request() {
            return Err(BudgetError::PostDeadlineShort {
                post_deadline: self.post_deadline,
                request: self.request,
                attempts: self.attempts,
                budget_wait: self.budget_wait,
                retry_pauses: self.retry_pauses,
            });
        }
        if self.note_claim <= self.post_deadline {
            return Err(BudgetError::ClaimShort {
                note_claim: self.note_claim,
                post_deadline: self.post_deadline,
            });
        }
        if self.wait_for_holder < self.note_claim + HOLDER_POLL {
            return Err(BudgetError::HolderWaitShort {
                wait_for_holder: self.wait_for_holder,
                note_claim: self.note_claim,
            });
        }
        if let Some(lease) = self.lease
            && self.handling() >= lease
        {
            return Err(BudgetError::LeaseShort {
                request: self.request,
                handling: self.handling(),
                gitlab_deadline: self.gitlab_deadline,
                note_claim: self.note_claim,
                wait_for_holder: self.wait_for_holder,
                lease,
                max_request: self.longest_request_within(lease),
            });
        }
        Ok(())
    }

    /// The longest request timeout (whole seconds) whose budget fits `lease`.
    fn longest_request_within(&self, lease: Duration) -> u64 {
        (1..=lease.as_secs())
            .take_while(|secs| {
                TimeoutBudget::around(Duration::from_secs(*secs), Some(lease)).handling() < lease
            })
            .last()
            .unwrap_or(0)
    }
}

impl Default for TimeoutBudget {
    /// The budget of the default configuration.
    fn default() -> TimeoutBudget {
        TimeoutBudget::around(Duration::from_secs(10), Some(EMBEDDED_LEASE))
    }
}

/// Rounded up to whole seconds: the numbers an operator reads in the errors and the logs.
fn whole_seconds(d: Duration) -> Duration {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_holds_with_one_request_inside_each_post() {
        let budget = TimeoutBudget::default();
        assert_eq!(budget.check(), Ok(()));
        // Three tries of 10 s, each with up to 5 s for the API budget, and 0.5 + 1 s of pauses.
        assert_eq!(budget.one_request(), Duration::from_millis(46_500));
        assert_eq!(budget.post_deadline, Duration::from_secs(47));
        assert!(budget.note_claim > budget.post_deadline);
        assert!(budget.wait_for_holder > budget.note_claim);
        assert!(budget.handling() < EMBEDDED_LEASE);
    }

    #[test]
    fn every_request_timeout_within_the_lease_gives_a_budget_that_holds() {
        let longest = TimeoutBudget::default().longest_request_within(EMBEDDED_LEASE);
        assert!(longest >= 10, "the default timeout fits: {longest}");
        for secs in 1..=longest {
            let budget = TimeoutBudget::around(Duration::from_secs(secs), Some(EMBEDDED_LEASE));
            assert_eq!(budget.check(), Ok(()), "{secs} s");
        }
        // check-config --help tells the operator the same bound.
        let (_, doc) = crate::config::KEY_DOCS
            .iter()
            .find(|(key, _)| *key == "helpdesk_timeout_secs")
            .unwrap();
        assert!(doc.contains(&format!("at most {longest} s")), "{doc}");
        let over = TimeoutBudget::around(Duration::from_secs(longest + 1), Some(EMBEDDED_LEASE));
        assert!(matches!(
            over.check(),
            Err(BudgetError::LeaseShort { max_request, .. }) if max_request == longest
        ));
    }

    #[test]
    fn without_a_lease_a_long_timeout_is_only_a_longer_budget() {
        let budget = TimeoutBudget::around(Duration::from_secs(120), None);
        assert_eq!(budget.check(), Ok(()));
        assert!(budget.post_deadline >= budget.one_request());
    }

    #[test]
    fn a_budget_whose_waits_do_not_nest_is_refused_saying_which() {
        let good = TimeoutBudget::default();
        let short_post = TimeoutBudget {
            post_deadline: Duration::from_secs(12),
            ..good
        };
        let error = short_post.check().unwrap_err();
        assert!(matches!(error, BudgetError::PostDeadlineShort { .. }));
        assert!(error.to_string().contains("cut off after 12 s"), "{error}");

        let short_claim = TimeoutBudget {
            note_claim: good.post_deadline,
            ..good
        };
        assert!(matches!(
            short_claim.check(),
            Err(BudgetError::ClaimShort { .. })
        ));

        let short_wait = TimeoutBudget {
            wait_for_holder: good.note_claim,
            ..good
        };
        assert!(matches!(
            short_wait.check(),
            Err(BudgetError::HolderWaitShort { .. })
        ));

        let short_lease = TimeoutBudget {
            lease: Some(Duration::from_secs(60)),
            ..good
        };
        let error = short_lease.check().unwrap_err();
        assert!(matches!(error, BudgetError::LeaseShort { .. }));
        assert!(error.to_string().contains("60 s lease"), "{error}");

        let no_time = TimeoutBudget::around(Duration::ZERO, None);
        assert_eq!(no_time.check(), Err(BudgetError::NoRequestTime));
    }
}
