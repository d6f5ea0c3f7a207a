//! The verdict on a requester's new text: evidence found clause by clause, then a deliberately
//! cautious rule.
//!
//! `granted` needs positive evidence that the text answers *this* question, and nothing anywhere
//! in the text that could make it anything less:
//! - explicit permission ("go ahead", "you have my permission", "autorizo", "許可します"), or a
//!   request for the asked action itself ("please delete it", "Yes, disable 2FA", "삭제해 주세요");
//! - or a bare yes ("yes", "sí", "はい", "that's correct"), which counts only when the agent asked
//!   one thing and every other word of the reply is courtesy: "Yes I'm sure that's my account"
//!   answers something else;
//! - an acknowledgement ("ok", "got it", "了解", "알겠습니다") is never permission by itself.
//!
//! Anything that could qualify it blocks a grant: negation, condition, a moment other than now,
//! partial scope, hedge, a question back, sarcasm, someone else's approval, another action or
//! target. A refusal (not followed by a new yes) is `declined`. Everything else is `unclear`: a
//! wrong grant lets staff act on an account without permission, so doubt always falls that way.
//!
//! Every step is linear in the length of the text (the caller caps it).

use super::lexicon::{Hit, Kind, Lexicon, fold, is_cjk, is_sentence_end};
use super::normal;
use crate::workflow::ConsentVerdict;
use regex::Regex;
use std::sync::LazyLock;

/// How many words may sit between a negation and the grant or action it negates
/// ("I do **not** want you to **move** it").
const NEGATION_REACH: usize = 4;

/// How the agent's message framed the question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Framing {
    /// Why the agent's message asked more than this one thing (a bare yes may answer the
    /// other), if it did.
    pub other_things: Option<String>,
    /// Whether explicit permission ("go ahead") could answer one of those other things too;
    /// when it cannot (they only ask the requester to send or do something), explicit
    /// permission answers this question.
    pub permission_may_answer_other: bool,
}

/// A signal found in the reply, for the verdict and its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signal {
    kind: Kind,
    /// Position in the folded text, to order signals.
    at: usize,
    reason: String,
    /// The sentence it was found in (`usize::MAX`: found in the raw text).
    sentence: usize,
    /// A qualifier that is one of the question's own words ("older than 90 days" asked).
    asked_words: bool,
    /// A refusal read from a negated verb ("I don't want anything to break"), not said outright.
    derived: bool,
    /// A negation in a clause that only gives a reason for the action ("we don't use it
    /// anymore"): it says nothing about the permission.
    gives_reason: bool,
}

/// The evidence for a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Evidence {
    None,
    /// "ok", "got it".
    Ack,
    /// "yes", "sí", "that's correct".
    Affirm,
    /// "go ahead", "I confirm", "autorizo": permission, not naming the action.
    Permit,
    /// Permission or a request naming the asked action or its target.
    Anchored,
}

/// Judges `text` (the requester's new text, quotes already removed) against `request`, the
/// question asked on its own.
pub fn judge_text(request: &str, text: &str) -> (ConsentVerdict, Vec<String>) {
    judge_framed(request, text, &Framing::default())
}

/// Judges `text` against `request` as the agent's message framed it.
pub fn judge_framed(request: &str, text: &str, framing: &Framing) -> (ConsentVerdict, Vec<String>) {
    let lexicon = Lexicon::builtin();
    let normalised = normal::normalise(text);
    let folded = fold(&normalised.text);
    if folded.trim().is_empty() {
        let mut reasons = normalised.findings;
        reasons.push("empty reply".to_string());
        return (ConsentVerdict::Unclear, reasons);
    }
    let asked = AskedAction::of(request, lexicon);
    let hits = lexicon.scan(&folded);
    let clauses = clauses(&folded);
    let reading = read(&hits, &folded, &clauses, &asked, lexicon);
    let mut signals = reading.signals;
    signals.extend(other_targets(request, &normalised.text));
    signals.extend(role_in_grant(request, &signals));
    signals.extend(clock_and_dates(&normalised.text));
    if reading.evidence < Evidence::Anchored {
        signals.extend(open_ended(&folded));
    }
    signals.sort_by_key(|s| s.at);

    let mut reasons: Vec<String> = normalised.findings.clone();
    // A long reply's signals are summarised: only the first are named.
    reasons.extend(signals.iter().take(MAX_REASONS).map(|s| s.reason.clone()));
    let unnamed = signals.len().saturating_sub(MAX_REASONS);
    let has = |k: Kind| signals.iter().any(|s| s.kind == k);
    // "We'll re-register the runners ourselves afterwards" beside explicit permission is about
    // their own part of the work, not a refusal of ours.
    let weak_self = |s: &Signal| {
        s.kind == Kind::DeclineSoft
            && reading.evidence >= Evidence::Permit
            && SELF_MARKERS.iter().any(|m| quoted(&s.reason) == *m)
    };
    // "I tried, but I don't see the restore button. So yes, please restore it": a negated verb
    // in the story before explicit permission is no refusal.
    let story = |s: &Signal| {
        s.derived
            && reading.evidence >= Evidence::Permit
            && reading
                .first_evidence_sentence
                .is_some_and(|first| s.sentence < first)
    };
    // A sentence of the story before the first answer: long enough to be one, and addressed
    // to nothing the question asks (no request, question, answer or asked verb in it).
    let story_sentence = |n: usize| {
        reading
            .first_evidence_sentence
            .is_some_and(|first| n < first)
            && reading.sentence_words.get(n).is_some_and(|w| *w >= 6)
            && !reading.directed.get(n).copied().unwrap_or(true)
    };
    // After a story, an answer marked as one ("Anyway -", "To be explicit:") sets the story
    // apart, even where it mentions the action or what was tried.
    let marked_story_sentence = |n: usize| {
        reading.answer_marked
            && reading
                .first_evidence_sentence
                .is_some_and(|first| n < first)
            && reading.sentence_words.get(n).is_some_and(|w| *w >= 6)
    };
    // "We don't use it anymore" beside "please delete it": a reason for the action.
    let reason = |s: &Signal| s.gives_reason && reading.evidence == Evidence::Anchored;
    // "I don't have the recovery codes anymore. I give permission to disable 2FA": "anymore"
    // in the story says what happened, not that the action is unneeded.
    let story_no_longer = |s: &Signal| {
        s.kind == Kind::DeclineSoft
            && reading.evidence == Evidence::Anchored
            && NO_LONGER.contains(&quoted(&s.reason))
            && story_sentence(s.sentence)
    };
    // "I understand this cannot be undone. Please delete it": a negation, a condition or a
    // moment in a sentence that only acknowledges what the agent said is the agent's, not the
    // requester's terms; never in a sentence that also answers, asks, hedges or refuses
    // outright.
    let acknowledged = |s: &Signal| {
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
            && !signals.iter().any(|x| {
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
    };
    let refusal = |s: &&Signal| {
        matches!(s.kind, Kind::Decline | Kind::DeclineSoft | Kind::Withdraw)
            && !acknowledged(s)
            && !weak_self(s)
            && !story(s)
            && !reason(s)
            && !story_no_longer(s)
    };
    // "When I was on holiday I lost my phone": a story that mentions a holiday is no
    // out-of-office answer when the reply goes on to permit the action by name.
    let auto_reply = signals.iter().any(|s| {
        s.kind == Kind::AutoReply
            && !(reading.evidence == Evidence::Anchored && story_sentence(s.sentence))
    });

    let verdict = if auto_reply {
        ConsentVerdict::Unclear
    } else if let Some(first_refusal) = signals.iter().find(refusal) {
        let last_refusal = signals.iter().rev().find(refusal).map_or(0, |s| s.at);
        let last_grant = reading.last_evidence_at;
        let refuses_first = reading
            .first_evidence_at
            .is_none_or(|g| first_refusal.at <= g);
        let asks_after = signals
            .iter()
            .any(|s| s.kind == Kind::Question && s.at > first_refusal.at);
        // "No, I'll do it myself": the "do it" is not addressed to us.
        let does_it_themselves = refuses_first && has(Kind::DeclineSoft);
        // "We found out another team still pulls packages from one of the projects": a scope
        // word in a sentence that only tells (long, addressed to nothing the question asks, not
        // opening with it) says what happened, not what part is allowed.
        let tells = |s: &Signal| {
            s.at < folded.len()
                && reading.sentence_words.get(s.sentence).is_some_and(|n| *n >= 6)
                && !reading.directed.get(s.sentence).copied().unwrap_or(true)
                && !opens_clause(&folded, s.at)
                // "Va bene, ma solo dopo il 20": beside an answer, a condition or a moment, a
                // scope word sets terms.
                && !signals.iter().any(|x| {
                    x.sentence == s.sentence
                        && matches!(
                            x.kind,
                            Kind::Ack
                                | Kind::Affirm
                                | Kind::Permit
                                | Kind::Grant
                                | Kind::Condition
                                | Kind::Timing
                                | Kind::Hedge
                        )
                })
        };
        let restrictive_scope = signals.iter().any(|s| {
            s.kind == Kind::Scope
                && !REFUSAL_SCOPE.iter().any(|w| s.reason.contains(w))
                && !tells(s)
        });
        let withdrawal_at = signals
            .iter()
            .filter(|s| s.kind == Kind::Withdraw)
            .map(|s| s.at)
            .max();
        let grant_before = reading.evidence >= Evidence::Affirm && !refuses_first;
        let pending_after = |at: usize| {
            signals.iter().any(|s| {
                // "…, wait, back up first": put off, not refused.
                matches!(s.kind, Kind::Hedge | Kind::Question | Kind::Condition) && s.at > at
            })
        };
        let said_outright_after = |at: usize| {
            signals
                .iter()
                .any(|s| s.kind == Kind::Decline && !s.derived && s.at > at)
        };
        let last_evidence_sentence = reading.last_evidence_sentence;
        // "Is there really no way?", "If not, then rather not": a refusal asked or made
        // conditional is not said outright.
        let asked_or_conditional = |sentence: usize| {
            signals.iter().any(|x| {
                x.sentence == sentence
                    && (x.kind == Kind::Question
                        || (x.kind == Kind::Condition
                            && (IF.contains(&quoted(&x.reason))
                                // "Vorher bitte nichts verschieben": not until then.
                                || UNTIL_THEN.contains(&quoted(&x.reason)))))
            })
        };
        let outright = |s: &Signal| !asked_or_conditional(s.sentence);
        let refused_in_a_later_sentence = signals.iter().any(|s| {
            s.kind == Kind::Decline
                && !s.derived
                && outright(s)
                && last_evidence_sentence.is_some_and(|e| s.sentence > e)
                && !BARE_NO.iter().any(|no| quoted(&s.reason) == *no)
        });
        let only_soft_or_derived = signals
            .iter()
            .filter(|s| refusal(s))
            .all(|s| s.kind == Kind::DeclineSoft || (s.kind == Kind::Decline && s.derived));
        match last_grant {
            // A yes after the refusal: which one stands is not for us to guess.
            Some(g)
                if g > last_refusal
                    && !does_it_themselves
                    && reading.evidence >= Evidence::Affirm =>
            {
                ConsentVerdict::Unclear
            }
            _ if grant_before => match withdrawal_at {
                // "Yes — actually no, don't": taken back, unless the decision is still open.
                Some(w) if said_outright_after(w) || !pending_after(w) => ConsentVerdict::Declined,
                Some(_) => ConsentVerdict::Unclear,
                // "Yes, go ahead. … No, please don't.": refused outright after the yes.
                None if refused_in_a_later_sentence => ConsentVerdict::Declined,
                // "Yes… no, wait", "Yes, but don't touch X": a yes with reservations.
                None => ConsentVerdict::Unclear,
            },
            // "Only staging, production don't touch": part of it, not a refusal.
            _ if restrictive_scope => ConsentVerdict::Unclear,
            // "You can delete the subgroup but please keep everything else": part of it.
            _ if keeps_only_part(&signals, &hits, &folded, &asked, |s| refusal(&s)) => {
                ConsentVerdict::Unclear
            }
            // "Hold off for a day, I need to rotate the key first": put off, not refused.
            _ if signals
                .iter()
                .filter(|s| refusal(s))
                .all(|s| PUT_OFF.contains(&quoted(&s.reason)))
                && signals
                    .iter()
                    .any(|s| matches!(s.kind, Kind::Condition | Kind::Timing)) =>
            {
                ConsentVerdict::Unclear
            }
            // "Would X still work? I wouldn't want to be locked out", "I think it's not needed,
            // reset the password instead": asks, hesitates or wants something else.
            _ if only_soft_or_derived && has(Kind::Question) => ConsentVerdict::Unclear,
            _ if !signals.iter().filter(|s| refusal(s)).any(outright) => ConsentVerdict::Unclear,
            _ if asks_after && !refuses_first => ConsentVerdict::Unclear,
            _ => ConsentVerdict::Declined,
        }
    } else {
        // Background before the answer does not qualify an answer that names the action;
        // nothing after it, nor anything in the answer's own sentence, is background.
        // Only a story of some length is background ("No. Go ahead." is not), and only a
        // contrast ("…, but: yes, I give permission") may open the answer's own sentence.
        let background = |s: &Signal| {
            reading.evidence >= Evidence::Permit
                && matches!(s.kind, Kind::Negation | Kind::Hedge)
                // "Let me check with them": the decision is still open, wherever it is said.
                && !PENDING.contains(&quoted(&s.reason))
                && ((reading
                    .first_evidence_sentence
                    .is_some_and(|first| s.sentence < first)
                    && reading
                        .sentence_words
                        .get(s.sentence)
                        .is_some_and(|n| *n >= 6))
                    || (s.kind == Kind::Hedge
                        && reading.evidence == Evidence::Anchored
                        && CONTRAST.iter().any(|w| quoted(&s.reason) == *w)
                        && reading.first_strong_at.is_some_and(|at| s.at < at)))
        };
        // A qualifier in the story ("it only has a few stale pages", "two weeks ago", "when I
        // graduated") says what happened, not on what terms the answer is given; words that
        // order the action after something ("first", "until") may still be terms.
        let story_qualifier = |s: &Signal| {
            reading.evidence >= Evidence::Permit
                && matches!(
                    s.kind,
                    Kind::Condition | Kind::Timing | Kind::Scope | Kind::Redirect | Kind::AutoReply
                )
                && (story_sentence(s.sentence) || marked_story_sentence(s.sentence))
                // "Everything except the wiki can go", "I'd prefer you archive it": a part of
                // the action, or something else wanted, is a term wherever it is said.
                && (s.kind != Kind::Scope || TELLING_SCOPE.contains(&quoted(&s.reason)))
                // "We are still exporting it this week": only how long ago or how long, never
                // a moment to come, is story.
                && (s.kind != Kind::Timing
                    || (UNITS.contains(&quoted(&s.reason))
                        && !comes_after(&folded[..s.at.min(folded.len())], COMING)))
                && !(s.kind == Kind::Redirect && WANTS_ELSE.contains(&quoted(&s.reason)))
                && (!SEQUENCE.contains(&quoted(&s.reason)) || reading.answer_marked)
                && !IF.contains(&quoted(&s.reason))
                // "Only the staging one." opens with its terms; "it only has a few pages"
                // tells, and so does "Some background: …".
                && (!opens_clause(&folded, s.at)
                    || reading.answer_marked
                    || quoted(&s.reason) == "some")
                // "…. Then you may delete it" answers on the terms just set.
                && !reading.answer_follows_on
        };
        // "…, please disable it. I'll set it up again once I'm back in": the requester's own
        // plan for afterwards, in a sentence of its own after the answer, sets no terms on it.
        let own_plan = |s: &Signal| {
            reading.evidence >= Evidence::Permit
                && matches!(s.kind, Kind::Condition | Kind::Timing)
                && reading
                    .first_evidence_sentence
                    .is_some_and(|first| s.sentence > first)
                && ((reading.own_plan.get(s.sentence).copied().unwrap_or(false)
                    && !reading.directed.get(s.sentence).copied().unwrap_or(true))
                    // "Please let me know once it's done": when to tell, not when to act.
                    || reading.notify.get(s.sentence).copied().unwrap_or(false))
                && !PREREQUISITE.contains(&quoted(&s.reason))
                && !IF.contains(&quoted(&s.reason))
        };
        // "…, ik geef toestemming om het te herstellen. Als u tips heeft, hoor ik het graag":
        // after the answer, "if you have tips" asks for advice; its "if" is on the agent's
        // knowledge, not on the action.
        let advice_asked = |s: &Signal| {
            reading.evidence == Evidence::Anchored
                && s.kind == Kind::Condition
                && IF.contains(&quoted(&s.reason))
                && s.at < folded.len()
                && reading
                    .first_evidence_sentence
                    .is_some_and(|first| s.sentence > first)
                && !reading
                    .names_action
                    .get(s.sentence)
                    .copied()
                    .unwrap_or(true)
                && asks_for_advice(&folded[s.at..])
        };
        // A qualifier in a sentence after the last answer naming the action, among only the
        // given kinds of signal in its sentence.
        let after_the_answer = |s: &Signal, alongside: &[Kind]| {
            reading.evidence == Evidence::Anchored
                && s.sentence != usize::MAX
                && reading
                    .last_evidence_sentence
                    .is_some_and(|last| s.sentence > last)
                && !signals.iter().any(|x| {
                    x.sentence == s.sentence && x.kind != s.kind && !alongside.contains(&x.kind)
                })
        };
        // "Oui, je suis d'accord pour que vous ajoutiez l'adresse. L'ancienne, je ne peux plus
        // l'ouvrir depuis des années": a negation in a sentence of some length that is
        // addressed to nothing the question asks (no request, question, answer or asked verb,
        // none of its targets or things: "O app-b ainda não" speaks to the action) tells what
        // happened; it sets no terms.
        let afterword = |s: &Signal| {
            s.kind == Kind::Negation
                && after_the_answer(s, &[Kind::Ack])
                && reading
                    .sentence_words
                    .get(s.sentence)
                    .is_some_and(|n| *n >= 6)
                && !reading.directed.get(s.sentence).copied().unwrap_or(true)
                && !reading
                    .names_action
                    .get(s.sentence)
                    .copied()
                    .unwrap_or(true)
                && !names_asked_thing(&folded, sentence_span(&clauses, s.at), &asked, &hits)
        };
        // "…, jullie hebben mijn toestemming om de pipelines opnieuw te draaien. Btw, hoe lang
        // duurt zoiets meestal?": asking how long it takes asks for information; it puts no
        // terms on the answer.
        let asks_how_long = |s: &Signal| {
            s.kind == Kind::Question && after_the_answer(s, &[Kind::Ack, Kind::Timing]) && {
                let (start, end) = sentence_span(&clauses, s.at);
                HOW_LONG.iter().any(|p| folded[start..end].contains(p))
            }
        };
        let blockers: Vec<&Signal> = signals
            .iter()
            .filter(|s| {
                !own_plan(s)
                    && !afterword(s)
                    && !asks_how_long(s)
                    && !advice_asked(s)
                    && !acknowledged(s)
                    && blocks_grant(s.kind)
                    && !s.asked_words
                    && !background(s)
                    && !story_qualifier(s)
                    && !reason(s)
            })
            // "My manager approved it yesterday. I give permission to delete it": the requester's
            // own permission naming the action, in a sentence of its own.
            .filter(|s| {
                !(s.kind == Kind::Relay
                    && reading.anchored_sentences.iter().any(|a| *a != s.sentence))
            })
            // "My manager approved this, so I give permission to delete it": the requester's
            // own conclusion, naming the action, after the approval it rests on.
            .filter(|s| {
                !(s.kind == Kind::Relay
                    && reading.evidence == Evidence::Anchored
                    && reading
                        .own_conclusions
                        .iter()
                        .any(|(sentence, start)| *sentence == s.sentence && s.at < *start))
            })
            .collect();
        match reading.evidence {
            Evidence::None => ConsentVerdict::Unclear,
            Evidence::Ack => {
                reasons.push("an acknowledgement is not permission".to_string());
                ConsentVerdict::Unclear
            }
            _ if !blockers.is_empty() => ConsentVerdict::Unclear,
            Evidence::Affirm if reading.understood => {
                reasons.push("\"yes, understood\" acknowledges: it is not permission".to_string());
                ConsentVerdict::Unclear
            }
            // "Yes to both": an answer to every question the agent asked, this one included.
            Evidence::Affirm | Evidence::Permit
                if framing.other_things.is_some()
                    && (reading.evidence == Evidence::Affirm
                        || framing.permission_may_answer_other)
                    && !answers_every_question(&folded) =>
            {
                reasons.push(format!(
                    "the agent's message asked more than one thing ({}): the reply does not say which it answers",
                    framing.other_things.as_deref().unwrap_or_default()
                ));
                ConsentVerdict::Unclear
            }
            Evidence::Affirm if !reading.unattached.is_empty() => {
                reasons.push(format!(
                    "the yes is attached to another statement: \"{}\"",
                    reading.unattached
                ));
                ConsentVerdict::Unclear
            }
            _ => ConsentVerdict::Granted,
        }
    };
    let verdict = if verdict == ConsentVerdict::Granted && !normalised.findings.is_empty() {
        reasons.push("the text does not read as written: never a grant".to_string());
        ConsentVerdict::Unclear
    } else {
        verdict
    };
    if reasons.is_empty() {
        reasons.push("no explicit answer".to_string());
    } else if verdict == ConsentVerdict::Unclear && reading.evidence == Evidence::None {
        reasons.push("no explicit grant".to_string());
    }
    if reasons.len() > MAX_REASONS || unnamed > 0 {
        // The verdict's own reason comes last; keep it.
        let last = reasons.pop().unwrap_or_default();
        let more = (reasons.len() + unnamed).saturating_sub(MAX_REASONS - 2);
        reasons.truncate(MAX_REASONS - 2);
        reasons.push(format!("… and {more} more signals"));
        reasons.push(last);
    }
    (verdict, reasons)
}

/// Asking how long something takes, in each language.
const HOW_LONG: &[&str] = &[
    "how long",
    "how much time",
    "hoe lang",
    "wie lange",
    "cuánto tiempo",
    "cuánto tarda",
    "cuánto vais a tardar",
    "cuánto van a tardar",
    "combien de temps",
    "quanto tempo",
    "quanto ci vuole",
    "どのくらい時間",
    "どれくらい時間",
    "多长时间",
    "多久",
    "얼마나 걸",
];

/// "Before that", "until then": a refusal they govern only puts the action off.
const UNTIL_THEN: &[&str] = &[
    "vorher",
    "davor",
    "bis dahin",
    "until then",
    "before that",
    "hasta entonces",
    "antes de eso",
    "jusque là",
    "avant cela",
    "até lá",
    "antes disso",
    "fino ad allora",
    "prima di allora",
    "tot dan",
    "daarvoor",
];

/// An open-ended instruction ("do what is needed", "machen Sie, was nötig ist"): it leaves the
/// action to the agent, so it is no permission for the one asked; beside permission that names
/// the asked action it only adds to it.
const OPEN_ENDED: &[&str] = &[
    "whatever is needed",
    "whatever is necessary",
    "whatever you need",
    "whatever it takes",
    "what is needed",
    "what is necessary",
    "what you need to",
    "was nötig ist",
    "was notwendig ist",
    "was nötig",
    "lo que sea necesario",
    "lo que haga falta",
    "lo que necesiten",
    "ce qui est nécessaire",
    "ce quil faut",
    "o que for preciso",
    "o que for necessário",
    "o que precisar",
    "quello che serve",
    "ciò che serve",
    "quanto necessario",
    "wat nodig is",
    "必要なこと",
    "必要な対応",
    "必要な作業",
    "需要的",
    "필요한 것",
    "필요한 조치",
];

/// Hedges for the open-ended instructions in `folded`.
fn open_ended(folded: &str) -> Vec<Signal> {
    OPEN_ENDED
        .iter()
        .filter_map(|p| {
            let at = if p.is_ascii() {
                word_spans(folded)
                    .find(|(i, _)| {
                        folded[*i..].starts_with(p)
                            && !folded[*i + p.len()..].starts_with(char::is_alphanumeric)
                    })
                    .map(|(i, _)| i)
            } else {
                folded.find(p)
            }?;
            Some(Signal {
                kind: Kind::Hedge,
                at,
                reason: format!("open-ended: \"{p}\" leaves the action to the agent"),
                sentence: usize::MAX,
                asked_words: false,
                derived: false,
                gives_reason: false,
            })
        })
        .collect()
}

/// Words that keep something back ("keep", "leave", "lasciate", "behalten", "保留").
const KEEP: &[&str] = &[
    "keep",
    "leave",
    "lascia",
    "laat",
    "lass",
    "behalt",
    "deixa",
    "dej",
    "conserv",
    "gard",
    "houd",
    "bewaar",
    "tenete",
    "mantene",
    "manteng",
    "mantenh",
    "保留",
    "残して",
    "남겨",
    "유지",
];

/// Every refusal keeps something back ("but please keep everything else", "ma lasciate le
/// immagini prod-*") after a contrast, in a sentence that first names the asked action: part
/// of the action is allowed, the rest kept. Neither a grant nor a refusal.
fn keeps_only_part(
    signals: &[Signal],
    hits: &[Hit<'_>],
    folded: &str,
    asked: &AskedAction,
    is_refusal: impl Fn(&Signal) -> bool,
) -> bool {
    let mut refusals = signals.iter().filter(|s| is_refusal(s)).peekable();
    refusals.peek().is_some()
        && refusals.all(|r| {
            let phrase = quoted(&r.reason);
            let phrase = ["please ", "pls ", "bitte ", "por favor ", "per favore "]
                .iter()
                .find_map(|p| phrase.strip_prefix(p))
                .unwrap_or(phrase);
            KEEP.iter().any(|k| phrase.starts_with(k))
                && r.at <= folded.len()
                && hits.iter().any(|h| {
                    h.phrase.kind == Kind::Action
                        && h.phrase.groups & asked.actions != 0
                        && h.end <= r.at
                        && {
                            let gap = &folded[h.end..r.at];
                            !gap.contains(is_sentence_end)
                                && CONTRAST.iter().any(|c| contains_phrase(gap, c))
                        }
                })
        })
}

/// Words that answer every question of a message at once ("yes to both", "beides", "둘 다").
const EVERY_QUESTION: &[&str] = &[
    "both",
    "to both",
    "yes to both",
    "all of them",
    "beide",
    "beides",
    "ambos",
    "ambas",
    "les deux",
    "tous les deux",
    "entrambi",
    "entrambe",
    "tutti e due",
    "allebei",
    "alle twee",
    "beide vragen",
    "両方",
    "どちらも",
    "两个都",
    "兩個都",
    "둘 다",
    "모두",
];

/// `folded` answers every question at once, as words of its own.
fn answers_every_question(folded: &str) -> bool {
    EVERY_QUESTION.iter().any(|w| {
        if w.is_ascii() {
            contains_word(folded, w)
        } else {
            folded.contains(w)
        }
    })
}

/// Contrast words a complaint may end on before the answer ("…, but: yes, …").
const CONTRAST: &[&str] = &[
    "but",
    "however",
    "aber",
    "pero",
    "mais",
    "mas",
    "ma",
    "però",
    "但",
    "但是",
    "でも",
    "하지만",
];

/// Conditions that make what they govern hypothetical ("if", "wenn", "si", "如果").
const IF: &[&str] = &[
    "if", "only if", "unless", "wenn", "falls", "sofern", "si", "solo si", "se", "solo se", "als",
    "indien", "mits", "如果", "要是", "なら", "たら", "れば", "면", "으면", "다면",
];

/// Hedges that leave the decision open ("let me check", "ask my team"): never background.
const PENDING: &[&str] = &[
    "let me check",
    "let me think",
    "ask my",
    "check with",
    "talk to",
    "need to ask",
    "need to check",
    "get back to you",
    "ill confirm",
    "will confirm",
    "discuss",
    "discussed internally",
    "internally first",
    "intern besprechen",
    "besprechen",
    "abklären",
    "hablarlo",
    "consultarlo",
    "en discuter",
    "discutir",
    "discutere",
    "overleggen",
    "bespreken",
    "相談",
    "商量",
    "讨论",
    "討論",
    "논의",
    "상의",
    "approval",
    "wait",
    "hmm",
];

/// Words that make a following span of time one to come ("this week", "next month").
const COMING: &[&str] = &[
    "this",
    "next",
    "coming",
    "these",
    "diese",
    "dieser",
    "diesen",
    "nächste",
    "nächsten",
    "esta",
    "este",
    "próxima",
    "próximo",
    "cette",
    "ce",
    "prochaine",
    "prochain",
    "questa",
    "questo",
    "prossima",
    "prossimo",
    "deze",
    "dit",
    "volgende",
    "komende",
    "essa",
    "esse",
];

/// `before` ends with one of `words` (the word just before a phrase).
fn comes_after(before: &str, words: &[&str]) -> bool {
    before
        .split_whitespace()
        .next_back()
        .is_some_and(|w| words.contains(&w))
}

/// Scope words a story uses to tell ("it only has a few pages", "some background"); any other
/// scope word names part of the action.
const TELLING_SCOPE: &[&str] = &[
    "only",
    "some",
    "solo",
    "sólo",
    "solamente",
    "nur",
    "seulement",
    "juste",
    "só",
    "somente",
    "apenas",
    "alleen",
    "soltanto",
    "만",
    "只",
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

/// What a requester may ask the agent for advice about ("tips", "conseils", "dicas").
const ADVICE: &[&str] = &[
    "tip",
    "tips",
    "advice",
    "suggestion",
    "suggestions",
    "recommendation",
    "recommendations",
    "pointers",
    "tipps",
    "tipp",
    "ratschläge",
    "rat",
    "empfehlung",
    "empfehlungen",
    "conseil",
    "conseils",
    "recommandation",
    "recommandations",
    "consejo",
    "consejos",
    "recomendación",
    "recomendaciones",
    "sugerencia",
    "sugerencias",
    "dica",
    "dicas",
    "sugestão",
    "sugestões",
    "recomendação",
    "recomendações",
    "consiglio",
    "consigli",
    "suggerimento",
    "suggerimenti",
    "advies",
    "adviezen",
    "suggesties",
    "aanbevelingen",
];

/// `rest` (from an "if" on) is the condition "if you have tips / any advice …": a clause of a
/// few words naming advice the agent may have.
fn asks_for_advice(rest: &str) -> bool {
    let clause = rest[..floor_char_boundary(rest, 80)]
        .split(|c: char| is_sentence_end(c) || c == ',')
        .next()
        .unwrap_or_default();
    clause
        .split(|c: char| !c.is_alphanumeric())
        .take(8)
        .any(|w| ADVICE.contains(&w))
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

/// A refusal read from a negated verb or modal ("no se puede deshacer", "cannot be
/// recovered"), not asked for: in a sentence that acknowledges the agent's words it restates
/// them. A refusal with a request marker ("please don't") is the requester's own.
fn restates(refusal: &str) -> bool {
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

/// Openings of a sentence saying the requester understands what they were told.
const UNDERSTAND_THAT: &[&str] = &[
    "understood that",
    "i understand that",
    "i understand this",
    "i understand it",
    "i understand",
    "we understand",
    "im aware",
    "i am aware",
    "we are aware",
    "were aware",
    "i acknowledge",
    "we acknowledge",
    "noted that",
    "i know that",
    "i know this",
    "i realise",
    "i realize",
    "mir ist bewusst",
    "uns ist bewusst",
    "ich verstehe",
    "wir verstehen",
    "ich weiß",
    "ist mir klar",
    "entiendo que",
    "entendemos que",
    "soy consciente",
    "somos conscientes",
    "comprendo que",
    "sé que",
    "je comprends",
    "nous comprenons",
    "je suis conscient",
    "je suis consciente",
    "je sais que",
    "bien noté",
    "entendo que",
    "entendemos que",
    "estou ciente",
    "estamos cientes",
    "compreendo que",
    "sei que",
    "capisco che",
    "ho capito che",
    "sono consapevole",
    "siamo consapevoli",
    "comprendo che",
    "so che",
    "ik begrijp",
    "wij begrijpen",
    "we begrijpen",
    "ik ben me ervan bewust",
    "ik weet dat",
    "ik snap dat",
    "begrepen dat",
    "我明白",
    "我了解",
    "我知道",
    "我理解",
    "我们明白",
    "我们了解",
];

/// Endings of such a sentence in Japanese and Korean, which close it with the verb.
const UNDERSTAND_THAT_CLOSING: &[&str] = &[
    "承知しております",
    "承知しています",
    "承知の上です",
    "理解しております",
    "理解しています",
    "把握しております",
    "알고 있습니다",
    "알고 있어요",
    "이해합니다",
    "이해했습니다",
    "인지하고 있습니다",
];

/// The sentence opening `text` says the requester understands what they were told: what it
/// holds (an irreversibility, a retention period) restates the agent's information.
fn acknowledges_information(text: &str) -> bool {
    let text = text.trim_start();
    let sentence = &text[..text.find(is_sentence_end).unwrap_or(text.len())];
    opens_with(sentence, UNDERSTAND_THAT)
        || UNDERSTAND_THAT_CLOSING
            .iter()
            .any(|m| sentence.trim_end().ends_with(m))
}

/// The first `n` words of `text`.
fn next_words(text: &str, n: usize) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(n)
}

/// Words that want something else than the action ("instead", "rather", "lieber").
const WANTS_ELSE: &[&str] = &[
    "instead",
    "rather",
    "prefer",
    "stattdessen",
    "lieber",
    "plutôt",
    "au lieu",
    "en cambio",
    "en vez",
    "en lugar",
    "em vez",
    "ao invés",
    "invece",
    "piuttosto",
    "liever",
    "in plaats van",
    "대신",
    "말고",
    "代わりに",
    "代わり",
    "ではなく",
    "而是",
    "改为",
    "换成",
];

/// Words that order the action after something else: in the story too, they may set terms.
const SEQUENCE: &[&str] = &[
    "first",
    "before",
    "until",
    "till",
    "after",
    "once",
    "as soon as",
    "make sure",
    "primero",
    "antes",
    "hasta",
    "después",
    "erst",
    "bevor",
    "bis",
    "nachdem",
    "dabord",
    "avant",
    "après",
    "primeiro",
    "depois",
    "prima di",
    "dopo",
    "finché",
    "appena",
    "eerst",
    "voordat",
    "totdat",
    "tot",
    "nadat",
    "zodra",
    "まで",
    "前に",
    "後で",
    "あとで",
    "終わったら",
    "之前",
    "之后",
    "以后",
    "先",
    "等",
    "먼저",
    "전에",
    "까지",
    "후에",
    "다음에",
    "하고 나서",
];

/// Refusals that only put the action off ("hold off", "attendez", "先别").
const PUT_OFF: &[&str] = &[
    "hold off",
    "please hold",
    "attendez",
    "先别",
    "先別",
    "warte",
    "moment",
    "wait no",
    "no wait",
    "nee wacht",
];

/// "I don't want", in every language: a refusal, or with a clause after it a worry.
const NOT_WANTED: &[&str] = &[
    "i do not want",
    "i dont want",
    "we do not want",
    "we dont want",
    "no quiero",
    "no queremos",
    "ich möchte nicht",
    "wir möchten nicht",
    "ich will nicht",
    "je ne veux pas",
    "nous ne voulons pas",
    "não quero",
    "nao quero",
    "non voglio",
    "ik wil niet",
    "wij willen niet",
];

/// The Romance "I don't want", after which a bare infinitive opens what is not wanted.
const ROMANCE_NOT_WANTED: &[&str] = &[
    "no quiero",
    "no queremos",
    "não quero",
    "nao quero",
    "je ne veux pas",
    "nous ne voulons pas",
    "non voglio",
];

/// Words that open a clause saying what is not wanted ("that", "dass", "que", "che", "dat").
const COMPLEMENTISERS: &[&str] = &[
    "that", "anything", "any", "to", "dass", "que", "che", "dat", "om",
];

/// How far after "I don't want" (bytes) the clause saying what is not wanted is read.
const WORRY_REACH: usize = 160;

/// After "I don't want": a clause of its own ("that we get billed") that does not name the
/// asked action.
fn worry_follows(not_wanted: &str, rest: &str, asked: &AskedAction) -> bool {
    // A clause of a few words is enough to tell; reading no further keeps judging linear
    // however many times "I don't want that" is repeated on one line.
    let sentence = rest[..floor_char_boundary(rest, WORRY_REACH)]
        .split(|c: char| is_sentence_end(c))
        .next()
        .unwrap_or_default();
    let mut words = sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let mut rest: Vec<&str> = words.collect();
    // Spanish, Portuguese, Italian and French say what is not wanted with a bare infinitive
    // ("no quiero perder los logs", "não quero perder o código"): a clause of its own too,
    // whose verb must then not be the asked one.
    let infinitive = ROMANCE_NOT_WANTED.contains(&not_wanted) && is_romance_infinitive(first);
    if infinitive {
        rest.insert(0, first);
    }
    (COMPLEMENTISERS.contains(&first) || infinitive)
        && rest.len() >= 2
        && !rest
            .iter()
            .any(|w| asked.is_own_verb(w) || asked.has_phrase(w) && w.chars().count() >= 5)
        && !Lexicon::builtin()
            .scan(sentence)
            .iter()
            .any(|h| h.phrase.kind == Kind::Action && h.phrase.groups & asked.actions != 0)
}

/// A Spanish, Portuguese, Italian or French infinitive ("perder", "perdere", "perdre"), by its
/// ending: a verb of four letters or more ending in -ar, -er, -ir or -re.
fn is_romance_infinitive(word: &str) -> bool {
    word.chars().count() >= 4
        && word.chars().all(char::is_alphabetic)
        && ["ar", "er", "ir", "re", "ár", "ér", "ír"]
            .iter()
            .any(|e| word.ends_with(e))
}

/// Negations that follow the verb they negate (Japanese, Korean).
fn negates_backwards(phrase: &str) -> bool {
    matches!(
        phrase,
        "ない"
            | "ません"
            | "ず"
            | "ぬ"
            | "なし"
            | "않습"
            | "않아"
            | "않고"
            | "않겠"
            | "않았"
            | "않기로"
            | "않으"
            | "없어"
            | "없습"
            | "없이"
    )
}

/// The largest char boundary of `text` at or before `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// Openings that make a sentence follow on from the one before ("Then go ahead").
const FOLLOW_ON: &[&str] = &[
    "then",
    "in that case",
    "if so",
    "so then",
    "dann",
    "in dem fall",
    "entonces",
    "en ese caso",
    "alors",
    "dans ce cas",
    "então",
    "nesse caso",
    "allora",
    "in quel caso",
    "dan",
    "in dat geval",
    "その場合",
    "それなら",
    "では",
    "那么",
    "那样的话",
    "那樣的話",
    "그러면",
    "그럼",
    "그렇다면",
];

/// Words that mark the answer after a story.
const ANSWER_MARKERS: &[&str] = &[
    "anyway",
    "anyhow",
    "to be explicit",
    "to be clear",
    "to answer your question",
    "in any case",
    "long story short",
    "bottom line",
    "in short",
    "that said",
    "en todo caso",
    "de todos modos",
    "en cualquier caso",
    "respondiendo a su pregunta",
    "para responder",
    "jedenfalls",
    "wie auch immer",
    "um ihre frage zu beantworten",
    "kurz gesagt",
    "quoi quil en soit",
    "bref",
    "pour répondre à votre question",
    "en tout cas",
    "de qualquer forma",
    "enfim",
    "respondendo à sua pergunta",
    "comunque",
    "in ogni caso",
    "per rispondere",
    "insomma",
    "hoe dan ook",
    "in ieder geval",
    "om op uw vraag terug te komen",
    "om uw vraag te beantwoorden",
    "kortom",
    "つきましては",
    "とにかく",
    "いずれにしても",
    "总之",
    "總之",
    "无论如何",
    "아무튼",
    "어쨌든",
    "답을 드리자면",
    "결론적으로",
];

/// Openings of a clause that draws a conclusion ("so", "así que", "daher", "所以").
const CONSEQUENCE: &[&str] = &[
    "so",
    "therefore",
    "thus",
    "hence",
    "así que",
    "por lo tanto",
    "por eso",
    "also",
    "daher",
    "deshalb",
    "deswegen",
    "donc",
    "alors",
    "então",
    "portanto",
    "por isso",
    "quindi",
    "perciò",
    "dunque",
    "dus",
    "daarom",
    "なので",
    "ですので",
    "所以",
    "因此",
    "그래서",
    "따라서",
];

/// The requester speaking for themselves ("I", "my", "ich", "mi", "我", "제가").
const FIRST_PERSON: &[&str] = &[
    "i", "my", "we", "our", "yo", "mi", "doy", "ich", "meine", "mein", "je", "mon", "ma", "eu",
    "minha", "meu", "dou", "io", "mio", "mia", "do", "ik", "mijn", "geef", "私", "我", "저",
    "제가",
];

/// `text` (after leading spaces) opens with one of `openings` as whole words.
fn opens_with(text: &str, openings: &[&str]) -> bool {
    let text = text.trim_start();
    openings.iter().any(|w| {
        text.strip_prefix(w)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()) || !w.is_ascii())
    })
}

/// Openings of the requester's own plan for afterwards ("I'll set it up again once I'm in").
const OWN_PLAN: &[&str] = &[
    "ill",
    "i will",
    "well",
    "we will",
    "im going to",
    "i am going to",
    "were going to",
    "we are going to",
    "ich werde",
    "wir werden",
    "je vais",
    "nous allons",
    "on va",
    "voy a",
    "vamos a",
    "la volveré",
    "lo volveré",
    "eu vou",
    "vou",
    "nós vamos",
    "ik ga",
    "we gaan",
    "wij gaan",
    "ik zal",
    "we zullen",
    "我会",
    "我们会",
    "我再",
    "제가 다시",
    "저희가 다시",
];

/// Words addressing the agent ("you", "vous", "jullie", "您").
const SECOND_PERSON: &[&str] = &[
    "you",
    "your",
    "yourself",
    "u",
    "jullie",
    "vous",
    "usted",
    "ustedes",
    "vocês",
    "você",
    "voi",
    "vi",
    "ihnen",
    "euch",
    "ihr",
    "te",
    "ti",
    "您",
    "你",
    "あなた",
    "당신",
];

/// Asking to be told ("let me know", "avísenme", "ご一報", "알려 주세요").
const NOTIFY: &[&str] = &[
    "let me know",
    "let us know",
    "notify me",
    "ping me",
    "tell me",
    "drop me a line",
    "avísenme",
    "avísame",
    "me avisan",
    "me avisen",
    "geben sie mir bescheid",
    "sagen sie mir bescheid",
    "informieren sie mich",
    "prévenez moi",
    "dites moi",
    "tenez moi au courant",
    "me avisem",
    "me avise",
    "me informem",
    "fatemi sapere",
    "avvisatemi",
    "mi fate sapere",
    "laat me weten",
    "laat het me weten",
    "laat even weten",
    "ご一報",
    "お知らせください",
    "ご連絡ください",
    "ご連絡いただけ",
    "告诉我",
    "通知我",
    "告知",
    "알려 주세요",
    "알려주세요",
    "알려 주시면",
    "알려주시면",
    "연락 주세요",
    "연락주세요",
];

/// `text` has `phrase` as whole words (anywhere for CJK and Hangul phrases).
fn contains_phrase(text: &str, phrase: &str) -> bool {
    if phrase.is_ascii() {
        contains_word(text, phrase)
    } else {
        text.contains(phrase)
    }
}

/// Conditions that set a prerequisite for the action ("first", "until"): even in the
/// requester's own plan they say "not yet".
const PREREQUISITE: &[&str] = &[
    "first",
    "before",
    "until",
    "till",
    "make sure",
    "unless",
    "only if",
    "as long as",
    "so long as",
    "provided",
    "providing",
    "without",
    "primero",
    "antes",
    "hasta",
    "erst",
    "bevor",
    "bis",
    "dabord",
    "avant",
    "primeiro",
    "prima di",
    "eerst",
    "voordat",
    "totdat",
    "tot",
    "先",
    "之前",
    "먼저",
    "전에",
    "까지",
];

/// `at` opens a clause of `folded`: only spaces since its start or the last clause mark.
fn opens_clause(folded: &str, at: usize) -> bool {
    folded
        .get(..at)
        .and_then(|before| before.chars().rev().find(|c| *c != ' '))
        .is_none_or(|c| is_sentence_end(c) || matches!(c, ',' | '。' | '！' | '？'))
}

/// "Anymore", "no longer": not needed, or only the end of a story.
const NO_LONGER: &[&str] = &["anymore", "no longer", "not anymore"];

/// A lone "no" after a yes may be a pause ("Yes… no, wait"), not a refusal.
const BARE_NO: &[&str] = &[
    "no",
    "nope",
    "nah",
    "nee",
    "nein",
    "non",
    "não",
    "nao",
    "아니요",
    "いいえ",
    "不",
];

/// Scope words that go with a refusal ("No, keep it for now") rather than a partial yes.
const REFUSAL_SCOPE: &[&str] = &[
    "\"keep",
    "\"leave",
    "\"for now\"",
    "\"not yet\"",
    "\"hold",
    "\"houd",
    "\"bewaar",
    "\"tenete",
    "\"mantenete",
    "\"남겨",
    "\"유지",
    "\"残して",
    "\"lascia",
    "\"deixa",
    "\"laat",
    "\"lass",
    "\"dej",
];

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

/// The phrase a reason quotes ("decline: \"no\"" → "no").
fn quoted(reason: &str) -> &str {
    match (reason.find('"'), reason.rfind('"')) {
        (Some(a), Some(b)) if b > a => &reason[a + 1..b],
        _ => "",
    }
}

/// How many reasons a judgment lists; a long reply's are summarised after that.
const MAX_REASONS: usize = 24;

fn blocks_grant(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Negation
            | Kind::Condition
            | Kind::Timing
            | Kind::Scope
            | Kind::Hedge
            | Kind::Question
            | Kind::Sarcasm
            | Kind::Redirect
            | Kind::Relay
            | Kind::AutoReply
    )
}

/// What the question asks, for anchoring the reply to it.
struct AskedAction {
    /// Action kinds the question names (bit set).
    actions: u64,
    /// Object kinds the question names (bit set).
    objects: u64,
    /// The question's own words (folded), of four letters or more: restating them is harmless.
    words: Vec<String>,
    /// The parts of the targets the question names ("app-b" → "app", "b"), folded.
    target_words: Vec<String>,
    /// Stem of the asked verb ("downgrad" for "downgrade"), matched as a word prefix.
    verb_stem: Option<String>,
    /// The question, folded.
    folded: String,
}

impl AskedAction {
    fn of(request: &str, lexicon: &Lexicon) -> AskedAction {
        let folded = fold(&normal::normalise(request).text);
        let action = super::recognise_question(request).map(|q| q.action);
        let verb_stem = action
            .as_deref()
            .and_then(|a| a.split_whitespace().next())
            .map(|v| fold(v).trim().to_string())
            .filter(|v| v.chars().count() >= 3 && v.chars().all(char::is_alphabetic))
            .map(|v| {
                let n = v.chars().count();
                if n >= 6 {
                    v.chars().take(n - 2).collect()
                } else {
                    v
                }
            });
        let mut words: Vec<String> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4 || w.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        // "studio-pol/oude-website": every part of a target the question names is its own word.
        let target_words: Vec<String> = targets(request)
            .iter()
            .flat_map(|(_, target)| {
                fold(target)
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        words.extend(target_words.iter().cloned());
        words.sort();
        words.dedup();
        AskedAction {
            actions: lexicon.groups_named(&folded, Kind::Action),
            objects: lexicon.groups_named(&folded, Kind::Object),
            words,
            target_words,
            verb_stem,
            folded,
        }
    }

    /// The question says `phrase` itself (as whole words): the action's own words.
    fn has_phrase(&self, phrase: &str) -> bool {
        let phrase = phrase.trim();
        !phrase.is_empty()
            && self.folded.match_indices(phrase).any(|(i, _)| {
                let before = self.folded[..i].chars().next_back();
                let after = self.folded[i + phrase.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
    }

    fn names_word(&self, word: &str) -> bool {
        self.words
            .binary_search_by(|w| w.as_str().cmp(word))
            .is_ok()
    }

    fn is_own_verb(&self, word: &str) -> bool {
        self.verb_stem
            .as_deref()
            .is_some_and(|s| word.starts_with(s))
    }
}

/// A clause: a stretch of one sentence between clause marks (byte range in the folded text).
#[derive(Debug, Clone, Copy)]
struct Clause {
    start: usize,
    end: usize,
    /// End with its terminator ("?" belongs to the sentence it ends).
    stop: usize,
    /// First clause of its sentence.
    opens_sentence: bool,
}

fn clauses(folded: &str) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::new();
    let mut start = 0;
    let mut opens_sentence = true;
    for (i, c) in folded.char_indices() {
        let sentence_end = is_sentence_end(c) || matches!(c, '。' | '！' | '？');
        if c == ',' || sentence_end {
            if folded[start..i].trim().is_empty() {
                // "Delete it.?": a terminator after an empty stretch belongs to the clause
                // before it, so that no hit is left outside every clause.
                if let Some(last) = out.last_mut() {
                    last.stop = i + c.len_utf8();
                }
                start = i + c.len_utf8();
                opens_sentence |= sentence_end;
                continue;
            }
            out.push(Clause {
                start,
                end: i,
                stop: i + c.len_utf8(),
                opens_sentence,
            });
            opens_sentence = sentence_end;
            start = i + c.len_utf8();
        }
    }
    if !folded[start..].trim().is_empty() {
        out.push(Clause {
            start,
            end: folded.len(),
            stop: folded.len(),
            opens_sentence,
        });
    }
    out
}

/// What the hits say, clause by clause.
struct Reading {
    signals: Vec<Signal>,
    evidence: Evidence,
    first_evidence_at: Option<usize>,
    last_evidence_at: Option<usize>,
    /// Words of the reply that are neither courtesy, answer nor the question's own words, when
    /// the only answer is a bare yes (what the yes may be attached to).
    unattached: String,
    /// A bare yes beside "understood": the reply acknowledges.
    understood: bool,
    /// The first sentence with evidence more than an acknowledgement.
    first_evidence_sentence: Option<usize>,
    /// Where the first explicit permission or request for the action is.
    first_strong_at: Option<usize>,
    /// The last sentence with a yes or more.
    last_evidence_sentence: Option<usize>,
    /// Words in each sentence.
    sentence_words: Vec<usize>,
    /// Sentences that ask for the action or permit it by name.
    anchored_sentences: Vec<usize>,
    /// The first sentence with an answer opens with "then", "in that case": it answers on the
    /// terms of the sentence before.
    answer_follows_on: bool,
    /// The first answer is marked as one after a story ("Anyway -", "To be explicit:",
    /// "Om op uw vraag terug te komen:").
    answer_marked: bool,
    /// Clauses (sentence, start) that draw the requester's own permission from someone else's
    /// approval ("…, so I give permission to delete it").
    own_conclusions: Vec<(usize, usize)>,
    /// Sentences that ask to be told when the action is done ("let me know once it's done",
    /// "完了後、ご一報ください"), without naming the action again.
    notify: Vec<bool>,
    /// Sentences that name the asked verb.
    names_action: Vec<bool>,
    /// Sentences that say the requester understands what the agent told them ("I understand
    /// this cannot be undone", "元に戻せないことは承知しております").
    acknowledges: Vec<bool>,
    /// Sentences that open with the requester's own plan ("I'll set it up again", "je vais").
    own_plan: Vec<bool>,
    /// Sentences addressed to the action: a request marker, a question, an answer, or the asked
    /// verb itself. Only a sentence that is none of these can be background.
    directed: Vec<bool>,
}

fn read(
    hits: &[Hit<'_>],
    folded: &str,
    clauses: &[Clause],
    asked: &AskedAction,
    lexicon: &Lexicon,
) -> Reading {
    let mut signals = Vec::new();
    let mut evidence = Evidence::None;
    let mut first_evidence_at = None;
    let mut last_evidence_at = None;
    let mut unattached: Vec<&str> = Vec::new();
    let mut consumed = vec![false; hits.len()];
    let mut understood = false;
    let mut first_evidence_sentence: Option<usize> = None;
    let mut first_strong_at: Option<usize> = None;
    let mut last_evidence_sentence: Option<usize> = None;
    let mut sentence_words: Vec<usize> = vec![0];
    let mut anchored_sentences: Vec<usize> = Vec::new();
    let mut directed: Vec<bool> = vec![false];
    let mut notify: Vec<bool> = vec![false];
    // Sentences that name the asked action (for `notify`).
    let mut names_action: Vec<bool> = vec![false];
    let mut own_plan: Vec<bool> = vec![opens_with(folded, OWN_PLAN)];
    let mut acknowledges: Vec<bool> = vec![acknowledges_information(folded)];
    let mut answer_follows_on = false;
    let mut answer_marked = false;
    let mut own_conclusions: Vec<(usize, usize)> = Vec::new();
    // Where the current sentence starts drawing a conclusion ("…, so …").
    let mut conclusion_at: Option<usize> = None;
    let spanish = is_spanish(folded);
    let french = is_french(folded);
    let italian = is_italian(folded);
    let portuguese = is_portuguese(folded);
    let mut sentence = 0;
    let mut sentence_start = 0;
    // "Sie haben meine Erlaubnis, das Projekt zu löschen": permission in one clause, the asked
    // action in the next, one sentence.
    let mut sentence_permits = false;
    let mut sentence_names_action = false;
    let mut h = 0;
    let clause_count = clauses.len();
    for (ci, clause) in clauses.iter().enumerate() {
        if clause.opens_sentence && ci > 0 {
            sentence += 1;
            sentence_words.push(0);
            directed.push(false);
            notify.push(false);
            names_action.push(false);
            own_plan.push(opens_with(&folded[clause.start..], OWN_PLAN));
            acknowledges.push(acknowledges_information(&folded[clause.start..]));
            sentence_start = clause.start;
            sentence_permits = false;
            sentence_names_action = false;
            conclusion_at = None;
        }
        let first_hit = h;
        while h < hits.len() && hits[h].start < clause.stop {
            h += 1;
        }
        let clause_hits = &hits[first_hit..h];
        let text = &folded[clause.start..clause.end];
        let offset = clause.start;
        // Words of the clause with whether a hit covers them.
        let words: Vec<(usize, &str)> = word_spans(text).map(|(i, w)| (offset + i, w)).collect();
        if let Some(n) = sentence_words.last_mut() {
            *n += words.len();
        }
        // The hit covering each word, in one sweep (hits do not overlap, both are in order).
        let mut covering: Vec<Option<Kind>> = Vec::with_capacity(words.len());
        let mut p = 0;
        for (at, w) in &words {
            while p < clause_hits.len() && clause_hits[p].end <= *at {
                p += 1;
            }
            covering.push(
                clause_hits
                    .get(p)
                    .filter(|x| x.start < at + w.len())
                    .map(|x| x.phrase.kind),
            );
        }
        let asked_verb_at: Option<usize> = words
            .iter()
            .find(|(_, w)| asked.is_own_verb(w))
            .map(|(at, _)| *at)
            .or_else(|| {
                clause_hits
                    .iter()
                    .find(|x| x.phrase.kind == Kind::Action && x.phrase.groups & asked.actions != 0)
                    .map(|x| x.start)
            });
        let has_kind = |k: Kind| clause_hits.iter().any(|x| x.phrase.kind == k);
        let live = has_kind(Kind::Directive)
            || has_kind(Kind::Permit)
            || has_kind(Kind::Affirm)
            || has_kind(Kind::Ack);
        let clause_initial_verb = words.first().is_some_and(|(at, w)| {
            Some(*at) == asked_verb_at && !w.ends_with("ed") && !w.ends_with("ing")
        });
        let mut clause_evidence = Evidence::None;
        let mut clause_evidence_at = None;
        let clause_signals_from = signals.len();
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
                // French "dont" is "of which" ("tout ce dont j'avais besoin"), and "date" the
                // verb "dater" ("ce projet date de 2020").
                Kind::Negation | Kind::Timing if french && matches!(phrase, "dont" | "date") => {}
                // Japanese and Korean negate the verb before them ("使用していない", "필요 없어요"):
                // what follows is not what they negate.
                Kind::Negation if negates_backwards(phrase) => {
                    let mut found = signal(hit, folded);
                    let before = &folded
                        [floor_char_boundary(folded, hit.start.saturating_sub(24))..hit.start];
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
                            reason: format!(
                                "decline: \"{}\"",
                                folded[hit.start..next.end].trim_end()
                            ),
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
                        || (UNITS.contains(&phrase)
                            && is_duration(&folded[clause.start..hit.start])))
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
        for s in signals.iter_mut().skip(clause_signals_from) {
            s.sentence = sentence;
            let words = &folded[s.at.min(folded.len())..];
            let phrase_len = s
                .reason
                .split('"')
                .nth(1)
                .map_or(0, str::len)
                .min(words.len());
            s.asked_words = matches!(s.kind, Kind::Timing | Kind::Condition | Kind::Scope)
                && asked.has_phrase(&words[..phrase_len]);
        }
        // A request for the asked action itself: "please delete it", "Yes, disable 2FA",
        // "you can delete it", "削除してください", "Delete it.".
        // Words no courtesy, answer or question word explains: what a bare yes may be attached
        // to. A greeting clause and a closing name are courtesy.
        let greeting = clause.opens_sentence
            && clause_hits
                .first()
                .is_some_and(|x| x.phrase.kind == Kind::Neutral && x.start == offset);
        let closing_name = ci + 1 == clause_count && clause_hits.is_empty() && words.len() <= 3;
        let mut clause_unexplained: Vec<&str> = Vec::new();
        if !greeting && !closing_name {
            for ((_, w), kind) in words.iter().zip(&covering) {
                let explained = kind.is_some_and(|k| {
                    matches!(
                        k,
                        Kind::Affirm
                            | Kind::Ack
                            | Kind::Permit
                            | Kind::Directive
                            | Kind::Neutral
                            | Kind::Filler
                            | Kind::Action
                            | Kind::Object
                    )
                }) || asked.names_word(w)
                    || asked.is_own_verb(w)
                    || w.chars().all(|c| !c.is_alphanumeric());
                if !explained {
                    clause_unexplained.push(w);
                }
            }
        }
        // "Don't delete it", "削除しないでください" (the negation follows the verb).
        let negated = clause_hits
            .iter()
            .any(|x| matches!(x.phrase.kind, Kind::Negation | Kind::Decline));
        // A bare yes or a bare verb names the action only in a clause that says nothing else:
        // "Yes, delete it", not "Yes, the deletion failed again".
        let says_nothing_else = clause_unexplained.is_empty();
        let asks_for_it = asked_verb_at.is_some()
            && !negated
            && (has_kind(Kind::Directive)
                || has_kind(Kind::Permit)
                || (clause_initial_verb && says_nothing_else)
                || (has_kind(Kind::Affirm)
                    && clause_evidence_at < asked_verb_at
                    && says_nothing_else));
        if asks_for_it {
            clause_evidence = Evidence::Anchored;
            let at = clause_evidence_at.unwrap_or(asked_verb_at.unwrap_or(offset));
            clause_evidence_at = Some(at);
            signals.push(Signal {
                kind: Kind::Grant,
                at,
                reason: format!("grant: \"{}\"", text.trim()),
                sentence,
                asked_words: false,
                derived: false,
                gives_reason: false,
            });
        }
        // The asked verb as such, not a participle of it ("the deleted project"); without a
        // recognised verb, an action of the asked kind.
        let names_asked_action = words
            .iter()
            .any(|(_, w)| asked.is_own_verb(w) && !w.ends_with("ed") && !w.ends_with("ing"))
            || (asked.verb_stem.is_none()
                && clause_hits.iter().any(|x| {
                    x.phrase.kind == Kind::Action && x.phrase.groups & asked.actions != 0
                }));
        let clause_directed = names_asked_action
            || clause_evidence > Evidence::Ack
            || has_kind(Kind::Directive)
            || has_kind(Kind::Question);
        if let Some(d) = directed.last_mut() {
            *d |= clause_directed;
        }
        if let Some(n) = names_action.last_mut() {
            *n |= asked_verb_at.is_some();
        }
        if NOTIFY.iter().any(|p| contains_phrase(text, p))
            && let Some(n) = notify.last_mut()
        {
            *n = true;
        }
        // "I'll let you know when…" speaks to the agent: not a plan of the requester's own.
        if words.iter().any(|(_, w)| SECOND_PERSON.contains(w))
            && let Some(p) = own_plan.last_mut()
        {
            *p = false;
        }
        // "We don't use it anymore", "Não há lá nada de que precisemos": a clause of its own
        // that only says the thing is not needed or used gives a reason for the action.
        let gives_reason = !clause_directed
            && !has_kind(Kind::Ack)
            && lexicon.need.iter().any(|n| {
                // Latin stems are word prefixes; CJK ones and phrases are found anywhere.
                if n.contains(' ') || n.chars().any(is_cjk) {
                    text.contains(n.as_str())
                } else {
                    // French elides the pronoun into the verb ("l'utilise", folded "lutilise").
                    words.iter().any(|(_, w)| {
                        w.starts_with(n.as_str())
                            || (n.len() >= 5
                                && w.strip_prefix(['l', 'n', 'j', 'm', 's', 'd'])
                                    .is_some_and(|rest| rest.starts_with(n.as_str())))
                    })
                }
            });
        if gives_reason {
            for s in signals.iter_mut().skip(clause_signals_from) {
                s.gives_reason = matches!(s.kind, Kind::Negation | Kind::DeclineSoft)
                    || (s.kind == Kind::Decline && BARE_NO.contains(&quoted(&s.reason)));
            }
        }
        sentence_permits |= clause_evidence >= Evidence::Permit;
        sentence_names_action |= asked_verb_at.is_some() && !negated;
        if sentence_permits && sentence_names_action && clause_evidence < Evidence::Anchored {
            clause_evidence = Evidence::Anchored;
            clause_evidence_at.get_or_insert(offset);
        }
        if clause_evidence > Evidence::Ack && first_evidence_sentence.is_none() {
            let opening = folded[sentence_start..].trim_start();
            answer_follows_on = opens_with(opening, FOLLOW_ON);
            let lead =
                &folded[sentence_start..clause_evidence_at.unwrap_or(offset).max(sentence_start)];
            answer_marked = ANSWER_MARKERS.iter().any(|m| {
                if m.is_ascii() {
                    contains_word(lead, m)
                } else {
                    lead.contains(m)
                }
            });
        }
        if opens_with(text, CONSEQUENCE) {
            conclusion_at.get_or_insert(clause.start);
        }
        if let Some(at) = conclusion_at
            && clause_evidence >= Evidence::Permit
            && words.iter().any(|(_, w)| FIRST_PERSON.contains(w))
        {
            // One entry per sentence: every conclusion in it starts at the same clause.
            if own_conclusions.last() != Some(&(sentence, at)) {
                own_conclusions.push((sentence, at));
            }
        }
        if clause_evidence > Evidence::Ack {
            first_evidence_sentence.get_or_insert(sentence);
            if clause_evidence == Evidence::Anchored && anchored_sentences.last() != Some(&sentence)
            {
                anchored_sentences.push(sentence);
            }
            if clause_evidence >= Evidence::Permit {
                first_strong_at = first_strong_at.or(clause_evidence_at);
            }
        }
        if clause_evidence >= Evidence::Affirm {
            last_evidence_sentence = Some(sentence);
        }
        if let Some(at) = clause_evidence_at {
            first_evidence_at.get_or_insert(at);
            last_evidence_at = Some(at);
        }
        evidence = evidence.max(clause_evidence);
        unattached.extend(clause_unexplained.iter().copied());
    }
    Reading {
        signals,
        evidence,
        first_evidence_at,
        last_evidence_at,
        unattached: unattached.into_iter().take(8).collect::<Vec<_>>().join(" "),
        understood,
        first_evidence_sentence,
        first_strong_at,
        last_evidence_sentence,
        sentence_words,
        anchored_sentences,
        answer_follows_on,
        answer_marked,
        own_conclusions,
        notify: notify
            .iter()
            .zip(&names_action)
            .map(|(n, a)| *n && !*a)
            .collect(),
        names_action,
        acknowledges,
        own_plan,
        directed,
    }
}

/// Words only Spanish spells so (of the languages whose condition words it could be misread
/// with), against words only Portuguese or Italian spell so.
const SPANISH_ONLY: &[&str] = &[
    "el", "los", "las", "del", "y", "muy", "pero", "usted", "ustedes", "gracias", "hola", "pueden",
    "puede", "tienen", "también", "nosotros", "hace", "ya", "lo", "eso", "esto",
];
const PORTUGUESE_OR_ITALIAN: &[&str] = &[
    "não", "nao", "você", "vocês", "obrigado", "obrigada", "olá", "também", "pode", "podem", "il",
    "che", "grazie", "sono", "non", "è", "potete", "uma", "um", "isso", "nós", "gli",
];

/// Words only French spells so, of the languages the judge reads.
const FRENCH_ONLY: &[&str] = &[
    "je",
    "vous",
    "nous",
    "est",
    "pour",
    "avec",
    "merci",
    "bonjour",
    "les",
    "des",
    "une",
    "mais",
    "pas",
    "cest",
    "jai",
    "nai",
    "suis",
    "votre",
    "notre",
    "depuis",
    "très",
    "aussi",
    "cordialement",
];

/// Words only Italian spells so, of the languages the judge reads.
const ITALIAN_ONLY: &[&str] = &[
    "il",
    "che",
    "grazie",
    "sono",
    "della",
    "gli",
    "potete",
    "questo",
    "questa",
    "anche",
    "molto",
    "buongiorno",
    "ciao",
    "perché",
    "vostro",
    "nostro",
    "progetto",
    "salve",
    "cordiali",
    "ho",
    "io",
    "delle",
    "degli",
    "adesso",
    "ancora",
    "sì",
    "più",
    "già",
    "quindi",
];

/// Words only Portuguese spells so, of the languages the judge reads.
const PORTUGUESE_ONLY: &[&str] = &[
    "não", "nao", "você", "vocês", "obrigado", "obrigada", "olá", "sim", "minha", "meu", "projeto",
    "pra", "isso", "uma", "nós", "também", "são", "tem", "têm", "pode", "podem", "vlw", "obg",
];

/// At least two of the text's words are spelt so only in one language (`only`).
fn reads_as(folded: &str, only: &[&str]) -> bool {
    word_spans(folded)
        .filter(|(_, w)| only.contains(w))
        .take(2)
        .count()
        >= 2
}

/// The text reads as Portuguese: at least two of its words are only Portuguese.
fn is_portuguese(folded: &str) -> bool {
    reads_as(folded, PORTUGUESE_ONLY)
}

/// The text reads as Italian: at least two of its words are only Italian.
fn is_italian(folded: &str) -> bool {
    reads_as(folded, ITALIAN_ONLY)
}

/// The text reads as French: at least two of its words are only French.
fn is_french(folded: &str) -> bool {
    reads_as(folded, FRENCH_ONLY)
}

/// The text reads as Spanish rather than Portuguese or Italian (by its function words).
fn is_spanish(folded: &str) -> bool {
    let mut balance = 0i32;
    for (_, w) in word_spans(folded) {
        if SPANISH_ONLY.contains(&w) {
            balance += 1;
        } else if PORTUGUESE_OR_ITALIAN.contains(&w) {
            balance -= 1;
        }
    }
    balance > 0
}

fn signal(hit: &Hit<'_>, folded: &str) -> Signal {
    Signal {
        kind: hit.phrase.kind,
        at: hit.start,
        reason: format!(
            "{}: \"{}\"",
            hit.phrase.kind.label(),
            &folded[hit.start..hit.end]
        ),
        sentence: 0,
        asked_words: false,
        derived: false,
        gives_reason: false,
    }
}

/// Words of `text` with their byte offsets; a CJK character is a word of its own.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let cjk = is_cjk(c) && !is_hangul(c);
        if c.is_alphanumeric() && !cjk {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push((s, &text[s..i]));
        }
        if cjk {
            out.push((i, &text[i..i + c.len_utf8()]));
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out.into_iter()
}

fn is_hangul(c: char) -> bool {
    matches!(c as u32, 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F)
}

fn within_reach(gap: &str) -> bool {
    within_reach_of(gap, NEGATION_REACH)
}

/// `gap` is in one sentence and has at most `words` words (a CJK character counts as one).
/// Stops reading as soon as the answer is known, so callers may pass long gaps.
fn within_reach_of(gap: &str, words: usize) -> bool {
    let mut count = 0;
    let mut in_word = false;
    for c in gap.chars() {
        if is_sentence_end(c) {
            return false;
        }
        if is_cjk(c) {
            count += 1;
            in_word = false;
        } else if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            count += 1;
        }
        if count > words {
            return false;
        }
    }
    true
}

/// Spans of time (not moments: "for tomorrow" is a moment).
const UNITS: &[&str] = &[
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "hour",
    "hours",
    "minutes",
    "semana",
    "woche",
    "semaine",
    "settimana",
];

/// Words that make a following span of time a duration ("for two years", "durante meses").
const DURATION: &[&str] = &[
    "for", "durante", "während", "pendant", "per", "al", "took", "takes", "taken", "spent",
    "tardó", "dauerte", "duurde", "levou",
];

/// `before` (the clause up to a time word) ends in a duration opening: "for", "for two",
/// "for the last": how long something has been, not when to act.
fn is_duration(before: &str) -> bool {
    let words: Vec<&str> = before.split_whitespace().rev().take(3).collect();
    words.iter().take(3).any(|w| DURATION.contains(w))
        && words
            .iter()
            .take_while(|w| !DURATION.contains(*w))
            .all(|w| {
                w.chars().all(|c| c.is_ascii_digit())
                    || matches!(
                        *w,
                        "a" | "an"
                            | "one"
                            | "two"
                            | "three"
                            | "few"
                            | "several"
                            | "many"
                            | "the"
                            | "last"
                            | "past"
                            | "dos"
                            | "tres"
                            | "varios"
                            | "zwei"
                            | "drei"
                            | "deux"
                            | "trois"
                            | "plusieurs"
                            | "dois"
                            | "due"
                            | "tre"
                            | "twee"
                            | "drie"
                            | "paar"
                            | "meses"
                            | "anni"
                            | "jaar"
                    )
            })
}

/// A chat transcript's timestamp: a clock time or date that opens its line ("[10:02] customer:
/// …"), one in brackets right before the speaker's colon ("이민수 (15:02): …"), or any on the
/// transcript's own header line ("Chat démarré le 12/04/2024 09:15").
fn is_timestamp(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let before = &text[line_start..at];
    if before
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, '[' | '(' | '<'))
    {
        return true;
    }
    let after = &text[at..line_end];
    let bracketed_tag = before.ends_with(['(', '[']) && {
        let close = after.find([')', ']']);
        close.is_some_and(|i| after[i + 1..].trim_start().starts_with(':'))
    };
    bracketed_tag || is_chat_header(&text[line_start..line_end])
}

/// "Chat started at 16:04", "Chat iniziata alle 16:04", "채팅 시작 15:01": a transcript's header
/// line, short and naming the chat and its start.
fn is_chat_header(line: &str) -> bool {
    const CHAT: &[&str] = &[
        "chat",
        "conversation",
        "transcript",
        "conversa",
        "conversación",
        "チャット",
        "채팅",
        "聊天",
        "对话",
        "對話",
    ];
    const STARTED: &[&str] = &[
        "started",
        "start",
        "began",
        "démarré",
        "démarrée",
        "commencé",
        "commencée",
        "iniciado",
        "iniciada",
        "iniziata",
        "iniziato",
        "gestartet",
        "begonnen",
        "gestart",
        "開始",
        "开始",
        "開始",
        "시작",
    ];
    let lower = line.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '-' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .collect();
    words.len() <= 8
        && CHAT.iter().any(|c| lower.starts_with(c))
        && STARTED
            .iter()
            .any(|s| words.contains(s) || (!s.is_ascii() && lower.contains(s)))
}

/// The number at `start..end` of `text` is one part of a longer dotted number: a dot and a digit
/// on either side ("16.8" in "16.8.0"), or a "v" before it.
fn continues_dotted_number(text: &str, start: usize, end: usize) -> bool {
    let after = &text.as_bytes()[end..];
    let before = &text.as_bytes()[..start];
    (after.len() >= 2 && after[0] == b'.' && after[1].is_ascii_digit())
        || (before.len() >= 2
            && before[before.len() - 1] == b'.'
            && before[before.len() - 2].is_ascii_digit())
        || before.last().is_some_and(|b| matches!(b, b'v' | b'V'))
}

/// Dates and clock times ("on the 31st", "at 5pm", "20.01."): a moment other than now.
fn clock_and_dates(text: &str) -> Vec<Signal> {
    static MOMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:\d{1,2}(?:st|nd|rd|th)|\d{1,2}(?::\d{2})?\s?[ap]\.?m\b\.?|\d{1,2}:\d{2}|\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?|eod|eow|cob)\b|\d+\s?[日時点号시]",
        )
        .expect("literal pattern")
    });
    MOMENT
        .find_iter(text)
        .filter(|m| !is_timestamp(text, m.start()))
        // "16.8.0", "v2.1.3": part of a version number of three or more parts, no date.
        .filter(|m| !continues_dotted_number(text, m.start(), m.end()))
        // "1시간", "3時間": a number of hours, not a clock time.
        .filter(|m| !text[m.end()..].starts_with(['간', '間']))
        .map(|m| Signal {
            kind: Kind::Timing,
            at: usize::MAX,
            reason: format!("timing: \"{}\"", m.as_str()),
            sentence: usize::MAX,
            asked_words: false,
            derived: false,
            gives_reason: false,
        })
        .collect()
}

/// Projects, paths, e-mail addresses, @handles and `code` the reply names that the request does
/// not (permission for something else), or only some of several the request names (partial
/// scope).
fn other_targets(request: &str, text: &str) -> Vec<Signal> {
    let asked = targets(request);
    let named = targets(text);
    let asks_about_an_address = asked.iter().any(|(_, a)| a.contains('@'));
    let mut out = Vec::new();
    for (raw, target) in &named {
        // "Keiko Yamada / k.yamada@sakura-logi.co.jp": an address on a line of its own (a
        // signature's contact line) is no target, unless the question is about an address.
        if !asks_about_an_address && raw.contains('@') && is_contact_line(text, raw) {
            continue;
        }
        if !asked
            .iter()
            .any(|(_, a)| a == target || contains_bounded(a, target) || contains_bounded(target, a))
        {
            out.push(Signal {
                kind: Kind::Redirect,
                // Positions here are in the raw text, not the folded one: never before a
                // withdrawal.
                at: usize::MAX,
                reason: format!("other target: \"{raw}\""),
                sentence: usize::MAX,
                asked_words: false,
                derived: false,
                gives_reason: false,
            });
        }
    }
    // Partial scope: of several like things the question lists ("`a` and `b`"), the reply
    // names some but not all. A target the question names as a place ("into `org`") is not
    // one of them.
    let words = text.to_lowercase();
    if out.is_empty() {
        for set in listed_sets(request) {
            // Named as a target, or by the last part of its path as a word ("the staging one"
            // for `web/staging`).
            let is_named = |a: &String| {
                named
                    .iter()
                    .any(|(_, n)| n == a || contains_bounded(n, a) || contains_bounded(a, n))
                    || a.rsplit('/')
                        .next()
                        .filter(|tail| tail.chars().count() >= 3)
                        .is_some_and(|tail| contains_word(&words, tail))
            };
            let missing: Vec<&str> = set
                .iter()
                .filter(|(_, a)| !is_named(a))
                .map(|(raw, _)| raw.as_str())
                .collect();
            if !missing.is_empty() && missing.len() < set.len() {
                out.push(Signal {
                    kind: Kind::Scope,
                    at: usize::MAX,
                    reason: format!("scope: does not name \"{}\"", missing.join("\", \"")),
                    sentence: usize::MAX,
                    asked_words: false,
                    derived: false,
                    gives_reason: false,
                });
            }
        }
    }
    out.extend(other_role(request, &words));
    out
}

/// GitLab's roles, each by its names in the product's languages (GitLab's UI words; the
/// English ones are used in every language).
const ROLES: &[(&str, &[&str])] = &[
    (
        "owner",
        &[
            "owner",
            "owners",
            "propietario",
            "eigentümer",
            "inhaber",
            "propriétaire",
            "proprietário",
            "proprietario",
            "eigenaar",
            "オーナー",
            "所有者",
            "拥有者",
            "소유자",
        ],
    ),
    (
        "maintainer",
        &[
            "maintainer",
            "maintainers",
            "mantenedor",
            "mainteneur",
            "manutentore",
            "beheerder",
            "メンテナー",
            "メンテナ",
            "维护者",
            "維護者",
            "메인테이너",
        ],
    ),
    (
        "developer",
        &[
            "developer",
            "developers",
            "desarrollador",
            "entwickler",
            "développeur",
            "desenvolvedor",
            "sviluppatore",
            "ontwikkelaar",
            "デベロッパー",
            "開発者",
            "开发者",
            "개발자",
        ],
    ),
    (
        "reporter",
        &["reporter", "reporters", "レポーター", "报告者", "리포터"],
    ),
    (
        "guest",
        &[
            "guest",
            "guests",
            "invitado",
            "invité",
            "convidado",
            "ospite",
            "ゲスト",
            "访客",
            "게스트",
        ],
    ),
];

/// The roles `text` (lower case) names.
fn roles_named(text: &str) -> Vec<&'static str> {
    ROLES
        .iter()
        .filter(|(_, names)| {
            names.iter().any(|name| {
                // CJK, kana and Hangul words are not spaced: found as they are written.
                if name.chars().any(|c| c > '\u{2FFF}') {
                    text.contains(name)
                } else {
                    contains_word(text, name)
                }
            })
        })
        .map(|(role, _)| *role)
        .collect()
}

/// A reply that permits another role than the one asked ("you can make him maintainer" when
/// the question asked for Owner) permits something else: unclear, whatever it grants.
fn other_role(request: &str, reply: &str) -> Option<Signal> {
    let asked = roles_named(&request.to_lowercase());
    let named = roles_named(reply);
    if asked.is_empty() || named.is_empty() || named.iter().any(|r| asked.contains(r)) {
        return None;
    }
    Some(role_signal(&named, &asked, usize::MAX, usize::MAX))
}

/// "Permits something else": `other` roles named where `asked` were asked.
fn role_signal(other: &[&str], asked: &[&str], at: usize, sentence: usize) -> Signal {
    Signal {
        kind: Kind::Redirect,
        at,
        reason: format!(
            "other role: \"{}\" (asked: {})",
            other.join("\", \""),
            asked.join(", ")
        ),
        sentence,
        asked_words: false,
        derived: false,
        gives_reason: false,
    }
}

/// Permission whose own words name another role than the one asked ("no need for owner, you
/// can make him maintainer"): it permits something else.
fn role_in_grant(request: &str, signals: &[Signal]) -> Option<Signal> {
    // A role change names two ("from Developer to Owner"): a role the question does not name
    // at all is another one.
    let asked = roles_named(&request.to_lowercase());
    if asked.is_empty() {
        return None;
    }
    signals
        .iter()
        .filter(|s| matches!(s.kind, Kind::Permit | Kind::Grant | Kind::Directive))
        .find_map(|s| {
            let named = roles_named(&quoted(&s.reason).to_lowercase());
            let other: Vec<&str> = named.into_iter().filter(|r| !asked.contains(r)).collect();
            (!other.is_empty()).then(|| role_signal(&other, &asked, s.at, s.sentence))
        })
}

/// Runs of targets the question lists together ("`a`, `b` and `c`").
fn listed_sets(request: &str) -> Vec<Vec<(String, String)>> {
    static JOINER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\s*(?:,|;|&|and|or|y|e|et|und|oder|ou|o|和|及|与|與|및|과|와|、|，)?\s*(?:,\s*)?(?:and|y|e|et|und)?\s*$")
            .expect("literal pattern")
    });
    let found = target_spans(request);
    let mut sets: Vec<Vec<(String, String)>> = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    let mut last_end = None;
    for (start, end, raw, target) in found {
        let joined = last_end.is_some_and(|e: usize| JOINER.is_match(&request[e..start]));
        if !joined && current.len() > 1 {
            sets.push(std::mem::take(&mut current));
        } else if !joined {
            current.clear();
        }
        current.push((raw, target));
        last_end = Some(end);
    }
    if current.len() > 1 {
        sets.push(current);
    }
    sets
}

/// Whether every line of `text` that holds `address` holds little else (a name, a label such
/// as "E-mail:", a phone number): a contact line, not a sentence naming a target.
fn is_contact_line(text: &str, address: &str) -> bool {
    text.lines()
        .filter(|line| line.contains(address))
        .all(|line| {
            line.replace(address, " ")
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .count()
                <= 4
        })
}

/// The byte range of the sentence the clause around byte `at` belongs to.
fn sentence_span(clauses: &[Clause], at: usize) -> (usize, usize) {
    let Some(here) = clauses.iter().rposition(|c| c.start <= at) else {
        return (0, 0);
    };
    let first = clauses[..=here]
        .iter()
        .rposition(|c| c.opens_sentence)
        .unwrap_or(0);
    let last = clauses[here + 1..]
        .iter()
        .position(|c| c.opens_sentence)
        .map_or(clauses.len() - 1, |n| here + n);
    (clauses[first].start, clauses[last].stop)
}

/// The sentence at `span` names one of the question's targets or a thing of the kind the
/// question asks about.
fn names_asked_thing(
    folded: &str,
    (start, end): (usize, usize),
    asked: &AskedAction,
    hits: &[Hit<'_>],
) -> bool {
    let sentence = &folded[start..end];
    asked
        .target_words
        .iter()
        .any(|w| contains_word(sentence, w))
        || hits.iter().any(|h| {
            h.phrase.kind == Kind::Object
                && h.phrase.groups & asked.objects != 0
                && (start..end).contains(&h.start)
        })
}

/// Targets in `text`: (as written, lower case, without a leading `@`).
fn targets(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (_, _, raw, target) in target_spans(text) {
        if !out.iter().any(|(_, t)| *t == target) {
            out.push((raw, target));
        }
    }
    out
}

/// Targets in `text` with their byte ranges, in order.
fn target_spans(text: &str) -> Vec<(usize, usize, String, String)> {
    static TARGET: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"`([^`\n]{1,200})`|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@[A-Za-z0-9_.-]+|[\w.-]+(?:/[\w.-]+)+",
        )
        .expect("literal pattern")
    });
    const COMMON: &[&str] = &[
        "and/or",
        "or/and",
        "n/a",
        "w/o",
        "he/she",
        "s/he",
        "his/her",
        "heer/mevrouw",
        "ci/cd",
        "a/s",
        "i/o",
        "24/7",
    ];
    let mut out = Vec::new();
    for m in TARGET.captures_iter(text) {
        let Some(whole) = m.get(0) else { continue };
        let raw = m.get(1).map_or(whole.as_str(), |g| g.as_str());
        let target = raw
            .trim_matches(['.', '-'])
            .trim_start_matches('@')
            .to_lowercase();
        if !target.chars().any(char::is_alphabetic) || COMMON.contains(&target.as_str()) {
            continue;
        }
        out.push((whole.start(), whole.end(), raw.to_string(), target));
    }
    out
}

/// `word` occurs in `text` between non-alphanumeric characters.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `needle` occurs in `haystack` as a whole name ("acme/legacy" is not in "acme/legacy-v2").
fn contains_bounded(haystack: &str, needle: &str) -> bool {
    // A trailing part of a path names the same thing ("old-wiki" in "nordic/old-wiki").
    let joins_before = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    let joins_after = |c: char| joins_before(c) || c == '/';
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(joins_before) && !after.is_some_and(joins_after)
    })
}
