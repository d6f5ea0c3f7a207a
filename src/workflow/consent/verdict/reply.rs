//! The reply as the rules see it (`Reply`), and the readings both the refusal and the grant
//! rule share: which signals the requester's own story, a reason for the action or an
//! acknowledgement of the agent's words explain away, and so which signals are refusals.
//!
//! A negation, a condition or "anymore" means something else in a story before the answer than
//! in the answer itself. Both rules must excuse a signal the same way, so these checks are
//! kept in one place rather than in either rule.

use super::asked::AskedAction;
use super::clause::{Clause, sentence_span};
use super::read::Reading;
use super::signal::{Evidence, Signal, quoted};
use crate::workflow::consent::lexicon::{Hit, Kind};

/// A reply read and its signals found, for the rules to weigh.
pub(super) struct Reply<'a> {
    pub(super) folded: &'a str,
    pub(super) clauses: &'a [Clause],
    pub(super) hits: &'a [Hit<'a>],
    pub(super) asked: &'a AskedAction,
    pub(super) reading: &'a Reading,
    /// Every signal, in order of position.
    pub(super) signals: &'a [Signal],
    /// Where each line of `folded` starts, in order (the first at 0): the rules ask for a
    /// signal's line once per signal, which must not cost a scan of the text each time.
    pub(super) line_starts: &'a [usize],
    /// Every signal's index, ordered by its sentence: the signals of one sentence found
    /// without reading them all.
    pub(super) by_sentence: &'a [(usize, usize)],
}

/// `(sentence, index)` of every signal, ordered by sentence.
pub(super) fn by_sentence(signals: &[Signal]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = signals
        .iter()
        .enumerate()
        .map(|(i, s)| (s.sentence, i))
        .collect();
    out.sort_unstable();
    out
}

/// Where each line of `folded` starts.
pub(super) fn line_starts(folded: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(folded.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

impl Reply<'_> {
    /// The signals said in sentence `n`, in order of position.
    pub(super) fn in_sentence(&self, n: usize) -> impl Iterator<Item = &Signal> {
        let from = self.by_sentence.partition_point(|(s, _)| *s < n);
        self.by_sentence[from..]
            .iter()
            .take_while(move |(s, _)| *s == n)
            .filter_map(|(_, i)| self.signals.get(*i))
    }

    /// The folded text of the sentence `s` is said in; `None` for a signal read from outside
    /// the folded text (a clock time, another target).
    pub(super) fn sentence_text(&self, s: &Signal) -> Option<&str> {
        (s.at < self.folded.len()).then(|| {
            let (start, end) = sentence_span(self.clauses, s.at);
            &self.folded[start..end]
        })
    }

    /// Where the line holding byte `at` starts.
    pub(super) fn line_start(&self, at: usize) -> usize {
        let after = self.line_starts.partition_point(|&start| start <= at);
        self.line_starts
            .get(after.wrapping_sub(1))
            .copied()
            .unwrap_or(0)
    }

    pub(super) fn has(&self, k: Kind) -> bool {
        self.signals.iter().any(|s| s.kind == k)
    }

    /// "We'll re-register the runners ourselves afterwards" beside explicit permission is about
    /// their own part of the work, not a refusal of ours.
    fn weak_self(&self, s: &Signal) -> bool {
        let reading = self.reading;
        s.kind == Kind::DeclineSoft
            && reading.evidence >= Evidence::Permit
            && SELF_MARKERS.iter().any(|m| quoted(&s.reason) == *m)
            // "…, allez-y. J'ai relancé le pipeline moi-même": after the answer, the asked
            // action done by the requester makes ours unneeded (in the story before it, "I
            // tried to restart them myself" is why they ask).
            && !(reading.names_action.get(s.sentence).copied().unwrap_or(false)
                && reading
                    .first_evidence_sentence
                    .is_some_and(|first| s.sentence >= first))
    }

    /// "I tried, but I don't see the restore button. So yes, please restore it": a negated verb
    /// in the story before explicit permission is no refusal.
    fn story(&self, s: &Signal) -> bool {
        let reading = self.reading;
        s.derived
            && reading.evidence >= Evidence::Permit
            && reading
                .first_evidence_sentence
                .is_some_and(|first| s.sentence < first)
    }

    /// A sentence of the story before the first answer: long enough to be one, and addressed
    /// to nothing the question asks (no request, question, answer or asked verb in it).
    pub(super) fn story_sentence(&self, n: usize) -> bool {
        let reading = self.reading;
        reading
            .first_evidence_sentence
            .is_some_and(|first| n < first)
            && reading.sentence_words.get(n).is_some_and(|w| *w >= 6)
            && !reading.directed.get(n).copied().unwrap_or(true)
    }

    /// After a story, an answer marked as one ("Anyway -", "To be explicit:") sets the story
    /// apart, even where it mentions the action or what was tried.
    pub(super) fn marked_story_sentence(&self, n: usize) -> bool {
        let reading = self.reading;
        reading.answer_marked
            && reading
                .first_evidence_sentence
                .is_some_and(|first| n < first)
            && reading.sentence_words.get(n).is_some_and(|w| *w >= 6)
    }

    /// "We don't use it anymore" beside "please delete it": a reason for the action.
    pub(super) fn reason_for_action(&self, s: &Signal) -> bool {
        s.gives_reason && self.reading.evidence == Evidence::Anchored
    }

    /// "I don't have the recovery codes anymore. I give permission to disable 2FA": "anymore"
    /// in the story says what happened, not that the action is unneeded.
    fn story_no_longer(&self, s: &Signal) -> bool {
        s.kind == Kind::DeclineSoft
            && self.reading.evidence == Evidence::Anchored
            && NO_LONGER.contains(&quoted(&s.reason))
            && self.story_sentence(s.sentence)
    }

    /// "I understand this cannot be undone. Please delete it": a negation, a condition or a
    /// moment in a sentence that only acknowledges what the agent said is the agent's, not the
    /// requester's terms; never in a sentence that also answers, asks, hedges or refuses
    /// outright.
    pub(super) fn acknowledged(&self, s: &Signal) -> bool {
        let reading = self.reading;
        reading.evidence >= Evidence::Permit
            && reading
                .acknowledges
                .get(s.sentence)
                .copied()
                .unwrap_or(false)
            && (matches!(
                s.kind,
                Kind::Negation | Kind::Condition | Kind::Timing | Kind::Redirect
            ) || (s.kind == Kind::Decline && (s.derived || restates(quoted(&s.reason)))))
            && !self.signals.iter().any(|x| {
                x.sentence == s.sentence
                    && (matches!(
                        x.kind,
                        Kind::Permit
                            | Kind::Affirm
                            | Kind::Grant
                            | Kind::Hedge
                            | Kind::Question
                            | Kind::Scope
                            | Kind::Withdraw
                            | Kind::DeclineSoft
                    ) || (x.kind == Kind::Decline
                        && !x.derived
                        && !restates(quoted(&x.reason))))
            })
    }

    /// A refusal the reply's story, reasons or acknowledgements do not explain away.
    pub(super) fn is_refusal(&self, s: &Signal) -> bool {
        matches!(s.kind, Kind::Decline | Kind::DeclineSoft | Kind::Withdraw)
            && !self.acknowledged(s)
            && !self.weak_self(s)
            && !self.story(s)
            && !self.reason_for_action(s)
            && !self.story_no_longer(s)
            // "Zum Hintergrund: … hätte er die Berechtigung gar nicht haben dürfen": a negated
            // verb in a story told after the answer says what happened.
            && !(s.derived && self.sets_no_terms(s))
            // "To your first question: no, I don't have the codes": another question's answer.
            && !self.answers_other_question(s)
    }
}

/// A refusal read from a negated verb or modal ("no se puede deshacer", "cannot be
/// recovered"), not asked for: in a sentence that acknowledges the agent's words it restates
/// them. A refusal with a request marker ("please don't") is the requester's own.
pub(super) fn restates(refusal: &str) -> bool {
    const ASKING: &[&str] = &[
        "please",
        "pls",
        "bitte",
        "por favor",
        "per favore",
        "sil vous plaît",
        "graag",
        "alstublieft",
        "por gentileza",
        "请",
        "ください",
        "주세요",
        "마세요",
    ];
    refusal.contains(' ') && !ASKING.iter().any(|a| refusal.contains(a))
}

/// "Anymore", "no longer": not needed, or only the end of a story.
const NO_LONGER: &[&str] = &["anymore", "no longer", "not anymore"];

/// Words that only say who does something ("myself", "selbst"): a refusal only with more.
const SELF_MARKERS: &[&str] = &[
    "myself",
    "ourselves",
    "selbst",
    "zelf",
    "yo mismo",
    "yo misma",
    "moi même",
    "nous mêmes",
    "eu mesmo",
    "eu mesma",
    "da solo",
    "da sola",
    "自分で",
    "我自己",
    "我们自己",
    "제가 직접",
];

#[cfg(test)]
mod tests {
    use super::line_starts;

    #[test]
    fn line_starts_cover_every_line() {
        let text = "yes\n\nby the way\nlast";
        assert_eq!(line_starts(text), vec![0, 4, 5, 16]);
        assert_eq!(line_starts(""), vec![0]);
    }
}
