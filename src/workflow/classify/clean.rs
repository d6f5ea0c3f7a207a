//! Turns a ticket's raw text into what the rules should see: the requester's own words, without
//! quoted history or signatures, NFKC-normalised and lower-cased.
//!
//! Quoted history and signatures carry words that are not the request (an earlier agent reply
//! mentioning "2FA", a job title like "Project Manager"), so they are cut before scoring.

use crate::workflow::text::nfkc;
use regex::Regex;
use std::sync::LazyLock;

/// A line that introduces quoted history; everything from it on is dropped.
static QUOTE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            -{2,}\s*(?:original\s+message|forwarded\s+message|ursprüngliche\s+nachricht|mensaje\s+original|message\s+d'origine|mensagem\s+original|messaggio\s+originale|oorspronkelijk\s+bericht|doorgestuurd\s+bericht|원본\s*메시지|전달된\s*메시지)\s*-{2,}
          | _{10,}
          | (?:on|am|le|el|em|il|op)\s.{4,200}?\s(?:wrote|schrieb|a\s+écrit|escribió|escreveu|ha\s+scritto|schreef)(?:\s.{0,200})?\s*:
          | .{0,200}(?:のメッセージ|さんは書きました|写道|님이\s*작성|작성\s*함)\s*[:：]
        )\s*$",
    )
    .expect("static pattern")
});

/// The first line of an Outlook-style header block (`From:` followed by `Sent:`/`To:` lines).
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(?:from|de|von|da|van|差出人|发件人|보낸\s*사람)\s*\*?\s*[:：]")
        .expect("static pattern")
});
static HEADER_NEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*\*?(?:sent|date|to|subject|enviado|fecha|para|asunto|gesendet|datum|an|betreff|envoyé|à|objet|assunto|inviato|oggetto|verzonden|aan|onderwerp|送信日時|宛先|件名|发送时间|收件人|主题|보낸\s*날짜|받는\s*사람|제목)\s*\*?\s*[:：]",
    )
    .expect("static pattern")
});

/// A line that starts a signature or a mobile-client footer; everything from it on is dropped.
static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            --\s*
          | (?:sent|enviado|envoyé|gesendet|inviato|verzonden)\s+(?:from|desde|de|von|da|do|vanaf|met)\s+(?:my|mi|mon|meinem|meu|il\s+mio|mijn)\s+\S+.*
          | von\s+meinem\s+\S+\s+gesendet.*
          | get\s+outlook\s+for\s+\S+
          | (?:best|kind|warm|many\s+thanks\s+and)?\s*regards,?
          | (?:best|cheers|thanks|thank\s+you|thx|sincerely|br|mfg),?
          | (?:mit\s+freundlichen\s+grüßen|viele\s+grüße|beste\s+grüße|lg|grüße),?
          | (?:cordialement|bien\s+cordialement|merci|bien\s+à\s+vous|salutations),?
          | (?:saludos|un\s+saludo|atentamente|gracias|saludos\s+cordiales),?
          | (?:atenciosamente|abraços|obrigad[oa]|cumprimentos),?
          | (?:cordiali\s+saluti|distinti\s+saluti|saluti|un\s+saluto|grazie(?:\s+mille)?),?
          | (?:met\s+vriendelijke\s+groet(?:en)?|vriendelijke\s+groet(?:en)?|groet(?:en|jes)?|(?:alvast\s+)?bedankt),?
          | (?:감사합니다|고맙습니다)\.?
          | よろしくお願い(?:いた)?します。?
          | 谢谢[!！。]?|此致
        )\s*$",
    )
    .expect("static pattern")
});

/// The requester's own words from a ticket body.
pub fn new_text(body: &str) -> String {
    split_thread(body).0
}

/// A reply this short (in words) is a follow-up that leans on the thread ("still no luck",
/// "yes please go ahead"): the quoted history is judged after it.
const FOLLOW_UP_WORDS: usize = 25;

/// The requester's own words and the quoted history (inline `>` lines and everything below a
/// reply header, without the `>`); signatures belong to neither.
fn split_thread(body: &str) -> (String, String) {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut history: Vec<&str> = Vec::new();
    let mut own_ended = false;
    for (i, line) in lines.iter().enumerate() {
        if let Some(quoted) = line.trim_start().strip_prefix('>') {
            // Inline quotes are skipped, not cut: people answer between quoted lines.
            history.push(quoted.trim_start_matches('>'));
            continue;
        }
        if may_be_header(line) && (QUOTE_HEADER.is_match(line) || is_outlook_header(&lines[i..])) {
            history.extend(lines[i + 1..].iter().map(|l| unquote(l)));
            break;
        }
        // A closing line only ends the text when something already came before it; a ticket
        // that opens with "Thanks," still has its request below.
        if !own_ended && SIGNATURE.is_match(line) && kept.iter().any(|l| !l.trim().is_empty()) {
            own_ended = true;
        }
        if !own_ended {
            kept.push(line);
        }
    }
    let own = kept.join("\n");
    let history = history.join("\n");
    if own.trim().is_empty() {
        // A bare forward: the quoted text is all there is, so judge that rather than nothing.
        return (
            lines
                .iter()
                .map(|l| unquote(l))
                .collect::<Vec<_>>()
                .join("\n"),
            String::new(),
        );
    }
    (own, history)
}

fn unquote(line: &str) -> &str {
    line.trim_start().trim_start_matches('>')
}

/// Every reply header ends in a colon or is a line of dashes or underscores. Most lines have
/// none of them, and the header patterns are costly on long lines (`.{0,200}` before a verb).
fn may_be_header(line: &str) -> bool {
    line.contains([':', '：']) || line.contains("--") || line.contains("__")
}

fn is_outlook_header(rest: &[&str]) -> bool {
    HEADER_FROM.is_match(rest[0]) && rest.iter().skip(1).take(4).any(|l| HEADER_NEXT.is_match(l))
}

/// NFKC (full-width letters and digits become ASCII), typographic apostrophes straightened,
/// lower case, runs of whitespace collapsed.
pub fn normalise(text: &str) -> String {
    // Lower-casing the whole string (not char by char) keeps the final-sigma rule.
    let folded: String = nfkc(text)
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02bc}' | '`' | '´' => '\'',
            other => other,
        })
        .collect::<String>()
        .to_lowercase();
    let mut out = String::with_capacity(folded.len());
    for word in folded.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Subject and cleaned description as one normalised text.
pub fn prepare(subject: &str, description: &str) -> String {
    let own = new_text(description);
    let mut text = String::with_capacity(subject.len() + 1 + own.len());
    text.push_str(subject);
    text.push('\n');
    text.push_str(&own);
    normalise(&text)
}

/// For a short reply above quoted history, the prepared text followed by that history: what a
/// bare follow-up ("still no luck, the email never comes") is about. None otherwise.
pub fn prepare_follow_up(subject: &str, description: &str) -> Option<String> {
    let (own, history) = split_thread(description);
    if own.split_whitespace().count() >= FOLLOW_UP_WORDS || history.trim().is_empty() {
        return None;
    }
    Some(normalise(&format!("{subject}\n{own}\n{history}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_quoted_history_and_reply_headers() {
        let body = "Please delete gitlab.com/a/b.\n\nOn Mon, 3 Jun 2024 at 10:00, Support <s@x.com> wrote:\n> Did you lose your 2FA device?\n> thanks";
        assert_eq!(new_text(body).trim(), "Please delete gitlab.com/a/b.");
        let fr = "Merci de supprimer le groupe.\nLe lun. 3 juin 2024 à 10:00, Support a écrit :\nvotre compte 2FA";
        assert!(!new_text(fr).contains("2FA"));
        let de = "Bitte Projekt löschen.\nAm 03.06.2024 um 10:00 schrieb Support <s@x.com>:\nKonto gesperrt";
        assert!(!new_text(de).contains("gesperrt"));
    }

    #[test]
    fn drops_outlook_headers_and_original_message() {
        let body = "I still can't log in.\n\nFrom: GitLab Support\nSent: Monday\nTo: me\nSubject: project transfer";
        assert!(!new_text(body).contains("transfer"));
        let body = "Unlock it please\n-----Original Message-----\nproject";
        assert!(!new_text(body).contains("project"));
        let body = "Unlock it please\n________________________________\nproject";
        assert!(!new_text(body).contains("project"));
        // "From:" alone is not a header block.
        let body = "From: my phone I see an error.\nPlease delete the group.";
        assert!(new_text(body).contains("delete the group"));
    }

    #[test]
    fn drops_signatures_but_not_an_opening_thanks() {
        let body = "Thanks,\nmy 2FA device is gone.\n\nBest regards,\nJane\nProject Manager";
        let t = new_text(body);
        assert!(t.contains("2FA device"));
        assert!(!t.contains("Project Manager"));
        assert!(!new_text("help me\n-- \nAcme Group Inc").contains("Group"));
        assert!(!new_text("help\nSent from my iPhone\nproject").contains("project"));
    }

    #[test]
    fn a_bare_follow_up_is_judged_with_the_history_it_answers() {
        let body = "Still no luck, the email never comes.\n\nOn Mon, 3 Jun 2024, Support wrote:\n> Did you try the password reset for your account?";
        assert!(!prepare("Re: Re: account", body).contains("password"));
        let thread = prepare_follow_up("Re: Re: account", body).unwrap();
        assert!(
            thread.starts_with("re: re: account still no luck")
                && thread.contains("password reset")
        );
        let long = format!(
            "{}\n> password reset",
            "I need the project moved please. ".repeat(6)
        );
        assert_eq!(prepare_follow_up("Re: move", &long), None);
        assert_eq!(prepare_follow_up("Re: move", "no history here"), None);
    }

    #[test]
    fn italian_dutch_and_korean_reply_headers_and_signatures() {
        let it = "Grazie, ripristinate il progetto.\nIl giorno lun 3 giu 2024 alle 10:00 Support ha scritto:\naccount";
        assert!(!new_text(it).contains("account"));
        let nl = "Herstel het project aub.\nOp ma 3 jun. 2024 om 10:00 schreef Support <s@x.com>:\naccount";
        assert!(!new_text(nl).contains("account"));
        let ko = "프로젝트를 복원해 주세요.\n2024년 6월 3일 (월) 오전 10:00, Support <s@x.com>님이 작성:\naccount";
        assert!(!new_text(ko).contains("account"));
        assert!(!new_text("aiuto\nCordiali saluti\nMario, Project Manager").contains("Project"));
        assert!(!new_text("hulp\nMet vriendelijke groet,\nJan, Group lead").contains("Group"));
    }

    #[test]
    fn keeps_a_bare_forward() {
        assert!(new_text("> I lost my phone").contains("I lost my phone"));
    }

    #[test]
    fn normalises_width_case_and_apostrophes() {
        assert_eq!(normalise("Can’t  use ２ＦＡ"), "can't use 2fa");
        // Already-normalised text skips NFKC; case and the final sigma are still folded.
        assert_eq!(normalise(" Café\n\tÀ  ΟΔΟΣ `x’ "), "café à οδος 'x'");
    }
}
