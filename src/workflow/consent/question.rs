//! Finding an agent's permission question and the action it asks about, verbatim.

use super::PermissionQuestion;
use super::lexicon::Lexicon;
use regex::{Regex, RegexBuilder};
use std::sync::LazyLock;

/// The question openings of the rules file as one case-insensitive pattern.
static LEADS: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives: Vec<String> = Lexicon::builtin()
        .question_leads
        .iter()
        .map(|lead| {
            let spaced = lead.trim_end().replace(' ', r"\s+");
            // A lead ending in a space needs white space before the action.
            let tail = if lead.ends_with(' ') { r"\s+" } else { "" };
            format!("(?:{}{tail})", spaced.replace(['\'', '’'], "['’]"))
        })
        .collect();
    // The rules are compiled in and covered by tests, so failing here is a build defect.
    RegexBuilder::new(&format!(r"\b(?:{})", alternatives.join("|")))
        .case_insensitive(true)
        .build()
        .expect("question leads in rules/consent.toml are valid")
});

/// Finds the first permission question in `body`.
pub fn recognise_question(body: &str) -> Option<PermissionQuestion> {
    for lead in LEADS.find_iter(body) {
        let rest = &body[lead.end()..];
        let Some((action_len, terminator_len)) = action_extent(rest) else {
            continue;
        };
        let action = rest[..action_len].trim();
        if action.is_empty() {
            continue;
        }
        let start = sentence_start(body, lead.start());
        let end = lead.end() + action_len + terminator_len;
        return Some(PermissionQuestion {
            action: action.to_string(),
            question: body[start..end].trim().to_string(),
        });
    }
    None
}

/// Why the agent's message asked more than the permission `question`, if it did: another
/// question in `full_comment`, or a question that itself follows on from another ("If so, …",
/// "Also, …", "2. …").
pub fn other_things_asked(question: &str, full_comment: Option<&str>) -> Option<String> {
    let lexicon = Lexicon::builtin();
    let folded = super::lexicon::fold(question.trim());
    let opening = folded.trim_start_matches(|c: char| !c.is_alphanumeric());
    if let Some(lead) = lexicon.question_follow_ups.iter().find(|lead| {
        opening.strip_prefix(lead.as_str()).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| !c.is_alphanumeric()) || !lead.is_ascii()
        })
    }) {
        return Some(format!("the question opens with \"{lead}\""));
    }
    if question.matches(['?', '？']).count() > 1 {
        return Some("the question sentence asks twice".to_string());
    }
    let others = other_sentences(question, full_comment?);
    others.first().map(|first| {
        let shown: String = first.trim().chars().take(80).collect();
        format!("also \"{shown}\"")
    })
}

/// The other things the agent's comment asks that a yes could answer.
fn other_sentences<'c>(question: &str, comment: &'c str) -> Vec<&'c str> {
    let asked = squash(question);
    sentences(comment)
        .filter(|s| {
            let own = squash(s);
            !own.is_empty() && !asked.contains(&own) && !own.contains(&asked)
        })
        .filter(|s| is_question_or_request(s))
        // "Since when does it happen?" cannot be answered by a yes or a "go ahead": only a
        // question a yes could answer competes with the permission question for it.
        .filter(|s| !asks_for_information(s))
        .collect()
}

/// Whether explicit permission ("go ahead", "you have my permission") could answer one of the
/// other things the agent asked (see [`other_things_asked`]): a question, a request for a
/// confirmation or a permission, or a question that follows on from another. A request for
/// something the requester is to do or send ("Please send us the job log") takes a yes ("yes,
/// attached"), never a "go ahead".
pub fn permission_may_answer_another(question: &str, full_comment: Option<&str>) -> bool {
    let Some(comment) = full_comment else {
        return other_things_asked(question, None).is_some();
    };
    if other_things_asked(question, None).is_some() {
        return true;
    }
    // Words of confirming, permitting or deciding, in the product's languages (Dutch "of",
    // "whether", only before its subject: English spells "of" too).
    const DECIDING: &[&str] = &[
        "confirm",
        "permission",
        "permit",
        "allow",
        "authori",
        "approv",
        "agree",
        " ok",
        "okay",
        "whether",
        " if ",
        "would you like",
        "do you want",
        "bestätig",
        "erlaub",
        "zustimm",
        "einverstanden",
        " ob ",
        "permis",
        "autoriz",
        "autoris",
        "accord",
        "acuerdo",
        "acordo",
        "d'accordo",
        "consenso",
        "consentimiento",
        "consentement",
        "toestemming",
        "bevestig",
        "akkoord",
        " of u ",
        " of je ",
        " of jullie ",
        " of we ",
        " of wij ",
        " of de ",
        " of het ",
        " si ",
        " se ",
        "確認",
        "許可",
        "承認",
        "同意",
        "确认",
        "允许",
        "允許",
        "授权",
        "授權",
        "확인",
        "허락",
        "동의",
        "승인",
        "권한",
    ];
    other_sentences(question, comment).iter().any(|s| {
        let lower = format!(" {} ", s.to_lowercase());
        s.trim_end().ends_with(['?', '？']) || DECIDING.iter().any(|w| lower.contains(w))
    })
}

/// The item number ("2." or "2)") the agent's message gave the permission `question`, if the
/// message numbers its questions.
fn item_number(question: &str, full_comment: &str) -> Option<u32> {
    let asked = squash(question);
    if asked.is_empty() {
        return None;
    }
    full_comment.lines().find_map(|line| {
        let (number, rest) = numbered(line)?;
        let own = squash(rest);
        (!own.is_empty() && (own.contains(&asked) || asked.contains(&own))).then_some(number)
    })
}

/// A line opening with an item number ("2. …", "2) …", "2- …", "2: …"): the number and the rest.
fn numbered(line: &str) -> Option<(u32, &str)> {
    static ITEM: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\s*(\d{1,2})\s*[.):-]\s+").expect("literal pattern"));
    let m = ITEM.captures(line)?;
    let number = m.get(1)?.as_str().parse().ok()?;
    Some((number, &line[m.get(0)?.end()..]))
}

/// When the agent numbered its questions and the reply answers by number ("1. yes, …⏎2. yes,
/// go ahead"), the reply without the answers to the other numbers: they answer something else.
/// `None` when the reply does not answer the permission question's number.
pub fn numbered_answer(question: &str, full_comment: Option<&str>, reply: &str) -> Option<String> {
    let number = item_number(question, full_comment?)?;
    let mut kept = String::with_capacity(reply.len());
    let mut answers_it = false;
    // Inside an answer to another number, up to the next number or a blank line.
    let mut skipping = false;
    for line in reply.split_inclusive('\n') {
        if let Some((n, _)) = numbered(line) {
            skipping = n != number;
            answers_it |= n == number;
        } else if line.trim().is_empty() {
            skipping = false;
        }
        if !skipping {
            kept.push_str(line);
        }
    }
    answers_it.then_some(kept)
}

/// Sentences of a comment, by terminator or line, quoted lines left out.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('>'))
        .flat_map(|line| line.split_inclusive(['?', '？', '.', '!', '。']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Letters and digits only, lower case: to find the question sentence again in the comment.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A sentence that asks the requester something: a question, or a request for an answer or an
/// action ("Please send us …"). The handbook's closing sentence is neither.
fn is_question_or_request(sentence: &str) -> bool {
    static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
        RegexBuilder::new(
            r"^(?:\W*)(?:could you |can you |would you )?(?:please |kindly )?(?:confirm|send|provide|share|reply|respond|let (?:us|me) know|tell us|try|check|verify|clear|attach|upload|run|update|answer)",
        )
        .case_insensitive(true)
        .build()
        .expect("literal pattern")
    });
    let s = sentence.trim();
    let lower = s.to_lowercase();
    // "Please also send us …", "Bitte senden Sie …", "Merci de nous envoyer …": a request,
    // unless it only asks to take note.
    const POLITE: &[&str] = &[
        "please ",
        "kindly ",
        "bitte ",
        "por favor",
        "merci de ",
        "veuillez ",
        "per favore",
        "por gentileza",
        "graag ",
        "请",
        "請",
    ];
    const NOTE: &[&str] = &[
        "note",
        "be ",
        "bear",
        "keep in mind",
        "allow",
        "see ",
        "find",
        "feel",
        "beachten",
        "noter",
        "notare",
        "notar",
        "tenga",
        "houd",
        "注意",
        "don",
        "do not",
    ];
    if let Some(rest) = POLITE.iter().find_map(|p| lower.strip_prefix(p)) {
        let rest = rest
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .trim_start_matches("also ");
        let about_permission = lower.contains("permission") || lower.contains("confirm");
        if !NOTE.iter().any(|n| rest.starts_with(n)) && !about_permission {
            return true;
        }
    }
    if lower.contains("replying in this ticket") || lower.contains("will be sufficient") {
        return false;
    }
    // Korean and Japanese put the request at the end ("확인 부탁드립니다", "ご確認ください");
    // "よろしくお願いします" only closes the message.
    const POLITE_ENDINGS: &[&str] = &[
        "부탁드립니다",
        "부탁드려요",
        "부탁합니다",
        "주세요",
        "주십시오",
        "바랍니다",
        "ください",
        "下さい",
        "お願いします",
        "お願いいたします",
        "お願い致します",
    ];
    let unterminated = s.trim_end_matches(|c: char| !c.is_alphanumeric());
    if POLITE_ENDINGS.iter().any(|e| unterminated.ends_with(e)) && !s.contains("よろしく") {
        return true;
    }
    if lower.contains("if you have any") || lower.contains("let us know if") {
        return false;
    }
    s.ends_with(['?', '？']) || REQUEST.is_match(s)
}

/// Question words that ask for a piece of information (when, which, how …), by language.
/// German "was" is left out: English spells a yes-or-no question with it ("Was it working?").
/// Latin ones must open the question or follow "tell us" / "let us know"; CJK and Hangul ones
/// may sit anywhere, since those languages keep the question word in place.
const INFORMATION_WORDS: &[&str] = &[
    "what",
    "which",
    "when",
    "where",
    "who",
    "whom",
    "whose",
    "why",
    "how",
    "since when",
    "qué",
    "cuál",
    "cuáles",
    "cuándo",
    "dónde",
    "quién",
    "quiénes",
    "por qué",
    "cómo",
    "desde cuándo",
    "cuánto",
    "cuántos",
    "qual",
    "quais",
    "quando",
    "onde",
    "quem",
    "por que",
    "como",
    "desde quando",
    "quanto",
    "quantos",
    "welche",
    "welcher",
    "welches",
    "welchen",
    "wann",
    "wo",
    "wer",
    "warum",
    "wieso",
    "weshalb",
    "seit wann",
    "wie",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "quand",
    "où",
    "pourquoi",
    "comment",
    "depuis quand",
    "combien",
    "quale",
    "quali",
    "dove",
    "chi",
    "perché",
    "come",
    "da quando",
    "wat",
    "welk",
    "welke",
    "wanneer",
    "waar",
    "waarom",
    "hoe",
    "sinds wanneer",
    "hoeveel",
];
const INFORMATION_WORDS_CJK: &[&str] = &[
    "いつ",
    "どの",
    "どこ",
    "どれ",
    "どちら",
    "どう",
    "なぜ",
    "誰",
    "いくつ",
    "什么时候",
    "何时",
    "哪",
    "为什么",
    "為什麼",
    "怎么",
    "怎麼",
    "多少",
    "谁",
    "誰",
    "언제",
    "어떤",
    "어디",
    "무엇",
    "왜",
    "어떻게",
    "누가",
    "몇",
];

/// The sentence is a question for a piece of information ("Which browser are you using?",
/// "Could you tell us when it started?", "問題はいつ頃から発生していますか？"), not one a yes
/// answers. A Chinese question closed by 吗 asks yes or no whatever words it holds.
fn asks_for_information(sentence: &str) -> bool {
    let s = sentence.trim();
    if !s.ends_with(['?', '？']) {
        return false;
    }
    if s.chars().any(super::lexicon::is_cjk) {
        let body = s.trim_end_matches(['?', '？', ' ']);
        return !body.ends_with(['吗', '嗎'])
            && INFORMATION_WORDS_CJK.iter().any(|w| body.contains(w));
    }
    let words: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let opens_with = |from: usize| {
        INFORMATION_WORDS.iter().any(|q| {
            let q: Vec<&str> = q.split(' ').collect();
            words.len() >= from + q.len() && words[from..from + q.len()] == q[..]
        })
    };
    // "Also, which …", "And when …": a joining word before the question word.
    let start = usize::from(words.first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "also" | "and" | "y" | "e" | "und" | "et" | "en" | "ed"
        )
    }));
    if opens_with(start) {
        return true;
    }
    // "Could you tell us when …", "Können Sie uns sagen, seit wann …": an embedded question.
    const TELL: &[&str] = &[
        "tell",
        "know",
        "sagen",
        "mitteilen",
        "decir",
        "indicar",
        "dire",
        "indiquer",
        "dizer",
        "informar",
        "dirci",
        "indicarci",
        "vertellen",
        "laten",
    ];
    words.iter().enumerate().take(8).any(|(i, w)| {
        TELL.contains(&w.as_str()) && (i + 1..(i + 4).min(words.len())).any(opens_with)
    })
}

/// Length of the action in `rest` and of its terminator: up to the first question mark outside
/// `code`, within the paragraph; failing that, up to the end of the sentence.
fn action_extent(rest: &str) -> Option<(usize, usize)> {
    let paragraph_end = rest.find("\n\n").or_else(|| rest.find("\r\n\r\n"));
    let paragraph = &rest[..paragraph_end.unwrap_or(rest.len())];
    let mut in_code = false;
    let mut sentence_end = None;
    let mut chars = paragraph.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' => in_code = !in_code,
            '?' | '？' if !in_code => return Some((i, c.len_utf8())),
            '.' | '!' | '。' if !in_code && sentence_end.is_none() => {
                let next = chars.peek().map(|(_, n)| *n);
                if next.is_none_or(char::is_whitespace) {
                    sentence_end = Some((i, c.len_utf8()));
                }
            }
            _ => {}
        }
    }
    sentence_end.or_else(|| (!paragraph.trim().is_empty()).then_some((paragraph.len(), 0)))
}

/// Start of the sentence containing byte `at`: after the previous terminator or line break.
fn sentence_start(body: &str, at: usize) -> usize {
    let before = &body[..at];
    let cut = before
        .char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '.' | '!' | '?' | '\n' | '。' | '？' | '！'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let skipped = body[cut..at].len() - body[cut..at].trim_start().len();
    cut + skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(body: &str) -> Option<String> {
        recognise_question(body).map(|q| q.action)
    }

    #[test]
    fn handbook_phrases_keep_the_action_verbatim() {
        let body = "Hi Ana,\n\nThanks for the details. Could you please provide permission for staff to re-run one or more pipelines in project `xyz` to investigate the issue you've described?\n\nReplying in this ticket stating you provide permission will be sufficient.\n\nBest,\nSam";
        let q = recognise_question(body).unwrap();
        assert_eq!(
            q.action,
            "re-run one or more pipelines in project `xyz` to investigate the issue you've described"
        );
        assert_eq!(
            q.question,
            "Could you please provide permission for staff to re-run one or more pipelines in project `xyz` to investigate the issue you've described?"
        );
        let body = "Could you please confirm that you would like us to add `example@email.address` to your account and make it the _primary_ email address?";
        assert_eq!(
            action(body).unwrap(),
            "add `example@email.address` to your account and make it the _primary_ email address"
        );
    }

    #[test]
    fn close_variants_are_recognised() {
        for (body, expected) in [
            (
                "Can you please confirm you'd like us to delete `a/b`?",
                "delete `a/b`",
            ),
            (
                "Can you please confirm you’d like us to delete it?",
                "delete it",
            ),
            (
                "Please confirm that you give us permission to unlock the file.",
                "unlock the file",
            ),
            (
                "Do we have your permission to restore `g/m`?",
                "restore `g/m`",
            ),
            (
                "Could you provide permission for GitLab Support to move `p/x` into `org`?",
                "move `p/x` into `org`",
            ),
            (
                "Can you confirm that you want us to disable 2FA ?",
                "disable 2FA",
            ),
            (
                "So, would you kindly give us your explicit permission to archive `old`?",
                "archive `old`",
            ),
            (
                "Could you confirm whether you would like us to remove the lock on `v1.2.lock`?",
                "remove the lock on `v1.2.lock`",
            ),
        ] {
            assert_eq!(action(body).as_deref(), Some(expected), "{body}");
        }
    }

    #[test]
    fn question_sentence_spans_the_whole_sentence() {
        let q = recognise_question(
            "Thanks! So, could you please confirm that you would like us to delete it? Cheers",
        )
        .unwrap();
        assert_eq!(
            q.question,
            "So, could you please confirm that you would like us to delete it?"
        );
    }

    #[test]
    fn other_things_in_the_message_are_found() {
        let q = "Could you please provide permission for staff to clear the stuck import?";
        assert_eq!(other_things_asked(q, None), None);
        let full = format!(
            "Hi,\n\nIs the affected project `prism/data-import`? {q}\n\nReplying in this ticket stating you provide permission will be sufficient."
        );
        assert!(
            other_things_asked(q, Some(&full))
                .unwrap()
                .contains("prism/data-import")
        );
        let alone = format!(
            "Hi Ana,\n\nThanks. {q}\n\nReplying in this ticket stating you provide permission will be sufficient.\n\nBest,\nSam"
        );
        assert_eq!(other_things_asked(q, Some(&alone)), None);
        for follow_up in [
            "If so, could you please provide permission for staff to clear it?",
            "Also, could you please confirm that you would like us to delete it?",
            "Además, ¿podría confirmar que desea que eliminemos el grupo?",
            "Inoltre, potrebbe confermare che desidera che cambiamo l'email?",
            "2. Could you please provide permission for staff to transfer it?",
        ] {
            assert!(other_things_asked(follow_up, None).is_some(), "{follow_up}");
        }
    }

    #[test]
    fn a_question_for_information_does_not_compete_for_a_yes() {
        let q = "Could you please provide permission for staff to clear the stuck import?";
        for other in [
            "Which browser are you using?",
            "Since when does the problem happen, roughly?",
            "Could you tell us when the problem started?",
            "Desde quando o problema acontece, mais ou menos?",
            "Seit wann besteht das Problem ungefähr?",
            "Sinds wanneer speelt het probleem ongeveer?",
            "問題はいつ頃から発生していますか？",
            "问题是从什么时候开始的？",
            "언제부터 문제가 발생했나요?",
        ] {
            let full = format!("Hi,\n\n{other}\n\n{q}\n\nBest,\nSam");
            assert_eq!(other_things_asked(q, Some(&full)), None, "{other}");
        }
        // A question a yes answers still does: the yes may be for it.
        for other in [
            "Was the import started from the UI?",
            "Are there scheduled deployments we should avoid?",
            "Zijn er geplande deployments waar we rekening mee moeten houden?",
            "你有什么其他问题吗？",
            "Can you confirm you are aware of that?",
        ] {
            let full = format!("Hi,\n\n{other}\n\n{q}\n\nBest,\nSam");
            assert!(other_things_asked(q, Some(&full)).is_some(), "{other}");
        }
    }

    #[test]
    fn other_questions_are_not_permission_questions() {
        for body in [
            "Could you please confirm your username?",
            "Please confirm the email address on the account.",
            "Can you confirm that you see the error on the settings page?",
            "What do you see when you open the page?",
            "Replying in this ticket stating you provide permission will be sufficient.",
        ] {
            assert_eq!(recognise_question(body), None, "{body}");
        }
    }
}
