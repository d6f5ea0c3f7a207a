//! One concept's patterns as a matcher that stays on the regex engine's lazy DFA for any text.
//!
//! Patterns use `\b`, a Unicode word boundary. The lazy DFA cannot evaluate it next to a
//! non-ASCII byte, so on a text with a single "é" or emoji the engine falls back to a search
//! that is 10–20 times slower. A concept with such boundaries therefore also keeps a *widened*
//! regex: the same pattern with every Unicode word boundary removed. Dropping an assertion only
//! widens the matches, so when the widened regex finds nothing the concept is absent; it has no
//! Unicode word boundary, so it runs on the DFA for any text. Only when it matches does the
//! exact regex decide, which keeps the results exactly those of the exact regex.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet};
use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{Arc, OnceLock};

/// Lazy DFA cache ceiling per regex: the regex crate's default, kept so memory stays as it was.
const DFA_CACHE: usize = 2 << 20;

/// Lazy DFA cache ceiling of the all-concepts set. The union of every word list needs more
/// states than one concept: with the default 2 MiB the cache is cleared over and over and the
/// search gives up. The cache only grows to the states the texts visit.
const SET_DFA_CACHE: usize = 16 << 20;

/// Compiled on first use: an ASCII ticket is answered by the all-concepts set, so most
/// concepts are only compiled once a rule quotes them or a non-ASCII ticket comes in, and an
/// idle process does not hold ~12 MiB of automata it may never run.
#[derive(Debug)]
pub struct Concept {
    hir: Hir,
    /// `hir` without Unicode word boundaries; None when it has none.
    widened_hir: Option<Hir>,
    /// The concept's patterns as one regex: the reference for presence and spans. Its size
    /// was checked when the concept was made; None only should the regex engine still refuse
    /// it (the concept then never matches).
    exact: OnceLock<Option<Regex>>,
    widened: OnceLock<Option<Regex>>,
}

type CacheFn = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// Every concept in one forward lazy DFA, searched once per ASCII ticket for which concepts
/// occur. Measured on a 1.5 KiB ticket: one pass ~10 µs, against ~200 µs for ~50 separate
/// searches whose literal prefilters stop at every "my", "i" and "a". Unicode `\b` is exact
/// on ASCII text; on other text the automaton would give up at the first non-ASCII byte, so
/// such text goes to the concepts one by one (each with its widened prefilter). Only the
/// forward automaton is built (no reverse or capture machinery), which keeps memory small.
pub struct ConceptSet {
    dfa: Arc<DFA>,
    caches: Pool<Cache, CacheFn>,
}

impl std::fmt::Debug for ConceptSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConceptSet")
            .field("patterns", &self.dfa.pattern_len())
            .finish()
    }
}

impl ConceptSet {
    pub fn new(concepts: &[Concept], size_limit: usize) -> Result<ConceptSet, String> {
        let hirs: Vec<&Hir> = concepts.iter().map(|c| &c.hir).collect();
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(size_limit.saturating_mul(hirs.len().max(1))))
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_many_from_hir(&hirs)
            .map_err(|e| e.to_string())?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .unicode_word_boundary(true)
                    .cache_capacity(SET_DFA_CACHE),
            )
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        let dfa = Arc::new(dfa);
        let for_caches = dfa.clone();
        let create: CacheFn = Box::new(move || for_caches.create_cache());
        Ok(ConceptSet {
            dfa,
            caches: Pool::new(create),
        })
    }

    /// The concepts that occur in `text`, or None when this text must be searched concept by
    /// concept (not ASCII, or the automaton gave up).
    pub fn candidates(&self, text: &str) -> Option<PatternSet> {
        if !text.is_ascii() {
            return None;
        }
        let mut found = PatternSet::new(self.dfa.pattern_len());
        let mut cache = self.caches.get();
        self.dfa
            .try_which_overlapping_matches(&mut cache, &Input::new(text), &mut found)
            .ok()?;
        Some(found)
    }
}

impl Concept {
    /// `pattern` as the `regex` crate would compile it (leftmost-first, Unicode, UTF-8);
    /// refused when its automaton would exceed `size_limit` bytes, so that the compilation on
    /// first use cannot fail later, out of the caller's sight.
    pub fn new(
        pattern: &str,
        case_insensitive: bool,
        size_limit: usize,
    ) -> Result<Concept, String> {
        let hir = parse(pattern, case_insensitive)?;
        check_size(&hir, size_limit)?;
        let widened_hir = hir
            .properties()
            .look_set()
            .contains_word_unicode()
            .then(|| without_unicode_word_boundaries(&hir));
        Ok(Concept {
            hir,
            widened_hir,
            exact: OnceLock::new(),
            widened: OnceLock::new(),
        })
    }

    fn exact(&self) -> Option<&Regex> {
        self.exact.get_or_init(|| build(&self.hir).ok()).as_ref()
    }

    fn widened(&self) -> Option<&Regex> {
        let hir = self.widened_hir.as_ref()?;
        self.widened.get_or_init(|| build(hir).ok()).as_ref()
    }

    /// Whether the concept occurs in `text`; `ascii` says whether `text` is all ASCII.
    pub fn is_match(&self, text: &str, ascii: bool) -> bool {
        // On ASCII the exact regex is on the DFA already; the widened one would only add a
        // second search.
        if !ascii && self.widened().is_some_and(|w| !w.is_match(text)) {
            return false;
        }
        self.exact().is_some_and(|re| re.is_match(text))
    }

    /// Byte spans of the matches in text order, each searched for only when asked for: a
    /// rule usually needs the first one or those up to a proximity window, not all of them.
    pub fn matches<'a>(&'a self, text: &'a str) -> Matches<'a> {
        Matches(self.exact().map(|re| re.find_iter(Input::new(text))))
    }
}

/// A concept's matches, in text order (none when the concept could not be compiled).
pub struct Matches<'a>(Option<meta::FindMatches<'a, 'a>>);

impl Iterator for Matches<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let m = self.0.as_mut()?.next()?;
        Some((m.start(), m.end()))
    }
}

/// `pattern` parsed as the `regex` crate parses it; the error is the message it would give.
pub fn parse(pattern: &str, case_insensitive: bool) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .utf8(true)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())
}

/// Whether `hir`'s forward automaton fits `size_limit` bytes: the one way a pattern that
/// parses fails to compile. Builds only that automaton, which costs less than the regex
/// (measured on the shipped rules: about two thirds).
fn check_size(hir: &Hir, size_limit: usize) -> Result<(), String> {
    thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(size_limit))
                .which_captures(thompson::WhichCaptures::None),
        )
        .build_from_hir(hir)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Configured as the `regex` crate configures its own (UTF-8, Unicode, leftmost-first). No
/// size limit here: [`check_size`] applied it when the concept was made (a limit again would
/// refuse what the check let through, by the size of its capture states).
fn build(hir: &Hir) -> Result<Regex, String> {
    let config = meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(None)
        .hybrid_cache_capacity(DFA_CACHE);
    meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::new().utf8(true))
        .build_from_hir(hir)
        .map_err(|e| e.to_string())
}

/// `hir` with every Unicode word-boundary assertion (`\b`, `\B`, `\<`, `\>`…) replaced by the
/// empty match: a pattern that matches everything `hir` matches, and more.
fn without_unicode_word_boundaries(hir: &Hir) -> Hir {
    if !hir.properties().look_set().contains_word_unicode() {
        return hir.clone();
    }
    match hir.kind() {
        HirKind::Look(look) if look.as_repr() & UNICODE_WORD_LOOKS != 0 => Hir::empty(),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(without_unicode_word_boundaries(&rep.sub)),
            ..rep.clone()
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(without_unicode_word_boundaries(&cap.sub)),
            ..cap.clone()
        }),
        HirKind::Concat(subs) => {
            Hir::concat(subs.iter().map(without_unicode_word_boundaries).collect())
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(without_unicode_word_boundaries).collect())
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => hir.clone(),
    }
}

/// The word-boundary assertions that need Unicode word data (the DFA gives up on them).
const UNICODE_WORD_LOOKS: u32 = {
    use regex_syntax::hir::Look;
    Look::WordUnicode.as_repr()
        | Look::WordUnicodeNegate.as_repr()
        | Look::WordStartUnicode.as_repr()
        | Look::WordEndUnicode.as_repr()
        | Look::WordStartHalfUnicode.as_repr()
        | Look::WordEndHalfUnicode.as_repr()
};

#[cfg(test)]
mod tests {
    use super::*;

    fn concept(pattern: &str) -> Concept {
        Concept::new(pattern, false, 1 << 20).expect("test pattern")
    }

    /// Too large to compile is found when the concept is made, not on the first ticket that
    /// needs it (where it could only be logged or silently never match).
    #[test]
    fn a_concept_too_large_to_compile_is_refused_when_made() {
        let error = Concept::new(r"\w{200}", false, 1 << 16).unwrap_err();
        assert!(error.contains("exceeded limit"), "{error}");
        assert!(Concept::new(r"\w{2}", false, 1 << 16).is_ok());
    }

    #[test]
    fn only_unicode_word_boundaries_get_a_widened_regex() {
        assert!(concept(r"\bmfa\b").widened_hir.is_some());
        assert!(concept(r"(?-u:\b)mfa").widened_hir.is_none());
        assert!(concept("アカウント").widened_hir.is_none());
    }

    #[test]
    fn widening_removes_the_boundaries_and_nothing_else() {
        let hir = regex_syntax::parse(r"\bcode(?:s|\B\w+)?\b|(x\b)+|\<y\>").expect("pattern");
        let widened = without_unicode_word_boundaries(&hir);
        assert!(!widened.properties().look_set().contains_word_unicode());
        assert_eq!(widened.properties().explicit_captures_len(), 1);
        let re = build(&widened).expect("widened pattern");
        assert!(re.is_match("barcodes"));
        assert!(re.is_match("xxy"));
        assert!(!re.is_match("cod"));
    }

    #[test]
    fn boundaries_next_to_non_ascii_letters_behave_as_before() {
        let exact = |p: &str, t: &str| regex::Regex::new(p).expect("pattern").is_match(t);
        for (pattern, text) in [
            (r"\bcaf\b", "un café noir"),
            (r"\bcafé\b", "un café noir"),
            (r"\bcafé\b", "un cafés noir"),
            (r"\bmfa\b", "émfa"),
            (r"\bmfa\b", "😀mfa😀"),
            (r"\bmfa\b", "über mfa"),
            (r"\berro\b", "erroné"),
            (r"\bfor[çc]ar\b", "forçar já"),
            (r"\bno\s+longer\b", "no longerß"),
            (r"\bno\s+longer\b", "no longer—é"),
        ] {
            assert_eq!(
                concept(pattern).is_match(text, text.is_ascii()),
                exact(pattern, text),
                "{pattern} on {text:?}"
            );
        }
    }

    #[test]
    fn spans_are_the_exact_matches() {
        let c = concept(r"\b(?:lost|new)\s+phone\b");
        assert_eq!(c.matches("é lost phone, new phone").next(), Some((3, 13)));
        assert_eq!(c.matches("é lost phones").next(), None);
        assert_eq!(
            c.matches("é lost phone, new phones, new phone")
                .collect::<Vec<_>>(),
            vec![(3, 13), (27, 36)]
        );
    }

    #[test]
    fn the_set_finds_exactly_the_concepts_in_ascii_text() {
        let concepts: Vec<Concept> = [r"\bmy\s+account\b", r"\b2fa\b", r"\bcaf\b", "ログイン"]
            .iter()
            .map(|p| concept(p))
            .collect();
        let set = ConceptSet::new(&concepts, 1 << 20).unwrap();
        for (text, expected) in [
            ("i lost my account and 2fa", vec![0, 1]),
            ("my accounts are fine", vec![]),
            ("a caf, 2fa", vec![1, 2]),
            ("cafe and 2fax", vec![]),
        ] {
            let found = set.candidates(text).unwrap();
            let found: Vec<usize> = (0..concepts.len())
                .filter(|&i| found.contains(regex_automata::PatternID::must(i)))
                .collect();
            assert_eq!(found, expected, "{text:?}");
            for (i, c) in concepts.iter().enumerate() {
                assert_eq!(c.is_match(text, true), expected.contains(&i));
            }
        }
        assert!(set.candidates("ログイン my account").is_none(), "not ASCII");
    }
}
