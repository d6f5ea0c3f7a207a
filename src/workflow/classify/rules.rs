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
    /// Why the concepts could not be combined into one automaton, when they could not (each
    /// is then searched on its own: slower, same results). For the caller to report.
    pub unsearchable_at_once: Option<String>,
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
    let (set, unsearchable_at_once) = match ConceptSet::new(&concepts, REGEX_SIZE_LIMIT) {
        Ok(set) => (Some(set), None),
        Err(e) => (None, Some(e)),
    };
    Ok(LoadedRules {
        scorer: RuleScorer {
            concepts,
            set,
            rules,
            tags,
        },
        threshold: file.threshold,
        unsearchable_at_once,
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
struct Seen<'a> {
    text: &'a str,
    ascii: bool,
    /// The concepts present, when the set could answer for this text.
    candidates: Option<regex_automata::PatternSet>,
    present: Vec<Option<bool>>,
    /// Each concept's matches as far as rules have looked (at most [`MAX_MATCHES`]).
    matches: Vec<Option<Found<'a>>>,
}

struct Found<'a> {
    spans: Vec<(usize, usize)>,
    rest: std::iter::Take<concept::Matches<'a>>,
}

impl<'a> Seen<'a> {
    fn new(text: &'a str, set: Option<&ConceptSet>, concepts: usize) -> Seen<'a> {
        Seen {
            text,
            ascii: text.is_ascii(),
            candidates: set.and_then(|s| s.candidates(text)),
            present: vec![None; concepts],
            matches: (0..concepts).map(|_| None).collect(),
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

    /// Byte span of concept `c`'s `n`th match.
    fn span(&mut self, concepts: &'a [Concept], c: usize, n: usize) -> Option<(usize, usize)> {
        let text = self.text;
        let found = self.matches[c].get_or_insert_with(|| Found {
            spans: Vec::new(),
            rest: concepts[c].matches(text).take(MAX_MATCHES),
        });
        while found.spans.len() <= n {
            found.spans.push(found.rest.next()?);
        }
        Some(found.spans[n])
    }
}

impl RuleScorer {
    /// The text of the concept matches that make `rule` fire, or None when it does not fire.
    fn fire<'a>(&'a self, rule: &Rule, seen: &mut Seen<'a>) -> Option<Vec<String>> {
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
                .filter_map(|&c| seen.span(&self.concepts, c, 0))
                .collect(),
            Some(window) => {
                let text = seen.text;
                near_group(text, rule.all.len(), window, |list, n| {
                    seen.span(&self.concepts, rule.all[list], n)
                })?
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

/// One match per list, all within `window` characters of a match of the first list: the first
/// such match of each list for the first anchor that has them all. `span(list, n)` gives a
/// list's `n`th match, in text order; lists are only read as far as the window reaches.
fn near_group(
    text: &str,
    lists: usize,
    window: usize,
    mut span: impl FnMut(usize, usize) -> Option<(usize, usize)>,
) -> Option<Vec<(usize, usize)>> {
    'anchor: for a in 0.. {
        let anchor = span(0, a)?;
        let mut group = vec![anchor];
        for list in 1..lists {
            let mut n = 0;
            loop {
                let Some(m) = span(list, n) else {
                    continue 'anchor;
                };
                let gap = gap_chars(text, anchor, m);
                if gap <= window {
                    group.push(m);
                    break;
                }
                // Matches do not overlap: every later one starts further beyond the anchor.
                if m.0 >= anchor.1 {
                    continue 'anchor;
                }
                n += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition `near_group` must keep: every list read to the end.
    fn near_group_exhaustive(
        text: &str,
        lists: &[Vec<(usize, usize)>],
        window: usize,
    ) -> Option<Vec<(usize, usize)>> {
        let (first, rest) = lists.split_first()?;
        first.iter().find_map(|&anchor| {
            let mut group = vec![anchor];
            for list in rest {
                group.push(
                    *list
                        .iter()
                        .find(|&&m| gap_chars(text, anchor, m) <= window)?,
                );
            }
            Some(group)
        })
    }

    /// Non-overlapping spans in text order, as a regex finds them, on the character
    /// boundaries of a text of `len` two-byte characters.
    fn spans(len: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
        prop::collection::vec((0..len, 1..6usize), 0..8).prop_map(move |mut starts| {
            starts.sort();
            let mut spans: Vec<(usize, usize)> = vec![];
            for (start, width) in starts {
                if spans.last().is_none_or(|&(_, end)| start >= end) {
                    spans.push((start, (start + width).min(len)));
                }
            }
            spans.iter().map(|&(s, e)| (2 * s, 2 * e)).collect()
        })
    }

    proptest! {
        #[test]
        fn reading_lists_only_as_far_as_the_window_changes_nothing(
            lists in prop::collection::vec(spans(60), 1..4),
            window in 0..20usize,
        ) {
            let text = "é".repeat(60);
            let lazy = near_group(&text, lists.len(), window, |list, n| lists[list].get(n).copied());
            prop_assert_eq!(lazy, near_group_exhaustive(&text, &lists, window));
        }
    }

    #[test]
    fn a_list_is_read_no_further_than_the_window_beyond_each_anchor() {
        let text = "x".repeat(1000);
        let lists = [
            vec![(0, 2), (500, 502)],
            vec![(50, 52), (600, 602), (900, 902)],
        ];
        let mut read = [0, 0];
        let group = near_group(&text, 2, 10, |list, n| {
            read[list] = read[list].max(n + 1);
            lists[list].get(n).copied()
        });
        assert_eq!(group, None);
        // Anchor (0, 2) stops at (50, 52); anchor (500, 502) at (600, 602): (900, 902) is
        // never searched for.
        assert_eq!(read, [3, 2]);
    }
}
