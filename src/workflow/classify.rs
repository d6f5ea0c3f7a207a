//! Ticket classification: which of the three categories a ticket belongs to, and why.
//!
//! A ticket is cleaned (quoted history and signatures cut, NFKC, lower case), then every
//! [`Scorer`] adds weighted [`Evidence`] per category. The shipped scorer is rule-based
//! (`rules/classification.toml`); a statistical model can be added beside it with
//! [`Classifier::with_scorer`]. The action categories compete against `other`, which starts at
//! the rules' threshold: a ticket needs real evidence of an action on the user's behalf.
//! Agents can always override the outcome with a `<prefix><category>` tag.

mod clean;
mod concept;
mod rules;
#[cfg(test)]
mod tests;

pub use clean::{new_text, normalise, prepare};
pub use rules::RuleScorer;

use super::Category;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

/// At most this many reasons are reported: enough to explain, short enough to scan.
const MAX_REASONS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub category: Category,
    /// The evidence that decided it, short and human-readable (shown in notes and the CLI).
    pub reasons: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file is not valid: {0}")]
    Invalid(String),
    #[error("rules file is not valid TOML or has unknown/missing keys: {0}")]
    Syntax(String),
    #[error("rules file: concept {concept:?} has a bad pattern {pattern:?}: {message}")]
    Pattern {
        concept: String,
        pattern: String,
        message: String,
    },
    #[error("rules file: rule {rule} uses unknown concept {concept:?}")]
    UnknownConcept { rule: usize, concept: String },
    #[error(
        "rules file: {what} names unknown category {category:?} (known: project_group_change, account_access, other)"
    )]
    UnknownCategory { what: String, category: String },
}

/// What a scorer sees: the normalised subject + cleaned description, and the raw tags.
#[derive(Debug, Clone, Copy)]
pub struct PreparedTicket<'a> {
    pub text: &'a str,
    pub tags: &'a [String],
}

/// One weighted piece of evidence for (positive) or against (negative) a category.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub category: Category,
    pub weight: f64,
    /// What was seen, e.g. `"2fa" + "lost my phone"` or `tag saas_account_category_2fa_issues`.
    pub label: String,
}

impl Evidence {
    pub fn new(category: Category, weight: f64, label: impl Into<String>) -> Evidence {
        Evidence {
            category,
            weight,
            label: label.into(),
        }
    }

    /// The human-readable form used in reasons.
    pub fn reason(&self) -> String {
        if self.weight >= 0.0 {
            format!("{} → {}", self.label, self.category)
        } else {
            format!("{} → not {}", self.label, self.category)
        }
    }
}

/// Produces per-category evidence for a ticket. Implementations must be cheap to call and
/// safe to share between worker threads.
pub trait Scorer: std::fmt::Debug + Send + Sync {
    fn score(&self, ticket: &PreparedTicket<'_>) -> Vec<Evidence>;
}

#[derive(Debug, Clone)]
pub struct Classifier {
    override_prefix: String,
    scorers: Vec<Arc<dyn Scorer>>,
    threshold: f64,
}

const BUILTIN_RULES: &str = include_str!("../../rules/classification.toml");

impl Classifier {
    /// The rules shipped in `rules/classification.toml` (compiled once per process).
    pub fn builtin() -> Classifier {
        static BUILTIN: OnceLock<Classifier> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                // The shipped file is a compile-time constant checked by the unit tests.
                Classifier::from_toml(BUILTIN_RULES).expect("shipped classification rules")
            })
            .clone()
    }

    /// Rules from an operator's file (same format as the shipped one).
    pub fn from_toml(text: &str) -> Result<Classifier, RulesError> {
        let loaded = rules::load(text)?;
        Ok(Classifier {
            override_prefix: "onbehalf_category_".into(),
            scorers: vec![Arc::new(loaded.scorer)],
            threshold: loaded.threshold,
        })
    }

    /// Tags `<prefix><category>` override the category (agents' escape hatch).
    pub fn with_override_prefix(mut self, prefix: &str) -> Classifier {
        self.override_prefix = prefix.to_string();
        self
    }

    /// Adds a scorer whose evidence is summed with the rules' (e.g. a statistical model).
    pub fn with_scorer(mut self, scorer: Arc<dyn Scorer>) -> Classifier {
        self.scorers.push(scorer);
        self
    }

    pub fn classify(&self, subject: &str, description: &str, tags: &[String]) -> Classification {
        if let Some(c) = self.override_tag(tags) {
            return c;
        }
        self.decide(&self.evidence(subject, description, tags))
    }

    /// Every piece of evidence the scorers found (override tags aside): for rule authors who
    /// want to see why a ticket scored as it did.
    pub fn evidence(&self, subject: &str, description: &str, tags: &[String]) -> Vec<Evidence> {
        let text = prepare(subject, description);
        let ticket = PreparedTicket { text: &text, tags };
        self.scorers.iter().flat_map(|s| s.score(&ticket)).collect()
    }

    fn override_tag(&self, tags: &[String]) -> Option<Classification> {
        tags.iter().find_map(|tag| {
            let category = tag
                .strip_prefix(&self.override_prefix)
                .and_then(Category::parse)?;
            Some(Classification {
                category,
                reasons: vec![format!("override tag {tag}")],
            })
        })
    }

    fn decide(&self, evidence: &[Evidence]) -> Classification {
        // `+ 0.0` turns the empty sum's -0.0 into 0.0 for display.
        let total = |c: Category| -> f64 {
            evidence
                .iter()
                .filter(|e| e.category == c)
                .map(|e| e.weight)
                .sum::<f64>()
                + 0.0
        };
        let other = self.threshold + total(Category::Other);
        let (pg, aa) = (
            total(Category::ProjectGroupChange),
            total(Category::AccountAccess),
        );
        // On an exact tie the project category wins: acting on a project is the more
        // common request, and an agent sees the reasons either way.
        let (best, best_score) = if aa > pg {
            (Category::AccountAccess, aa)
        } else {
            (Category::ProjectGroupChange, pg)
        };
        let category = if best_score >= other {
            best
        } else {
            Category::Other
        };

        // For the winner: what spoke for it, then what spoke against the losers.
        let mut pro: Vec<&Evidence> = evidence
            .iter()
            .filter(|e| e.category == category && e.weight > 0.0)
            .collect();
        let mut contra: Vec<&Evidence> = evidence
            .iter()
            .filter(|e| e.category != category && e.weight < 0.0)
            .collect();
        pro.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        contra.sort_by(|a, b| a.weight.total_cmp(&b.weight));
        let mut reasons: Vec<String> = pro
            .iter()
            .chain(contra.iter())
            .take(MAX_REASONS)
            .map(|e| e.reason())
            .collect();
        if category == Category::Other && pro.is_empty() {
            reasons.insert(
                0,
                format!(
                    "no clear request to act for the user ({best} {best_score:.1} < {other:.1})"
                ),
            );
            reasons.truncate(MAX_REASONS);
        }
        Classification { category, reasons }
    }
}
