//! What each hit of the lexicon means in its clause: a negation refuses the permission, action
//! or answer within reach of it, or the asked verb; another action or target beside an answer
//! redirects it; a timing word after "ago" or in "for two weeks" is no moment; a word the
//! reply's language spells differently (Portuguese "no", French "dont", Spanish "se") is not
//! what it would be elsewhere; an answer word raises the clause's evidence.
//!
//! This is the one place where a hit becomes a signal; the clause bookkeeping around it (which
//! sentence, what the sentence says of itself, whether the action is asked for) is `read`'s.

use super::asked::AskedAction;
use super::clause::Clause;
use super::language::Languages;
use super::moments::{UNITS, is_duration};
use super::negation::{NOT_WANTED, negates_backwards, worry_follows};
use super::signal::{Evidence, Signal, signal};
use super::story::TELLING_SCOPE;
use super::words::{
    floor_char_boundary, is_hangul, next_words, within_reach, within_reach_of, word_spans,
};
use crate::workflow::consent::lexicon::{Hit, Kind, Lexicon};

/// One clause of the reply, as its hits are read.
#[derive(Clone, Copy)]
pub(super) struct ClauseHits<'a> {
    pub(super) folded: &'a str,
    /// Every hit of the reply: a negation may reach into the next clause.
    pub(super) hits: &'a [Hit<'a>],
    /// The clause's own hits are `hits[first_hit..end_hit]`.
    pub(super) first_hit: usize,
    pub(super) end_hit: usize,
    pub(super) clause: &'a Clause,
    pub(super) asked: &'a AskedAction,
    /// Where the clause names the asked verb (or an action of the asked kind).
    pub(super) asked_verb_at: Option<usize>,
    pub(super) languages: Languages,
    pub(super) lexicon: &'a Lexicon,
    pub(super) sentence: usize,
}

/// The answer the clause's own words give, before the clause as a whole is read.
pub(super) struct HitEvidence {
    pub(super) evidence: Evidence,
    /// Where the first answer word is.
    pub(super) at: Option<usize>,
    /// A bare "understood" is among them.
    pub(super) understood: bool,
}

/// Reads the clause's hits into `signals`. `consumed` marks hits a negation before them has
/// already read (in this clause or an earlier one): they are not read again.
pub(super) fn read_hits(
    scan: &ClauseHits<'_>,
    consumed: &mut [bool],
    signals: &mut Vec<Signal>,
) -> HitEvidence {
    let ClauseHits {
        folded,
        hits,
        first_hit,
        end_hit,
        clause,
        asked,
        asked_verb_at,
        languages,
        lexicon,
        sentence,
    } = *scan;
    let Languages {
        spanish,
        french,
        italian,
        portuguese,
        german,
    } = languages;
    let clause_hits = &hits[first_hit..end_hit];
    let text = &folded[clause.start..clause.end];
    let has_kind = |k: Kind| clause_hits.iter().any(|x| x.phrase.kind == k);
    let live = has_kind(Kind::Directive)
        || has_kind(Kind::Permit)
        || has_kind(Kind::Affirm)
        || has_kind(Kind::Ack);
    let mut understood = false;
    let mut clause_evidence = Evidence::None;
    let mut clause_evidence_at = None;
    for (k, hit) in clause_hits.iter().enumerate() {
        let i = first_hit + k;
        if consumed[i] {
            continue;
        }
        let phrase = &folded[hit.start..hit.end];
        // Italian (and French) "non" before a permission word within reach negates it
        // ("NO, non vi autorizzo a …"): read it as the negation it is, so that the
        // permission it governs is refused, not counted.
        let kind = if hit.phrase.kind == Kind::Decline
            && phrase == "non"
            && hits[i + 1..]
                .iter()
                .take_while(|next| within_reach(&folded[hit.end..next.start]))
                .any(|next| next.phrase.kind == Kind::Permit)
        {
            Kind::Negation
        } else {
            hit.phrase.kind
        };
        match kind {
            // Portuguese "no", "na" are "in the" ("no projeto"): never a negation there;
            // Portuguese "mais" is "more" ("não usamos mais"), not French "but".
            Kind::Negation if portuguese && phrase == "no" => {}
            Kind::Hedge if portuguese && phrase == "mais" => {}
            // "Ma" is "but" only in Italian: French "ma collègue" is "my", and a signature's
            // "Mª Carmen" folds to it.
            Kind::Hedge if phrase == "ma" && !italian => {}
            // Korean "안" negates as a word of its own ("안 해요"); inside a word it is another
            // word's syllable ("보안", "안내", "안녕하세요"). "다만" is "however", not "만" (only).
            Kind::Negation
                if phrase == "안" && {
                    let before = folded[..hit.start].chars().next_back();
                    let after = folded[hit.end..].chars().next();
                    before.is_some_and(is_hangul) || after.is_some_and(is_hangul)
                } => {}
            Kind::Scope if phrase == "만" && folded[..hit.start].ends_with('다') => {}
            // French "dont" is "of which" ("tout ce dont j'avais besoin"), and "date" the
            // verb "dater" ("ce projet date de 2020").
            Kind::Negation | Kind::Timing if french && matches!(phrase, "dont" | "date") => {}
            // Japanese and Korean negate the verb before them ("使用していない", "필요 없어요"):
            // what follows is not what they negate.
            Kind::Negation if negates_backwards(phrase) => {
                let mut found = signal(hit, folded);
                let before =
                    &folded[floor_char_boundary(folded, hit.start.saturating_sub(24))..hit.start];
                found.gives_reason = lexicon
                    .need
                    .iter()
                    .any(|n| !n.is_ascii() && before.contains(n.as_str()));
                signals.push(found);
            }
            Kind::Negation => {
                let target = hits[i + 1..]
                    .iter()
                    .enumerate()
                    .take_while(|(_, next)| within_reach(&folded[hit.end..next.start]))
                    .find(|(_, next)| {
                        matches!(
                            next.phrase.kind,
                            Kind::Affirm
                                | Kind::Ack
                                | Kind::Permit
                                | Kind::Directive
                                | Kind::Action
                                | Kind::Grant
                        )
                    });
                if let Some((off, next)) = target {
                    consumed[i + 1 + off] = true;
                    signals.push(Signal {
                        kind: Kind::Decline,
                        at: hit.start,
                        reason: format!("decline: \"{}\"", folded[hit.start..next.end].trim_end()),
                        sentence,
                        asked_words: false,
                        // "Not exactly", "niet precies": a doubt, or a refusal read from
                        // a negated verb; not said outright.
                        derived: matches!(
                            next.phrase.kind,
                            Kind::Action | Kind::Affirm | Kind::Ack
                        ),
                        gives_reason: false,
                    });
                } else if let Some(v) = asked_verb_at.filter(|v| *v >= hit.end)
                    && within_reach(&folded[hit.end..v])
                {
                    signals.push(Signal {
                        kind: Kind::Decline,
                        at: hit.start,
                        reason: format!("decline: \"{}\"", text.trim()),
                        sentence,
                        asked_words: false,
                        derived: true,
                        gives_reason: false,
                    });
                } else if matches!(phrase, "nicht" | "niet")
                    && asked_verb_at.is_some_and(|v| v < hit.start)
                    && folded[hit.end..clause.end].trim().is_empty()
                {
                    // German and Dutch close the clause with the negation of its verb
                    // ("Bitte löschen Sie das Projekt nicht", "verwijder het niet"): the
                    // asked verb before it is refused, outright when asked for ("bitte").
                    signals.push(Signal {
                        kind: Kind::Decline,
                        at: hit.start,
                        reason: format!("decline: \"{}\"", text.trim()),
                        sentence,
                        asked_words: false,
                        derived: !has_kind(Kind::Directive),
                        gives_reason: false,
                    });
                } else {
                    signals.push(signal(hit, folded));
                }
            }
            Kind::Decline | Kind::Withdraw | Kind::DeclineSoft => {
                let mut found = signal(hit, folded);
                // "Ik wil niet dat we daarna extra betalen", "I don't want that anything
                // breaks": a worry about what follows, not a refusal of the action, unless
                // what is not wanted is the action itself.
                found.derived = kind == Kind::Decline
                    && ((NOT_WANTED.contains(&phrase)
                        && worry_follows(phrase, &folded[hit.end..], asked))
                        // Italian "Non vorrei …" opens with "not", French "Non, …" with
                        // "no": only the second is said outright.
                        || (phrase == "non"
                            && folded[hit.end..]
                                .strip_prefix(' ')
                                .is_some_and(|rest| rest.starts_with(char::is_alphabetic))));
                signals.push(found);
            }
            Kind::Action => {
                let is_asked = hit.phrase.groups & asked.actions != 0;
                if !is_asked && asked.actions != 0 && live && Some(hit.start) != asked_verb_at {
                    signals.push(Signal {
                        kind: Kind::Redirect,
                        at: hit.start,
                        reason: format!(
                            "other action: \"{phrase}\" ({})",
                            lexicon.group_names(hit.phrase.groups, Kind::Action)
                        ),
                        sentence,
                        asked_words: false,
                        derived: false,
                        gives_reason: false,
                    });
                }
            }
            Kind::Object => {
                if asked.objects != 0 && hit.phrase.groups & asked.objects == 0 && live {
                    signals.push(Signal {
                        kind: Kind::Redirect,
                        at: hit.start,
                        reason: format!(
                            "other target: \"{phrase}\" ({})",
                            lexicon.group_names(hit.phrase.groups, Kind::Object)
                        ),
                        sentence,
                        asked_words: false,
                        derived: false,
                        gives_reason: false,
                    });
                }
            }
            Kind::Timing => {
                let after_past = i > 0
                    && hits[i - 1].phrase.kind == Kind::Past
                    && within_reach_of(&folded[hits[i - 1].end..hit.start], 2);
                let before_ago = hits.get(i + 1).is_some_and(|next| {
                    next.phrase.kind == Kind::Past
                        && within_reach_of(&folded[hit.end..next.start], 0)
                });
                if !(after_past
                    || before_ago
                    || (UNITS.contains(&phrase) && is_duration(&folded[clause.start..hit.start])))
                {
                    signals.push(signal(hit, folded));
                }
            }
            // "I only wanted to know how", "Ich hatte nur gefragt", "Eu só queria saber": the
            // scope word focuses the requester's own earlier request, not the action.
            Kind::Scope
                if TELLING_SCOPE.contains(&phrase)
                    && next_words(&folded[hit.end..clause.end], 2).any(|w| {
                        OWN_EARLIER_INTENT.contains(&w)
                            || OWN_EARLIER_INTENT_CJK.iter().any(|p| w.starts_with(p))
                    }) => {}
            // Spanish "se" is a pronoun ("se puede eliminar") and "desde que" is "since":
            // neither is the Portuguese or Italian condition they spell.
            Kind::Condition if spanish && matches!(phrase, "se" | "desde que") => {}
            // Italian "si" is a pronoun ("si può eliminare"); Spanish and French "si" is "if".
            Kind::Condition if italian && phrase == "si" => {}
            // German "als" is "as" ("bitte als primäre Adresse eintragen"); only Dutch "als" is "if".
            Kind::Condition if german && phrase == "als" => {}
            // "Ya hice backup", "I already made a backup": a prerequisite said to be done
            // is no condition left.
            Kind::Condition
                if matches!(phrase, "backup" | "back up")
                    && word_spans(text).any(|(_, w)| ALREADY.contains(&w)) => {}
            Kind::Condition => {
                // "I'll set it up again right after": a sequence of their own, not a
                // condition on ours.
                let mut rest = folded[hit.end..clause.end].split_whitespace();
                let next: Vec<&str> = rest.by_ref().take(2).collect();
                let rest_is_short = rest.next().is_none();
                let sequence_only = matches!(
                    phrase,
                    "after"
                        | "afterwards"
                        | "danach"
                        | "después"
                        | "après"
                        | "depois"
                        | "dopo"
                        | "daarna"
                ) && rest_is_short
                    && next.iter().all(|w| {
                        matches!(*w, "that" | "this" | "it" | "wards" | "eso" | "ça" | "isso")
                    });
                if !sequence_only {
                    signals.push(signal(hit, folded));
                }
            }
            Kind::Affirm | Kind::Ack | Kind::Understood | Kind::Permit => {
                understood |= kind == Kind::Understood;
                let level = match kind {
                    Kind::Ack | Kind::Understood => Evidence::Ack,
                    Kind::Affirm => Evidence::Affirm,
                    _ => Evidence::Permit,
                };
                if level > clause_evidence {
                    clause_evidence = level;
                }
                clause_evidence_at.get_or_insert(hit.start);
                signals.push(Signal {
                    kind,
                    at: hit.start,
                    reason: format!("{}: \"{phrase}\"", kind.label()),
                    sentence,
                    asked_words: false,
                    derived: false,
                    gives_reason: false,
                });
            }
            Kind::Directive | Kind::Neutral | Kind::Past | Kind::Filler | Kind::Grant => {}
            _ => signals.push(signal(hit, folded)),
        }
    }
    HitEvidence {
        evidence: clause_evidence,
        at: clause_evidence_at,
        understood,
    }
}

/// "Already", by language: what it goes with is done.
const ALREADY: &[&str] = &[
    "already",
    "ya",
    "schon",
    "bereits",
    "déjà",
    "já",
    "già",
    "al",
    "reeds",
    "已经",
    "已經",
    "もう",
    "既に",
    "すでに",
    "이미",
];

/// Past verbs of the requester's own asking or wanting ("wanted", "gefragt", "queria"): a
/// scope word before them says what the requester meant, not what part of the action is allowed.
const OWN_EARLIER_INTENT: &[&str] = &[
    "wanted",
    "asked",
    "meant",
    "needed",
    "wondered",
    "gefragt",
    "wollte",
    "wollten",
    "wissen",
    "queria",
    "queríamos",
    "perguntei",
    "quería",
    "pregunté",
    "preguntaba",
    "voulais",
    "voulions",
    "demandé",
    "demandais",
    "volevo",
    "volevamo",
    "chiesto",
    "chiedevo",
    "wilde",
    "wilden",
    "vroeg",
    "gevraagd",
    "wou",
];

/// The same in Korean, Japanese and Chinese, as word openings ("만 문의했습니다": "only asked").
const OWN_EARLIER_INTENT_CJK: &[&str] = &[
    "문의",
    "요청",
    "물어",
    "여쭤",
    "질문",
    "聞き",
    "質問",
    "問い合わせ",
    "是想",
    "是问",
    "想问",
    "问",
];
