//! Ticket classification: which of the three categories a ticket belongs to, and why.
//!
//! A ticket is cleaned (quoted history and signatures cut, NFKC, lower case), then every
//! [`Scorer`] adds weighted [`Evidence`] per category. The shipped scorer is rule-based
//! (`rules/classification.toml`). The action categories compete against `other`, which starts
//! at the rules' threshold: a ticket needs real evidence of an action on the user's behalf.
//!
//! Rules only know the words someone wrote into them. Beside them sits a statistical [`Model`]
//! (`rules/classification_model.tsv`, a logistic regression over n-grams trained on the
//! corpora): where the rules' winner leads by less than the model file's sure margin, the
//! model's scores are added to the rules' and the sum decides ([`Blend`]); where the rules are
//! sure they keep the last word. Either way the reasons name the evidence: the rules' matched
//! words and the model's strongest n-grams.
//! Agents can always override the outcome with a `<prefix><category>` tag.

mod clean;
mod concept;
pub mod features;
mod model;
mod rules;
#[cfg(test)]
mod structure_tests;
#[cfg(test)]
mod tests;
pub mod train;

pub use clean::{new_text, normalise, prepare, prepare_follow_up};
pub use model::{Blend, Model, ModelError, ModelScore};
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
    model: Option<Arc<Model>>,
    /// What the caller should hear about these rules (they still work).
    warnings: Vec<String>,
}

const BUILTIN_RULES: &str = include_str!("../../rules/classification.toml");
const BUILTIN_MODEL: &str = include_str!("../../rules/classification_model.tsv");

impl Classifier {
    /// The rules shipped in `rules/classification.toml` with the model shipped in
    /// `rules/classification_model.tsv` (both read once per process).
    pub fn builtin() -> Classifier {
        static BUILTIN: OnceLock<Classifier> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                // The shipped files are compile-time constants checked by the unit tests.
                Classifier::shipped_rules().with_shipped_model()
            })
            .clone()
    }

    /// The shipped rules without the model (what the model is trained beside).
    pub fn shipped_rules() -> Classifier {
        Classifier::from_toml(BUILTIN_RULES).expect("shipped classification rules")
    }

    /// Rules from an operator's file (same format as the shipped one), without a model.
    pub fn from_toml(text: &str) -> Result<Classifier, RulesError> {
        let loaded = rules::load(text)?;
        Ok(Classifier {
            override_prefix: "onbehalf_category_".into(),
            scorers: vec![Arc::new(loaded.scorer)],
            threshold: loaded.threshold,
            model: None,
            warnings: loaded
                .unsearchable_at_once
                .map(|e| format!("rules: concepts searched one by one ({e})"))
                .into_iter()
                .collect(),
        })
    }

    /// What loading the rules found worth telling the operator (nothing for the shipped ones).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The model shipped in `rules/classification_model.tsv` beside these rules.
    pub fn with_shipped_model(self) -> Classifier {
        static SHIPPED: OnceLock<Arc<Model>> = OnceLock::new();
        let model = SHIPPED.get_or_init(|| {
            Arc::new(Model::parse(BUILTIN_MODEL).expect("shipped classification model"))
        });
        self.with_model(model.clone())
    }

    /// A model to hear where the rules are not sure (see [`Blend`]).
    pub fn with_model(mut self, model: Arc<Model>) -> Classifier {
        self.model = Some(model);
        self
    }

    /// These rules alone, without the model (for training, and to compare).
    pub fn without_model(mut self) -> Classifier {
        self.model = None;
        self
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
        let text = self.judged_text(subject, description, tags);
        let evidence = self.evidence_for(&text, tags);
        // Where the rules are sure the model would not be heard: it is not asked.
        let margin = model::leader(self.totals(&evidence)).1;
        let model = self
            .model
            .as_ref()
            .filter(|m| margin < m.blend().sure_margin)
            .map(|m| m.score(&text, tags));
        self.decide(&evidence, model.as_ref())
    }

    /// The normalised text that is judged: the requester's newest words, and when they are a
    /// bare follow-up ("still no luck", "any update?"), the quoted history after them. A short
    /// reply in which the rules already see an `other` ticket ("thanks, that answered it",
    /// an auto-reply) is judged on its own.
    pub fn judged_text(&self, subject: &str, description: &str, tags: &[String]) -> String {
        let own = prepare(subject, description);
        if let Some(thread) = prepare_follow_up(subject, description) {
            let evidence = self.evidence_for(&own, tags);
            if !evidence
                .iter()
                .any(|e| e.category == Category::Other && e.weight > 0.0)
            {
                return thread;
            }
        }
        own
    }

    /// The scorers' totals for a [`Self::judged_text`] in [`Category::ALL`] order, `other`
    /// starting at the threshold: what [`Blend`] weighs against the model (override tags aside).
    pub fn rule_scores(&self, text: &str, tags: &[String]) -> [f64; 3] {
        self.totals(&self.evidence_for(text, tags))
    }

    fn totals(&self, evidence: &[Evidence]) -> [f64; 3] {
        // `+ 0.0` turns the empty sum's -0.0 into 0.0 for display.
        let total = |c: Category| -> f64 {
            evidence
                .iter()
                .filter(|e| e.category == c)
                .map(|e| e.weight)
                .sum::<f64>()
                + 0.0
        };
        [
            total(Category::ProjectGroupChange),
            total(Category::AccountAccess),
            self.threshold + total(Category::Other),
        ]
    }

    /// Every piece of evidence the scorers found (override tags aside): for rule authors who
    /// want to see why a ticket scored as it did.
    pub fn evidence(&self, subject: &str, description: &str, tags: &[String]) -> Vec<Evidence> {
        self.evidence_for(&self.judged_text(subject, description, tags), tags)
    }

    fn evidence_for(&self, text: &str, tags: &[String]) -> Vec<Evidence> {
        let ticket = PreparedTicket { text, tags };
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

    fn decide(&self, evidence: &[Evidence], model: Option<&ModelScore>) -> Classification {
        let scores = self.totals(evidence);
        let [pg, aa, other] = scores;
        let (best, best_score) = if aa > pg {
            (Category::AccountAccess, aa)
        } else {
            (Category::ProjectGroupChange, pg)
        };
        let (category, rules_sure) = match &self.model {
            Some(m) => m.blend().decide(scores, model.map(|s| s.scores)),
            None => (model::leader(scores).0, true),
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
        }
        if let Some(m) = model.filter(|_| !rules_sure) {
            // The model's words first when it, not the rules, chose the category.
            let at = if model::leader(scores).0 == category {
                reasons.len().min(MAX_REASONS - 1)
            } else {
                0
            };
            reasons.insert(at, model_reason(m, category));
        }
        reasons.truncate(MAX_REASONS);
        Classification { category, reasons }
    }
}

/// `model 0.87: "restore" + "deleted" + "project" → project_group_change`.
fn model_reason(m: &ModelScore, category: Category) -> String {
    let i = Category::ALL
        .iter()
        .position(|&c| c == category)
        .unwrap_or(2);
    let words = if m.evidence[i].is_empty() {
        "no telling words".to_string()
    } else {
        m.evidence[i].join(" + ")
    };
    format!("model {:.2}: {words} → {category}", m.probabilities[i])
}
