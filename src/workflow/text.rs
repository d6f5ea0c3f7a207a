//! Reply text clean-up: finds the part of an e-mail reply that the requester actually wrote.
//!
//! The result is always a trimmed slice of the original body, because it goes verbatim into the
//! audit trail: a rewritten quote would no longer prove what the customer said.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The new text of a reply: quoted history, signatures and mail boilerplate removed.
pub fn new_text(body: &str) -> String {
    new_text_span(body).to_string()
}

/// Like [`new_text`], borrowed from `body`.
///
/// Leading quotes (bottom-posted replies) are skipped; the span ends at the first reply header,
/// forwarded/original-message marker, signature delimiter, mobile signature, disclaimer or
/// stand-alone sign-off. A `>` block followed by more of the requester's text (an interleaved
/// reply) stays inside the span; [`without_quoted_lines`] drops it for judging.
pub fn new_text_span(body: &str) -> &str {
    let lines = split_lines(body);
    let mut i = 0;
    // Skip what precedes the requester's text in a bottom-posted reply.
    while i < lines.len() {
        let line = lines[i].1;
        if line.trim().is_empty() || is_quote(line) {
            i += 1;
            continue;
        }
        if let Some(n) = reply_header_len(&lines, i) {
            let next = lines[i + n..].iter().find(|(_, l)| !l.trim().is_empty());
            if next.is_some_and(|(_, l)| is_quote(l)) {
                i += n;
                continue;
            }
        }
        break;
    }
    let start = lines.get(i).map_or(body.len(), |(offset, _)| *offset);
    let mut end = start;
    let mut has_content = false;
    while i < lines.len() {
        let (offset, line) = lines[i];
        if is_quote(line) || line.trim().is_empty() {
            i += 1;
            continue;
        }
        if reply_header_len(&lines, i).is_some() || is_hard_cut(line) || outlook_header(&lines, i) {
            break;
        }
        if has_content && (is_sign_off(line) || is_disclaimer(line)) {
            break;
        }
        has_content = true;
        end = offset + line.len();
        i += 1;
    }
    body[start..end].trim()
}

/// `text` without its `>` lines: what the requester wrote in an interleaved reply.
pub fn without_quoted_lines(text: &str) -> String {
    text.lines()
        .filter(|line| !is_quote(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines with their byte offsets; the line text excludes the line break.
fn split_lines(body: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in body.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        out.push((offset, line));
        offset += raw.len();
    }
    out
}

fn is_quote(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('>') || t.starts_with('＞')
}

/// `text` in NFKC, borrowed when it already is: the quick check settles nearly every real text
/// (ASCII always), and composing it again costs far more than matching it.
pub fn nfkc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    }
}

/// Lower-cased, NFKC (full-width colons and brackets become ASCII), trimmed.
fn fold(line: &str) -> String {
    nfkc(line.trim()).to_lowercase()
}

/// Verbs of the line that introduces quoted history, in the languages mail clients use
/// ("On … Support wrote:", "Am … schrieb Support <…>:").
const HEADER_VERBS: &[&str] = &[
    "wrote",
    "writes",
    "schrieb",
    "geschrieben",
    "a écrit",
    "escribió",
    "escreveu",
    "scrisse",
    "schreef",
    "写道",
    "書きました",
    "のメッセージ",
    "のメール",
];

/// Number of lines (1 or 2) of an "On … wrote:" style header starting at `i`.
fn reply_header_len(lines: &[(usize, &str)], i: usize) -> Option<usize> {
    let first = fold(lines[i].1);
    if first.chars().count() > 300 {
        return None;
    }
    if is_header_line(&first) {
        return Some(1);
    }
    // Clients wrap long headers: "On Tue, 16 Jan 2024, Support <\nsupport@x.com> wrote:".
    let opens_header = ["on ", "am ", "le ", "el ", "em ", "在"]
        .iter()
        .any(|p| first.starts_with(p))
        || starts_with_date(&first);
    let next = lines.get(i + 1).map(|(_, l)| fold(l))?;
    (opens_header && is_header_line(&format!("{first} {next}"))).then_some(2)
}

fn is_header_line(folded: &str) -> bool {
    // "As I wrote before:" is the requester's own text; a header names a date or an address.
    let looks_like_header = ["on ", "am ", "le ", "el ", "em ", "在"]
        .iter()
        .any(|p| folded.starts_with(p))
        || folded.contains('@')
        || folded.chars().any(|c| c.is_ascii_digit());
    if looks_like_header && folded.ends_with(':') && HEADER_VERBS.iter().any(|v| folded.contains(v))
    {
        return true;
    }
    // Japanese clients: "2024年1月16日(火) 10:00 Support <support@example.com>:".
    starts_with_date(folded) && folded.ends_with(">:")
}

fn starts_with_date(folded: &str) -> bool {
    let digits = folded.chars().take_while(char::is_ascii_digit).count();
    digits == 4 && folded[digits..].starts_with(['年', '/', '-'])
}

/// Markers after which everything is history or boilerplate.
const CUT_MARKERS: &[&str] = &[
    "original message",
    "forwarded message",
    "begin forwarded message",
    "ursprüngliche nachricht",
    "weitergeleitete nachricht",
    "message d'origine",
    "message transféré",
    "mensaje original",
    "mensaje reenviado",
    "mensagem original",
    "mensagem encaminhada",
    "原始邮件",
    "转发的邮件",
    "元のメッセージ",
    "転送メッセージ",
    "type your reply above this line",
];

/// Mobile and webmail signatures, matched at the start of a line.
const SIGNATURE_STARTS: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for",
    "get outlook for",
    "enviado desde mi ",
    "enviado do meu ",
    "von meinem ",
    "gesendet von ",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "iphoneから送信",
    "androidから送信",
    "发自我的",
    "从我的iphone发送",
];

/// Header fields of an Outlook-style quoted message ("From: … Sent: … To: … Subject: …").
const FROM_FIELDS: &[&str] = &[
    "from:",
    "von:",
    "de:",
    "de :",
    "van:",
    "差出人:",
    "发件人:",
    "寄件者:",
];

/// Outlook quotes without `>`: a "From:" line followed closely by "Sent:"/"To:"/"Subject:".
fn outlook_header(lines: &[(usize, &str)], i: usize) -> bool {
    const NEXT_FIELDS: &[&str] = &[
        "sent:",
        "date:",
        "to:",
        "subject:",
        "gesendet:",
        "datum:",
        "an:",
        "betreff:",
        "envoyé :",
        "envoyé:",
        "à :",
        "objet :",
        "enviado:",
        "fecha:",
        "para:",
        "asunto:",
        "assunto:",
        "送信日時:",
        "宛先:",
        "件名:",
        "发送时间:",
        "收件人:",
        "主题:",
    ];
    let first = fold(lines[i].1);
    FROM_FIELDS.iter().any(|f| first.starts_with(f))
        && lines[i + 1..].iter().take(3).any(|(_, l)| {
            let folded = fold(l);
            NEXT_FIELDS.iter().any(|f| folded.starts_with(f))
        })
}

fn is_hard_cut(line: &str) -> bool {
    let folded = fold(line);
    if line.trim_end() == "--" || line == "-- " || folded == "—" {
        return true;
    }
    // "-----Original Message-----", Outlook's "________________" separator.
    if folded.starts_with("-----") || folded.starts_with("_____") || folded.starts_with("=====") {
        return true;
    }
    if CUT_MARKERS.iter().any(|m| folded.contains(m)) {
        return true;
    }
    if SIGNATURE_STARTS.iter().any(|s| folded.starts_with(s)) {
        return true;
    }
    FROM_FIELDS.iter().any(|f| folded.starts_with(f)) && folded.contains('@')
}

/// A line that only closes the message ("Best regards,", "Thanks!", "Cordialement").
fn is_sign_off(line: &str) -> bool {
    const SIGN_OFFS: &[&str] = &[
        "regards",
        "best regards",
        "kind regards",
        "warm regards",
        "warmest regards",
        "best wishes",
        "best",
        "br",
        "cheers",
        "thanks",
        "thank you",
        "many thanks",
        "thanks again",
        "thanks in advance",
        "thank you very much",
        "thx",
        "sincerely",
        "yours sincerely",
        "yours",
        "saludos",
        "un saludo",
        "saludos cordiales",
        "atentamente",
        "gracias",
        "mit freundlichen grüßen",
        "mit freundlichen grüssen",
        "freundliche grüße",
        "viele grüße",
        "beste grüße",
        "grüße",
        "danke",
        "vielen dank",
        "cordialement",
        "bien à vous",
        "bien cordialement",
        "merci",
        "merci beaucoup",
        "atenciosamente",
        "abraços",
        "obrigado",
        "obrigada",
        "以上",
        "谢谢",
        "此致",
        "敬礼",
    ];
    let folded = fold(line);
    let bare = folded.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    SIGN_OFFS.contains(&bare)
}

/// Legal footers corporate mail servers append.
fn is_disclaimer(line: &str) -> bool {
    const STARTS: &[&str] = &[
        "this email",
        "this e-mail",
        "this message",
        "confidentiality notice",
        "confidential:",
        "disclaimer",
        "the information contained in this",
        "caution: this email",
        "diese e-mail",
        "ce message",
        "este correo",
        "este e-mail",
    ];
    let folded = fold(line);
    STARTS.iter().any(|s| folded.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_borrows_normalised_text_and_composes_the_rest() {
        for text in ["plain ascii", "café 已经", "😀 ok"] {
            assert!(matches!(nfkc(text), Cow::Borrowed(_)), "{text:?}");
        }
        for text in ["２ＦＡ ｃａｆｅ", "cafe\u{301}", "ﬁle", "Ⅻ"] {
            assert!(matches!(nfkc(text), Cow::Owned(_)), "{text:?}");
            assert_eq!(nfkc(text), text.nfkc().collect::<String>(), "{text:?}");
        }
    }

    fn assert_substring(body: &str) -> String {
        let got = new_text(body);
        assert!(
            body.contains(&got),
            "{got:?} is not a substring of {body:?}"
        );
        got
    }

    #[test]
    fn plain_reply_is_kept_whole() {
        assert_eq!(assert_substring("  Yes, go ahead.\n"), "Yes, go ahead.");
    }

    #[test]
    fn on_wrote_history_is_cut() {
        let body = "No, please don't.\n\nOn Tue, Jan 16, 2024 at 10:00 AM Support <support@example.com> wrote:\n> Could you please confirm? Yes\n";
        assert_eq!(assert_substring(body), "No, please don't.");
    }

    #[test]
    fn wrapped_gmail_header_is_cut() {
        let body = "No.\n\nOn Tue, 16 Jan 2024 at 10:00, Support Team <\nsupport@example.com> wrote:\n\n> yes\n";
        assert_eq!(assert_substring(body), "No.");
    }

    #[test]
    fn outlook_block_without_quote_marks_is_cut() {
        let body = "Please don't do it yet.\r\n\r\nFrom: Support <support@example.com>\r\nSent: Tuesday, January 16, 2024 10:00 AM\r\nTo: Ana\r\nSubject: Re: 2FA\r\n\r\nYes go ahead is all you need to reply.";
        assert_eq!(assert_substring(body), "Please don't do it yet.");
    }

    #[test]
    fn foreign_headers_are_cut() {
        for header in [
            "Am Di., 16. Jan. 2024 um 10:00 Uhr schrieb Support <support@example.com>:",
            "Le mar. 16 janv. 2024 à 10:00, Support <support@example.com> a écrit :",
            "El mar, 16 ene 2024 a las 10:00, Support (<support@example.com>) escribió:",
            "Em ter., 16 de jan. de 2024 às 10:00, Support <support@example.com> escreveu:",
            "2024年1月16日(火) 10:00 Support <support@example.com>:",
            "Support <support@example.com> 于2024年1月16日周二 10:00写道：",
            "-----Original Message-----",
            "---------- Forwarded message ---------",
        ] {
            let body = format!("Nein danke.\n\n{header}\n> Yes, go ahead\n");
            assert_eq!(assert_substring(&body), "Nein danke.", "header {header:?}");
        }
    }

    #[test]
    fn signatures_and_sign_offs_end_the_text() {
        let body = "Go ahead.\n\nBest regards,\nNoah Nolan\nHead of No-Go Zones";
        assert_eq!(assert_substring(body), "Go ahead.");
        let body = "Sure, go ahead\n\nSent from my iPhone";
        assert_eq!(assert_substring(body), "Sure, go ahead");
        let body = "Sure\n-- \nAna, Acme Corp: if not intended for you, delete";
        assert_eq!(assert_substring(body), "Sure");
    }

    #[test]
    fn a_sign_off_alone_is_the_text() {
        assert_eq!(assert_substring("Thanks!\n"), "Thanks!");
    }

    #[test]
    fn bottom_posted_reply_is_found_below_the_quote() {
        let body = "On Tue, Support wrote:\n> Could you please confirm that you would like us to delete it?\n\nYes, delete it.";
        assert_eq!(assert_substring(body), "Yes, delete it.");
    }

    #[test]
    fn interleaved_reply_keeps_both_parts_for_judging() {
        let body =
            "Yes.\n> Could you please confirm that you would like us to delete it?\nActually no.";
        let span = assert_substring(body);
        assert_eq!(without_quoted_lines(&span), "Yes.\nActually no.");
    }

    #[test]
    fn only_history_gives_empty_text() {
        assert_eq!(assert_substring("> yes, go ahead\n> thanks"), "");
    }

    #[test]
    fn the_requesters_own_colon_line_is_not_a_header() {
        let body = "Yes. As I wrote before:\nonly the first project, not the second.";
        assert_eq!(assert_substring(body), body);
    }

    #[test]
    fn disclaimer_is_cut() {
        let body = "Yes go ahead.\nThis email is confidential. If you are not the intended recipient, do not read it.";
        assert_eq!(assert_substring(body), "Yes go ahead.");
    }
}
