//! The rule scorer: weighted concept rules and a tag mapping, read from TOML.
//!
//! A *concept* is a named set of regular expressions ("two_factor", "lost_device"). A *rule*
//! gives a weight to a category when all its concepts occur (optionally close together) and
//! none of its `unless` concepts does. Negative weights let context cancel evidence ("lfs" near
//! "locked" speaks against a locked account). Tags map to weighted evidence too.

use super::concept::{self, Concept, ConceptSet};
use super::{Evidence, PreparedTicket, RulesError, Scorer};
use crate::workflow::Category;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Matches kept per concept when checking proximity; bounds the work on huge tickets.
const MAX_MATCHES: usize = 64;
/// Longest matched text quoted in a reason.
const MAX_QUOTE: usize = 40;
/// Compiled-size ceiling per regex: generous for word lists, small enough to reject blow-ups.
const REGEX_SIZE_LIMIT: usize = 4 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    threshold: f64,
    concepts: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
    #[serde(default, rename = "tag")]
    tags: Vec<TagSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    category: String,
    weight: f64,
    all: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    /// Every concept must match within this many characters of the first one's match.
    near: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagSpec {
    tag: String,
    category: String,
    weight: f64,
    /// Also applies to tags that start with `tag` (the longest matching entry wins).
    #[serde(default)]
    prefix: bool,
}

#[derive(Debug)]
struct Rule {
    category: Category,
    weight: f64,
    all: Vec<usize>,
    unless: Vec<usize>,
    near: Option<usize>,
}

#[derive(Debug)]
struct TagRule {
    tag: String,
    category: Category,
    weight: f64,
    prefix: bool,
}

/// Scores a ticket with the rules of one rules file.
#[derive(Debug)]
pub struct RuleScorer {
    /// One matcher per concept (exact presence and spans).
    concepts: Vec<Concept>,
    /// All of them at once: which concepts occur in an ASCII ticket, in one pass. None when the
    /// rules cannot be combined into one automaton; each concept is then searched on its own.
    set: Option<ConceptSet>,
    rules: Vec<Rule>,
    tags: Vec<TagRule>,
}

/// What a rules file yields: the scorer and the decision threshold.
#[derive(Debug)]
pub struct LoadedRules {
    pub scorer: RuleScorer,
    pub threshold: f64,
}

pub fn load(text: &str) -> Result<LoadedRules, RulesError> {
    let file: RulesFile = toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))?;
    if !file.threshold.is_finite() || file.threshold <= 0.0 {
        return Err(RulesError::Invalid(format!(
            "threshold must be a positive number, got {}",
            file.threshold
        )));
    }
    let mut concept_names = Vec::new();
    let mut concepts = Vec::new();
    for (name, patterns) in &file.concepts {
        if patterns.is_empty() {
            return Err(RulesError::Invalid(format!(
                "concept {name:?} has no patterns"
            )));
        }
        // Parsing alone finds a bad pattern and names it; compiling each one as well would
        // double the start-up time (the joined regex below enforces the size limit).
        for p in patterns {
            concept::parse(p, has_upper_case_literal(p)).map_err(|message| {
                RulesError::Pattern {
                    concept: name.clone(),
                    pattern: p.clone(),
                    message,
                }
            })?;
        }
        let joined = patterns
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let re = Concept::new(&joined, has_upper_case_literal(&joined), REGEX_SIZE_LIMIT).map_err(
            |message| RulesError::Pattern {
                concept: name.clone(),
                pattern: "(all patterns together)".into(),
                message,
            },
        )?;
        concept_names.push(name.clone());
        concepts.push(re);
    }

    let index = |rule: usize, name: &str| -> Result<usize, RulesError> {
        concept_names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| RulesError::UnknownConcept {
                rule: rule + 1,
                concept: name.to_string(),
            })
    };
    let mut rules = Vec::new();
    for (i, spec) in file.rules.iter().enumerate() {
        let what = format!("rule {} ({})", i + 1, spec.all.join(" + "));
        let category = category(&spec.category, &what)?;
        weight(spec.weight, &what)?;
        if spec.all.is_empty() {
            return Err(RulesError::Invalid(format!("{what}: `all` is empty")));
        }
        rules.push(Rule {
            category,
            weight: spec.weight,
            all: spec
                .all
                .iter()
                .map(|n| index(i, n))
                .collect::<Result<_, _>>()?,
            unless: spec
                .unless
                .iter()
                .map(|n| index(i, n))
                .collect::<Result<_, _>>()?,
            near: spec.near,
        });
    }
    let mut tags = Vec::new();
    for spec in &file.tags {
        let what = format!("tag {:?}", spec.tag);
        let category = category(&spec.category, &what)?;
        weight(spec.weight, &what)?;
        tags.push(TagRule {
            tag: spec.tag.to_lowercase(),
            category,
            weight: spec.weight,
            prefix: spec.prefix,
        });
    }
    let set = ConceptSet::new(&concepts, REGEX_SIZE_LIMIT)
        .map_err(|e| tracing::warn!(error = %e, "rules: concepts searched one by one"))
        .ok();
    Ok(LoadedRules {
        scorer: RuleScorer {
            concepts,
            set,
            rules,
            tags,
        },
        threshold: file.threshold,
    })
}

/// An upper-case letter that is not an escape (`\S`, `\W`, `\P{..}`…): an operator wrote
/// a pattern expecting case-insensitive matching.
fn has_upper_case_literal(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c.is_uppercase() {
            return true;
        }
    }
    false
}

fn category(name: &str, what: &str) -> Result<Category, RulesError> {
    Category::parse(name).ok_or_else(|| RulesError::UnknownCategory {
        what: what.to_string(),
        category: name.to_string(),
    })
}

fn weight(w: f64, what: &str) -> Result<(), RulesError> {
    if w.is_finite() && w != 0.0 {
        Ok(())
    } else {
        Err(RulesError::Invalid(format!(
            "{what}: weight must be a non-zero number, got {w}"
        )))
    }
}

/// Per-ticket answers about concepts, each computed at most once and only when a rule asks.
struct Seen<'t> {
    text: &'t str,
    ascii: bool,
    /// The concepts present, when the set could answer for this text.
    candidates: Option<regex_automata::PatternSet>,
    present: Vec<Option<bool>>,
    spans: Vec<Option<Vec<(usize, usize)>>>,
    /// First matches, for rules without `near` (most of them): one short search instead of
    /// every match to the end of the text.
    firsts: Vec<Option<Option<(usize, usize)>>>,
}

impl<'t> Seen<'t> {
    fn new(text: &'t str, set: Option<&ConceptSet>, concepts: usize) -> Seen<'t> {
        Seen {
            text,
            ascii: text.is_ascii(),
            candidates: set.and_then(|s| s.candidates(text)),
            present: vec![None; concepts],
            spans: vec![None; concepts],
            firsts: vec![None; concepts],
        }
    }

    fn present(&mut self, concepts: &[Concept], c: usize) -> bool {
        let (text, ascii) = (self.text, self.ascii);
        let found = self
            .candidates
            .as_ref()
            .map(|set| set.contains(regex_automata::PatternID::must(c)));
        *self.present[c]
            .get_or_insert_with(|| found.unwrap_or_else(|| concepts[c].is_match(text, ascii)))
    }

    fn spans(&mut self, concepts: &[Concept], c: usize) -> &[(usize, usize)] {
        let text = self.text;
        self.spans[c].get_or_insert_with(|| concepts[c].spans(text, MAX_MATCHES))
    }

    fn first(&mut self, concepts: &[Concept], c: usize) -> Option<(usize, usize)> {
        if let Some(spans) = &self.spans[c] {
            return spans.first().copied();
        }
        let text = self.text;
        *self.firsts[c].get_or_insert_with(|| concepts[c].first(text))
    }
}

impl RuleScorer {
    /// The text of the concept matches that make `rule` fire, or None when it does not fire.
    fn fire(&self, rule: &Rule, seen: &mut Seen<'_>) -> Option<Vec<String>> {
        // `unless` is looked at only once `all` holds: most rules stop at their first concept.
        if !rule.all.iter().all(|&c| seen.present(&self.concepts, c))
            || rule.unless.iter().any(|&c| seen.present(&self.concepts, c))
        {
            return None;
        }
        let chosen: Vec<(usize, usize)> = match rule.near {
            None => rule
                .all
                .iter()
                .filter_map(|&c| seen.first(&self.concepts, c))
                .collect(),
            Some(window) => {
                let lists: Vec<Vec<(usize, usize)>> = rule
                    .all
                    .iter()
                    .map(|&c| seen.spans(&self.concepts, c).to_vec())
                    .collect();
                near_group(seen.text, &lists, window)?
            }
        };
        let mut quotes: Vec<String> = Vec::new();
        for (s, e) in chosen {
            let q = quote(&seen.text[s..e]);
            if !quotes.contains(&q) {
                quotes.push(q);
            }
        }
        Some(quotes)
    }
}

/// One match per list, all within `window` characters of a match of the first list.
fn near_group(
    text: &str,
    lists: &[Vec<(usize, usize)>],
    window: usize,
) -> Option<Vec<(usize, usize)>> {
    let (first, rest) = lists.split_first()?;
    'anchor: for &anchor in first {
        let mut group = vec![anchor];
        for list in rest {
            match list.iter().find(|&&m| gap_chars(text, anchor, m) <= window) {
                Some(&m) => group.push(m),
                None => continue 'anchor,
            }
        }
        return Some(group);
    }
    None
}

/// Characters between two spans (0 when they overlap).
fn gap_chars(text: &str, a: (usize, usize), b: (usize, usize)) -> usize {
    let (lo, hi) = if a.1 <= b.0 {
        (a.1, b.0)
    } else if b.1 <= a.0 {
        (b.1, a.0)
    } else {
        return 0;
    };
    text.get(lo..hi).map_or(usize::MAX, |s| s.chars().count())
}

fn quote(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_QUOTE {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX_QUOTE).collect();
        format!("{cut}…")
    }
}

impl Scorer for RuleScorer {
    fn score(&self, ticket: &PreparedTicket<'_>) -> Vec<Evidence> {
        let mut evidence = Vec::new();
        let mut seen = Seen::new(ticket.text, self.set.as_ref(), self.concepts.len());
        for rule in &self.rules {
            if let Some(quotes) = self.fire(rule, &mut seen) {
                let words = quotes
                    .iter()
                    .map(|q| format!("{q:?}"))
                    .collect::<Vec<_>>()
                    .join(" + ");
                evidence.push(Evidence::new(rule.category, rule.weight, words));
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for tag in ticket.tags {
            let tag = tag.to_lowercase();
            if seen.contains(&tag) {
                continue;
            }
            seen.push(tag.clone());
            let best = self
                .tags
                .iter()
                .filter(|t| t.tag == tag || (t.prefix && tag.starts_with(&t.tag)))
                .max_by_key(|t| t.tag.len());
            if let Some(t) = best {
                evidence.push(Evidence::new(t.category, t.weight, format!("tag {tag}")));
            }
        }
        evidence
    }
}
