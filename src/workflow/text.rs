//! Reply text clean-up: finds the part of an e-mail reply that the requester actually wrote.
//!
//! History is cut only where what follows really is history: a `>` quote, a reply header
//! ("On … wrote:", "Am … schrieb …:", "… 님이 작성:"), an Outlook header block ("From: / Sent:",
//! "Von: / Gesendet:", "Da: / Inviato:" …), an "Original Message" / forwarded separator, or the
//! helpdesk's "##- Please type your reply above this line -##" marker. A sign-off ("Thanks",
//! "Best regards", "Sent from my iPhone", "-- ") does not end the text: the signature below it is
//! skipped line by line, but a P.S. or any line that reads like a sentence is still judged.
//!
//! The quote is always a trimmed slice of the original body, because it goes verbatim into the
//! audit trail: a rewritten quote would no longer prove what the customer said. Every line that
//! is judged lies inside it.
//!
//! Everything here is linear in the length of the body.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The requester's new text in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewText<'a> {
    /// Verbatim slice of the body: from the first to the last judged line.
    pub quote: &'a str,
    /// What is judged: the quote's lines without `>` quotes, signature lines, disclaimers and
    /// mobile signatures, joined by line breaks.
    pub judged: String,
    /// Lines of the quote that were skipped as signature, disclaimer or sign-off.
    pub skipped_lines: usize,
}

/// The new text of a reply, verbatim (see [`extract`]).
pub fn new_text(body: &str) -> String {
    extract(body).quote.to_string()
}

/// Like [`new_text`], borrowed from `body`.
pub fn new_text_span(body: &str) -> &str {
    extract(body).quote
}

/// `text` without its `>` lines: what the requester wrote in an interleaved reply.
pub fn without_quoted_lines(text: &str) -> String {
    text.lines()
        .filter(|line| !is_quote(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a line of the body is, for the cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Blank,
    Quote,
    /// Everything from here on is history.
    HistoryStart,
    /// A reply header ("On … wrote:") of this many lines: history unless the requester's own
    /// lines follow the quote below it (an interleaved reply).
    ReplyHeader(usize),
    /// The helpdesk's "type your reply above this line" marker.
    ReplyMarker,
    /// "Thanks", "Best regards", "-- ", "Sent from my iPhone": a signature may follow.
    SignOff,
    Text,
}

/// Finds the requester's new text in `body`.
pub fn extract(body: &str) -> NewText<'_> {
    extract_with(body, |_| false)
}

/// Like [`extract`]; `carries_signal` tells whether a short line after a sign-off says
/// something that must be judged ("Yes.", "네 진행해 주세요") rather than name the sender.
pub fn extract_with(body: &str, carries_signal: impl Fn(&str) -> bool) -> NewText<'_> {
    let lines = split_lines(body);
    // Each line folded once: every test below reads the folded line.
    let folded: Vec<String> = lines.iter().map(|(_, l)| fold(l)).collect();
    let kinds: Vec<Line> = (0..lines.len())
        .map(|i| classify(&lines, &folded, i))
        .collect();
    // For each line, whether any own text (not quote, blank or history) follows the quote block
    // that starts after it: computed backwards so the whole cut stays linear.
    let mut text_after_quotes = vec![false; lines.len() + 1];
    let mut seen_text = false;
    for i in (0..lines.len()).rev() {
        match kinds[i] {
            Line::Text | Line::SignOff => seen_text = true,
            Line::HistoryStart | Line::ReplyMarker => seen_text = false,
            Line::ReplyHeader(_) => seen_text = false,
            Line::Blank | Line::Quote => {}
        }
        text_after_quotes[i] = seen_text;
    }

    let mut judged: Vec<(usize, &str)> = Vec::new();
    let mut skipped = Vec::new();
    let mut in_signature = false;
    // After "-- " everything is signature by convention, but for a P.S.
    let mut after_delimiter = false;
    let mut in_disclaimer = false;
    let mut in_postscript = false;
    let mut i = 0;
    while i < lines.len() {
        let (offset, line) = lines[i];
        match kinds[i] {
            Line::Blank => {
                in_disclaimer = false;
                in_postscript = false;
                i += 1;
                continue;
            }
            Line::Quote => {
                i += 1;
                continue;
            }
            // Above the marker is the reply; below it is the helpdesk's copy of the
            // conversation, even when nothing was typed above it (what sits below cannot be
            // told from history, so it never grants).
            Line::ReplyMarker => break,
            Line::HistoryStart => break,
            Line::ReplyHeader(n) => {
                // Bottom-posted or interleaved: the header introduces quotes with the
                // requester's own lines after them.
                let after = i + n;
                let quote_follows = lines[after..]
                    .iter()
                    .zip(&kinds[after..])
                    .find(|(_, k)| **k != Line::Blank)
                    .is_some_and(|(_, k)| *k == Line::Quote);
                if quote_follows && text_after_quotes.get(after).copied().unwrap_or(false) {
                    i = after;
                    continue;
                }
                if judged.is_empty() && quote_follows {
                    i = after;
                    continue;
                }
                break;
            }
            Line::SignOff => {
                after_delimiter |= is_signature_delimiter(line);
                if judged.is_empty() && !in_signature {
                    // "Thanks!" alone, or a sign-off opening the text, is the text.
                    judged.push((offset, line));
                } else {
                    skipped.push(offset);
                }
                in_signature = true;
                i += 1;
                continue;
            }
            Line::Text => {}
        }
        if is_disclaimer(&folded[i]) {
            in_disclaimer = true;
        }
        if is_postscript(&folded[i]) {
            in_postscript = true;
            in_disclaimer = false;
        }
        let signature_line = in_signature
            && !in_postscript
            && (after_delimiter || (is_signature_line(line) && !carries_signal(line)));
        if in_disclaimer || signature_line || is_mobile(&folded[i]) {
            skipped.push(offset);
        } else {
            judged.push((offset, line));
        }
        i += 1;
    }
    let Some(&(first, _)) = judged.first() else {
        return NewText {
            quote: "",
            judged: String::new(),
            skipped_lines: 0,
        };
    };
    let &(last, last_line) = judged.last().unwrap_or(&(first, ""));
    let end = last + last_line.len();
    let quote = body[first..end].trim();
    let skipped_lines = skipped.iter().filter(|o| **o > first && **o < end).count();
    NewText {
        quote,
        judged: judged
            .iter()
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n"),
        skipped_lines,
    }
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

fn classify(lines: &[(usize, &str)], folded_lines: &[String], i: usize) -> Line {
    let line = lines[i].1;
    if line.trim().is_empty() {
        return Line::Blank;
    }
    if is_quote(line) {
        return Line::Quote;
    }
    let folded = folded_lines[i].as_str();
    if is_reply_marker(folded) {
        return Line::ReplyMarker;
    }
    if let Some(n) = reply_header_len(folded_lines, i) {
        return Line::ReplyHeader(n);
    }
    if is_history_marker(line, folded) || outlook_header(folded_lines, i) {
        return Line::HistoryStart;
    }
    if is_sign_off(folded) || is_signature_delimiter(line) || is_mobile(folded) {
        return Line::SignOff;
    }
    Line::Text
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

/// Zendesk's "##- Please type your reply above this line -##" (in any language: the marker's
/// shape is the same).
fn is_reply_marker(folded: &str) -> bool {
    (folded.starts_with("##-") && folded.ends_with("-##"))
        || folded.contains("type your reply above this line")
}

/// Verbs of the line that introduces quoted history, in the languages mail clients use
/// ("On … Support wrote:", "Am … schrieb Support <…>:", "… 님이 작성:").
const HEADER_VERBS: &[&str] = &[
    "wrote",
    "writes",
    "schrieb",
    "geschrieben",
    "a écrit",
    "escribió",
    "escreveu",
    "scrisse",
    "ha scritto",
    "schreef",
    "heeft geschreven",
    "写道",
    "寫道",
    "書きました",
    "のメッセージ",
    "のメール",
    "작성",
];

/// How a wrapped header's first line may open ("On Tue, …", "Am …", "Il giorno …").
const HEADER_OPENINGS: &[&str] = &["on ", "am ", "le ", "el ", "em ", "il ", "op ", "在"];

/// Number of lines (1 or 2) of an "On … wrote:" style header starting at `i`.
fn reply_header_len(folded_lines: &[String], i: usize) -> Option<usize> {
    let first = folded_lines[i].as_str();
    if first.len() > 1200 || first.chars().count() > 300 {
        return None;
    }
    if is_header_line(first) {
        return Some(1);
    }
    // Clients wrap long headers: "On Tue, 16 Jan 2024, Support <\nsupport@x.com> wrote:".
    let opens_header =
        HEADER_OPENINGS.iter().any(|p| first.starts_with(p)) || starts_with_date(first);
    if !opens_header {
        return None;
    }
    let next = folded_lines.get(i + 1)?;
    if next.len() > 1200 || next.chars().count() > 300 {
        return None;
    }
    is_header_line(&format!("{first} {next}")).then_some(2)
}

fn is_header_line(folded: &str) -> bool {
    // "As I wrote before:" is the requester's own text; a header names a date or an address.
    let looks_like_header = HEADER_OPENINGS.iter().any(|p| folded.starts_with(p))
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
    digits == 4 && folded[digits..].starts_with(['年', '년', '/', '-', '.'])
}

/// Markers after which everything is history.
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
    "messaggio originale",
    "messaggio inoltrato",
    "oorspronkelijk bericht",
    "doorgestuurd bericht",
    "原始邮件",
    "原始郵件",
    "转发的邮件",
    "元のメッセージ",
    "転送メッセージ",
    "원본 메시지",
    "전달된 메시지",
];

/// Mobile and webmail signatures, matched at the start of a line.
const MOBILE_SIGNATURES: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for",
    "sent from yahoo",
    "get outlook for",
    "enviado desde mi ",
    "enviado do meu ",
    "enviado de meu ",
    "von meinem ",
    "gesendet von ",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "inviato da ",
    "verzonden vanaf ",
    "verstuurd vanaf ",
    "verzonden met ",
    "iphoneから送信",
    "androidから送信",
    "发自我的",
    "從我的",
    "从我的iphone发送",
    "나의 iphone에서 보냄",
    "iphone에서 보냄",
];

fn is_mobile(folded: &str) -> bool {
    MOBILE_SIGNATURES.iter().any(|s| folded.starts_with(s))
}

/// Header fields of an Outlook-style quoted message ("From: … Sent: … To: … Subject: …").
const FROM_FIELDS: &[&str] = &[
    "from:",
    "von:",
    "de:",
    "de :",
    "da:",
    "van:",
    "差出人:",
    "发件人:",
    "寄件者:",
    "보낸 사람:",
];

/// Outlook quotes without `>`: a "From:" line followed closely by "Sent:"/"To:"/"Subject:".
fn outlook_header(folded_lines: &[String], i: usize) -> bool {
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
        "inviato:",
        "a:",
        "oggetto:",
        "verzonden:",
        "aan:",
        "onderwerp:",
        "送信日時:",
        "宛先:",
        "件名:",
        "发送时间:",
        "收件人:",
        "主题:",
        "보낸 날짜:",
        "받는 사람:",
        "제목:",
    ];
    // Some web mailers (GMX, web.de) open the block with the date: "Gesendet: …" then "Von: …".
    const DATE_FIRST: &[&str] = &[
        "gesendet:",
        "sent:",
        "date:",
        "datum:",
        "envoyé :",
        "enviado:",
    ];
    let first = &folded_lines[i];
    let next_lines = || folded_lines[i + 1..].iter().take(3);
    (FROM_FIELDS.iter().any(|f| first.starts_with(f))
        && next_lines().any(|folded| NEXT_FIELDS.iter().any(|f| folded.starts_with(f))))
        || (DATE_FIRST.iter().any(|f| first.starts_with(f))
            && next_lines().any(|folded| {
                FROM_FIELDS.iter().any(|f| folded.starts_with(f)) && folded.contains('@')
            }))
}

fn is_history_marker(line: &str, folded: &str) -> bool {
    // "-----Original Message-----", Outlook's "________________" separator, Zendesk's rules.
    let separator = |c: char| folded.len() >= 5 && folded.chars().all(|x| x == c);
    if folded.starts_with("-----")
        || folded.starts_with("_____")
        || folded.starts_with("=====")
        || separator('-')
    {
        return line.trim_end() != "--" && line != "-- ";
    }
    if CUT_MARKERS.iter().any(|m| folded.contains(m)) && folded.chars().count() < 120 {
        return true;
    }
    FROM_FIELDS.iter().any(|f| folded.starts_with(f)) && folded.contains('@')
}

/// "-- " (the signature delimiter), a lone dash or em dash line.
fn is_signature_delimiter(line: &str) -> bool {
    let t = line.trim();
    matches!(t, "--" | "—" | "——" | "–" | "---")
}

/// A line that only closes the message ("Best regards,", "Thanks!", "Cordialement").
fn is_sign_off(folded: &str) -> bool {
    const SIGN_OFFS: &[&str] = &[
        "regards",
        "best regards",
        "kind regards",
        "warm regards",
        "warmest regards",
        "many thanks",
        "best wishes",
        "best",
        "all the best",
        "br",
        "cheers",
        "thanks",
        "thank you",
        "thanks a lot",
        "thanks again",
        "thanks in advance",
        "thank you very much",
        "thx",
        "ty",
        "sincerely",
        "yours sincerely",
        "yours",
        "saludos",
        "un saludo",
        "saludos cordiales",
        "atentamente",
        "gracias",
        "muchas gracias",
        "mit freundlichen grüßen",
        "mit freundlichen grüssen",
        "freundliche grüße",
        "viele grüße",
        "beste grüße",
        "liebe grüße",
        "grüße",
        "lg",
        "vg",
        "mfg",
        "danke",
        "vielen dank",
        "cordialement",
        "bien à vous",
        "bien cordialement",
        "bonne journée",
        "merci",
        "merci beaucoup",
        "atenciosamente",
        "abraços",
        "abs",
        "cumprimentos",
        "obrigado",
        "obrigada",
        "cordiali saluti",
        "distinti saluti",
        "saluti",
        "un saluto",
        "grazie",
        "grazie mille",
        "met vriendelijke groet",
        "met vriendelijke groeten",
        "vriendelijke groet",
        "groeten",
        "groet",
        "groetjes",
        "mvg",
        "bedankt",
        "dank je",
        "dank u",
        "以上",
        "よろしくお願いします",
        "よろしくお願いいたします",
        "よろしくお願い致します",
        "谢谢",
        "謝謝",
        "此致",
        "敬礼",
        "감사합니다",
        "고맙습니다",
    ];
    let bare = folded.trim_end_matches(|c: char| {
        c.is_ascii_punctuation() || c.is_whitespace() || matches!(c, '。' | '！' | '～' | '~')
    });
    SIGN_OFFS.contains(&bare)
}

/// "P.S.", "PS:", "P.D.", "N.B.", "追伸", "추신": an afterthought, always judged.
fn is_postscript(folded: &str) -> bool {
    const MARKS: &[&str] = &[
        "p.p.s", "pps", "p.s", "ps", "p.d", "pd", "n.b", "nb", "追伸", "附言", "补充", "추신",
        "edit", "update", "nachtrag",
    ];
    let t = folded.trim_start_matches(|c: char| !c.is_alphanumeric());
    MARKS.iter().any(|m| {
        t.strip_prefix(m).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| !c.is_alphanumeric()) || !m.is_ascii()
        })
    })
}

/// Legal footers corporate mail servers append.
fn is_disclaimer(folded: &str) -> bool {
    const STARTS: &[&str] = &[
        "this email",
        "this e-mail",
        "this message",
        "confidentiality notice",
        "confidential:",
        "disclaimer",
        "the information contained in this",
        "the content of this email",
        "caution: this email",
        "diese e-mail",
        "diese nachricht",
        "ce message",
        "ce courriel",
        "este correo",
        "este mensaje",
        "este e-mail",
        "esta mensagem",
        "questo messaggio",
        "questa e-mail",
        "dit bericht",
        "deze e-mail",
        "このメール",
        "本メール",
        "本邮件",
        "此邮件",
        "本郵件",
        "이 메일은",
        "본 메일",
    ];
    const WORDS: &[&str] = &[
        // confidential, confidentiel, confidencial(es), confidenciais, confidenziale
        "confiden",
        "intended recipient",
        "vertraulich",
        "vertrouwelijk",
        "destinatario",
        "destinataire",
        "geadresseerde",
        "empfänger",
        "intended solely",
        "intended only for",
        "named recipient",
        "notify the sender",
        "accept liability",
        "accept any liability",
        "keine haftung",
        "irrtümlich",
        "ricevuto per errore",
        "onterecht ontvang",
        "误收",
        "誤って受信",
        "잘못 수신",
        "privileged",
        "unauthorized",
        "bestemd voor",
        "destinati",
        "destinad",
        "機密",
        "机密",
        // Chinese "confidential", Italian "riservato/riservata/riservati"
        "保密",
        "riservat",
        "기밀",
        "受信者",
        "收件人",
        "수신인",
        // Data-protection notices.
        "data protection",
        "protección de datos",
        "datenschutz",
        "protection des données",
        "proteção de dados",
        "protezione dei dati",
        "gegevensbescherming",
        "個人情報",
        "个人信息",
        "개인정보",
    ];
    // "Please consider the environment before printing this e-mail": a footer in any length.
    const PRINT: &[&str] = &[
        "before printing",
        "before you print",
        "think before you print",
        "antes de imprimir",
        "avant dimprimer",
        "avant d imprimer",
        "bevor sie diese e-mail ausdrucken",
        "vor dem ausdrucken",
        "prima di stampare",
        "voordat u deze e-mail print",
        "denk aan het milieu",
        "印刷する前に",
        "打印前",
        "인쇄하기 전에",
    ];
    // Phrases only a legal footer says, whatever the line's length.
    const SURE: &[&str] = &[
        "received this in error",
        "received it in error",
        "received this message in error",
        "received this email in error",
        "received this e-mail in error",
        "recibido este correo por error",
        "recebeu este e-mail por engano",
        "intended only for the named recipient",
        "若您非指定收件人",
        "如果您不是指定收件人",
        "如您并非指定收件人",
        "誤って受信された",
        "誤ってこのメールを受信",
        "잘못 수신된",
        "irrtümlich erhalten",
        "reçu ce message par erreur",
        "recibido este mensaje por error",
        "recebeu esta mensagem por engano",
        "ricevuto questo messaggio per errore",
        "dit bericht onterecht ontvangen",
    ];
    if PRINT.iter().chain(SURE).any(|p| folded.contains(p)) {
        return true;
    }
    // A legal footer is long and says what it is; a requester's "This email confirms: only
    // staging" is neither.
    // A line that opens like a footer: a CJK character says about as much as a short Latin
    // word, so it counts three times there. A line that does not open like one must be long
    // in characters, whatever its script: a requester's own sentence naming secrecy is judged.
    let width: usize = folded.chars().map(|c| if is_cjk(c) { 3 } else { 1 }).sum();
    let legal = WORDS.iter().any(|w| folded.contains(w));
    legal
        && ((STARTS.iter().any(|s| folded.starts_with(s)) && width > 60)
            || folded.chars().count() > 80)
}

/// A line of a signature block: a name, a title, a company, contact details. Sentences are not.
fn is_signature_line(line: &str) -> bool {
    let t = line.trim();
    let email = t.split_whitespace().any(|w| {
        w.split_once('@').is_some_and(|(user, host)| {
            user.chars().next_back().is_some_and(char::is_alphanumeric) && host.contains('.')
        })
    });
    if email || t.contains("http") || t.contains("www.") || t.contains('|') {
        return true;
    }
    if t.chars().filter(char::is_ascii_digit).count() >= 6 {
        return true;
    }
    if t.ends_with(['!', '?', '？', '！', '。']) {
        return false;
    }
    let cjk = t.chars().filter(|c| is_cjk(*c)).count();
    if cjk > 0 {
        return t.chars().count() <= 24;
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.is_empty() || words.len() > 7 {
        return false;
    }
    // A name, a title, a company: every word capitalised but a few joining ones.
    const JOINING: &[&str] = &[
        "of", "and", "the", "for", "at", "de", "da", "do", "del", "der", "die", "das", "und",
        "van", "von", "y", "e", "et", "di", "i.", "a.", "im", "&", "-", "–", "—", "|", "/",
    ];
    let capitalised = words.iter().all(|w| {
        JOINING.contains(&w.to_lowercase().as_str())
            || w.chars()
                .find(|c| c.is_alphanumeric())
                .is_none_or(|c| c.is_uppercase() || c.is_ascii_digit())
    });
    capitalised && !(t.ends_with('.') && words.len() == 1 && words[0].len() > 5)
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF
        | 0x1100..=0x11FF | 0x3130..=0x318F)
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
    fn text_after_a_sign_off_that_says_something_is_kept() {
        let body = "Yes, go ahead.\n\nThanks\nP.S. only the staging project";
        let got = extract_with(body, |l| l.contains("only"));
        assert_eq!(got.quote, body);
        assert_eq!(got.judged, "Yes, go ahead.\nP.S. only the staging project");
        let body = "Thanks\n\nSent from my iPhone\n\nYes, please proceed with the restore.";
        let got = extract(body);
        assert_eq!(got.quote, body);
        assert!(
            got.judged
                .ends_with("Yes, please proceed with the restore.")
        );
        let body = "Sí.\n\nSaludos,\nMarta\nDirectora de Sistemas | Acme\nTel. +34 600 000 000";
        assert_eq!(extract(body).judged, "Sí.");
    }

    #[test]
    fn zendesk_marker_cuts_everything_below_it() {
        let body = "Go ahead.\n\n##- Please type your reply above this line -##\n\nYour request (#1) has been updated.\n\nCould you please confirm? Yes";
        assert_eq!(assert_substring(body), "Go ahead.");
        let body = "##- Please type your reply above this line -##\n\nHallo,\n\nSie haben meine Erlaubnis.";
        assert_eq!(extract(body).judged, "");
    }

    #[test]
    fn italian_dutch_and_korean_headers_are_cut() {
        for header in [
            "Il giorno lun 8 apr 2024 alle ore 11:02 GitLab Support <support@gitlab.com> ha scritto:",
            "Op di 16 jan. 2024 om 10:00 schreef Support <support@example.com>:",
            "2025년 3월 6일 (목) 오전 10:12, GitLab Support <support@gitlab.com>님이 작성:",
            "-----Messaggio originale-----",
        ] {
            let body = format!("Nein danke.\n\n{header}\n> Yes, go ahead\n");
            assert_eq!(assert_substring(&body), "Nein danke.", "header {header:?}");
        }
        let outlook = "Nee.\n\nVan: GitLab Support <support@gitlab.com>\nVerzonden: dinsdag 11 maart 2025 08:47\nAan: Joost\nOnderwerp: RE: groep\n\nCould you?";
        assert_eq!(assert_substring(outlook), "Nee.");
    }

    #[test]
    fn interleaved_answers_below_a_header_are_the_requesters() {
        let body = "Answers inline below.\n\nOn Mon, Mar 10, 2025 at 4:55 PM Support <s@example.com> wrote:\n> What is your username?\n\nIt's jonas-b.\n\n> Could you please provide permission for staff to change it?\n\nYes, please go ahead.\n";
        let got = extract(body);
        assert!(
            got.judged.ends_with("Yes, please go ahead."),
            "{:?}",
            got.judged
        );
        assert!(!got.judged.contains("What is your username"));
    }

    #[test]
    fn a_short_line_opening_like_a_disclaimer_is_the_requesters() {
        let body = "Yes go ahead.\nThis email confirms: only the staging project.";
        assert_eq!(assert_substring(body), body);
    }

    #[test]
    fn a_disclaimer_that_names_no_secrecy_is_cut_too() {
        let body = "Yes, go ahead.\n\nDisclaimer: This message is intended only for the named recipient. If you have received it in error, please notify the sender and delete it.";
        assert_eq!(extract(body).judged, "Yes, go ahead.");
        let body = "同意。\n\n若您非指定收件人，請立即通知寄件人並刪除本郵件。";
        assert_eq!(extract(body).judged, "同意。");
        // A requester's own sentence that says something happened by mistake is judged.
        let body = "Yes, go ahead.\nI deleted it in error last week, so only restore the wiki, please, nothing else at all.";
        assert!(extract(body).judged.contains("only restore the wiki"));
    }

    #[test]
    fn disclaimer_is_cut() {
        let body = "Yes go ahead.\nThis email is confidential. If you are not the intended recipient, do not read it.";
        assert_eq!(assert_substring(body), "Yes go ahead.");
    }

    #[test]
    fn a_header_block_opening_with_its_date_is_history() {
        let body = "Ja, Sie haben meine Erlaubnis.\n\nBeste Grüße\nFlorian\n\n\nGesendet: Donnerstag, 06. Juni 2024 um 10:14 Uhr\nVon: \"GitLab Support\" <support@gitlab.com>\nAn: florian@example.de\nBetreff: Re: Export\n\nDer Export steht seit dem 2. Juni, bitte nicht vor Freitag.";
        assert_eq!(assert_substring(body), "Ja, Sie haben meine Erlaubnis.");
    }

    #[test]
    fn print_and_data_protection_footers_are_cut() {
        let body = "Por la presente autorizo la transferencia.\n\nAtentamente,\nCarmen\n\nAntes de imprimir este correo electrónico, piense si es necesario hacerlo.\n\nPROTECCIÓN DE DATOS: sus datos se tratan conforme al reglamento general; si desea ejercer sus derechos escriba a la dirección indicada.";
        assert_eq!(
            assert_substring(body),
            "Por la presente autorizo la transferencia."
        );
    }

    #[test]
    fn cjk_and_italian_disclaimers_are_cut() {
        // A CJK legal footer says as much in half the characters: it is cut like a Latin one.
        for footer in [
            "本メールは機密情報を含む場合があります。誤って受信された場合は、送信者にご連絡のうえ、本メールを削除してください。",
            "本邮件及其附件含有保密信息，仅限于发送给上面地址中列出的个人或群组。禁止任何其他人以任何形式使用本邮件中的信息。",
            "此邮件及其附件含有保密信息，如果您不是收件人，请立即删除。",
            "このメールには機密情報が含まれています。誤って受信された場合は削除してください。",
            "Questo messaggio e i suoi allegati sono riservati. Se lo avete ricevuto per errore, vi preghiamo di cancellarlo e di avvisare il mittente.",
        ] {
            let body = format!("許可します。\n\n{footer}");
            assert_eq!(extract(&body).judged, "許可します。", "{footer}");
        }
        // A CJK line that only mentions secrecy is the requester's own, however long.
        for line in [
            "機密のプロジェクトなので削除しないでください。",
            "このリポジトリには機密情報が含まれているため、削除する前に必ず私に連絡してください。お願いします。",
        ] {
            let body = format!("許可します。\n{line}");
            assert_eq!(extract(&body).judged, body);
        }
    }
}
