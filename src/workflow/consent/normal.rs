//! Normalisation of the requester's text before matching, in a way the writer cannot steer.
//!
//! Invisible characters (Unicode default-ignorables: soft hyphen, zero-width space and joiners,
//! word joiner, bidi embeddings, overrides and isolates …) and control characters are removed, so
//! that "do\u{AD}n't" is matched as "don't"; look-alike letters from other scripts are mapped
//! to the Latin letters they imitate with the UTS #39 confusable skeleton (`unicode-security`), so
//! that a Cyrillic "о" in "nоt" still reads "not". Each of these is also a finding: a text that
//! needed any of them does not say plainly what a reader sees, so it can never grant (the
//! verdict turns a grant into `unclear` and names the finding).
//!
//! Emoji keep their joiners and variation selectors (👍🏻, ❤️): those are how emoji are written.

use crate::workflow::text::{is_cjk, nfkc};
use unicode_normalization::char::is_combining_mark;
use unicode_security::{MixedScript, skeleton};

/// The text to match and what was suspicious about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalised {
    /// NFKC, invisible and control characters removed, look-alikes mapped to Latin letters.
    pub text: String,
    /// Why the text does not read plainly (empty for ordinary text).
    pub findings: Vec<String>,
}

/// How many findings of one kind are named in the reasons (the rest are counted).
const NAMED: usize = 3;

/// Normalises `text` (see the module doc).
pub fn normalise(text: &str) -> Normalised {
    let mut invisible: Vec<char> = Vec::new();
    let mut marked: Vec<char> = Vec::new();
    let mut stripped = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_control() && !matches!(c, '\n' | '\t') {
            if c != '\r' {
                invisible.push(c);
            }
            continue;
        }
        if is_default_ignorable(c) {
            let next = chars.peek().copied();
            let emoji_glue = matches!(c, '\u{200D}' | '\u{FE0E}' | '\u{FE0F}')
                && (prev.is_some_and(is_pictographic) || next.is_some_and(is_pictographic));
            if emoji_glue {
                stripped.push(c);
            } else {
                invisible.push(c);
            }
            continue;
        }
        // A mark on a Latin letter ("do\u{308}n't") would compose into another letter and hide
        // the word: it is dropped for matching and named, whether it composes or not.
        if is_combining_mark(c) && !prev.is_some_and(carries_marks) {
            marked.push(c);
            continue;
        }
        prev = Some(c);
        stripped.push(c);
    }
    let composed = nfkc(&stripped).into_owned();
    let mut findings = Vec::new();
    if !invisible.is_empty() {
        findings.push(format!(
            "invisible or control characters: {}",
            code_points(&invisible)
        ));
    }
    if !marked.is_empty() {
        findings.push(format!(
            "Latin letters with combining marks: {}",
            code_points(&marked)
        ));
    }
    findings.extend(word_findings(&composed));
    Normalised {
        text: map_confusables(&composed),
        findings,
    }
}

/// Unicode's Default_Ignorable_Code_Point, as the crate's UTS #39 tables know it: the
/// skeleton drops exactly these (every other character maps to at least one character).
fn is_default_ignorable(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 4];
    skeleton(c.encode_utf8(&mut buf)).next().is_none()
}

/// Emoji and pictographs, next to which joiners and variation selectors are ordinary.
fn is_pictographic(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF | 0x2190..=0x21FF
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122)
}

/// Characters the skeleton must not touch: CJK text maps some ideographs and kana onto each
/// other, and its punctuation carries sentence ends.
fn keep_as_is(c: char) -> bool {
    c.is_ascii()
        || is_cjk(c)
        || matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFFEF | 0x2000..=0x206F)
        || is_pictographic(c)
}

/// Maps each look-alike character to the ASCII its skeleton is, when it is ASCII; letters with
/// their own diacritics ("é", "ü", "ñ") have skeletons with a combining mark and stay.
fn map_confusables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if keep_as_is(c) || !c.is_alphabetic() {
            out.push(c);
            continue;
        }
        let mut ascii = String::new();
        let mut all_ascii = true;
        for s in skeleton(c.encode_utf8(&mut buf)) {
            if !s.is_ascii() {
                all_ascii = false;
                break;
            }
            ascii.push(s);
        }
        if all_ascii && !ascii.is_empty() {
            out.push_str(&ascii);
        } else {
            out.push(c);
        }
    }
    out
}

/// Mixed-script words ("Yеs" with a Cyrillic е), words wholly in another script that read as
/// Latin ("он" for "on"), and Latin letters carrying combining marks NFKC could not compose.
fn word_findings(text: &str) -> Vec<String> {
    let mut mixed: Vec<String> = Vec::new();
    let mut lookalike: Vec<String> = Vec::new();
    let mut marked: Vec<String> = Vec::new();
    let latin_text = text.chars().any(|c| c.is_ascii_alphabetic());
    let mut word = String::new();
    let flush = |word: &mut String,
                 mixed: &mut Vec<String>,
                 lookalike: &mut Vec<String>,
                 marked: &mut Vec<String>| {
        if !word.chars().any(char::is_alphabetic) {
            word.clear();
            return;
        }
        let mut prev_latin = false;
        for c in word.chars() {
            if is_combining_mark(c) && prev_latin {
                marked.push(word.clone());
                break;
            }
            prev_latin = c.is_alphabetic() && is_latin(c);
        }
        if !word.as_str().is_single_script() {
            mixed.push(word.clone());
        } else if latin_text
            && !word.chars().any(|c| c.is_ascii() || is_latin(c))
            && skeleton(word).all(|c| c.is_ascii_alphabetic())
        {
            lookalike.push(word.clone());
        }
        word.clear();
    };
    for c in text.chars() {
        if (c.is_alphanumeric() || (is_combining_mark(c) && !word.is_empty())) && !is_cjk(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut mixed, &mut lookalike, &mut marked);
        }
    }
    flush(&mut word, &mut mixed, &mut lookalike, &mut marked);
    let mut out = Vec::new();
    for (list, what) in [
        (mixed, "mixed-script words"),
        (lookalike, "look-alike words from another script"),
        (marked, "Latin letters with combining marks"),
    ] {
        if !list.is_empty() {
            out.push(format!("{what}: {}", named(&list)));
        }
    }
    out
}

/// A letter of a script that writes with combining marks of its own (kana voicing marks,
/// Indic vowel signs …); Latin, Greek and Cyrillic letters, digits and punctuation do not need
/// them once NFKC has composed what it can.
fn carries_marks(c: char) -> bool {
    c.is_alphabetic() && !is_latin(c) && !matches!(c as u32, 0x0370..=0x052F)
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF)
}

fn named(list: &[String]) -> String {
    let mut shown: Vec<String> = list
        .iter()
        .take(NAMED)
        .map(|w| format!("\"{w}\""))
        .collect();
    if list.len() > NAMED {
        shown.push(format!("and {} more", list.len() - NAMED));
    }
    shown.join(", ")
}

fn code_points(chars: &[char]) -> String {
    let mut distinct: Vec<char> = Vec::new();
    for c in chars {
        if !distinct.contains(c) {
            distinct.push(*c);
        }
    }
    let mut shown: Vec<String> = distinct
        .iter()
        .take(NAMED)
        .map(|c| format!("U+{:04X}", *c as u32))
        .collect();
    if distinct.len() > NAMED {
        shown.push(format!("and {} more", distinct.len() - NAMED));
    }
    format!("{} ({} in all)", shown.join(", "), chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_removed_and_named() {
        for (text, plain) in [
            ("do\u{AD}n't", "don't"),
            ("n\u{200B}ot", "not"),
            ("n\u{2060}ot", "not"),
            ("\u{202E}on\u{202C}, go ahead", "on, go ahead"),
            ("no\u{200C}", "no"),
            ("ok\u{FEFF}", "ok"),
            ("do\u{0}n't", "don't"),
        ] {
            let n = normalise(text);
            assert_eq!(n.text, plain, "{text:?}");
            assert!(
                n.findings[0].starts_with("invisible or control characters: U+"),
                "{text:?}: {:?}",
                n.findings
            );
        }
    }

    #[test]
    fn look_alikes_map_to_latin_and_are_named() {
        let n = normalise("Please dоn't transfer it");
        assert_eq!(n.text, "Please don't transfer it");
        assert_eq!(n.findings, vec!["mixed-script words: \"dоn\"".to_string()]);
        let n = normalise("Yеs go ahead");
        assert_eq!(n.text, "Yes go ahead");
        assert!(n.findings[0].starts_with("mixed-script words"));
        // A whole word in Cyrillic letters that reads as Latin.
        let n = normalise("ОК, go ahead");
        assert!(
            n.findings.iter().any(|f| f.starts_with("look-alike words")),
            "{:?}",
            n.findings
        );
        // Full-width letters are NFKC's job and no finding.
        assert_eq!(normalise("ｙｅｓ").text, "yes");
    }

    #[test]
    fn combining_marks_on_latin_letters_are_named() {
        let n = normalise("n\u{308}o problem");
        assert!(n.findings[0].starts_with("Latin letters with combining marks"));
        assert_eq!(n.text, "no problem");
        // Even where NFKC would compose them: "dön't" is not "don't" to a matcher.
        let n = normalise("do\u{308}n't");
        assert_eq!(n.text, "don't");
        assert!(n.findings[0].starts_with("Latin letters with combining marks"));
        let n = normalise("don'\u{308}t");
        assert_eq!(n.text, "don't");
        assert!(n.findings[0].starts_with("Latin letters with combining marks"));
        // Precomposed letters are ordinary, kana voicing marks are Japanese; a decomposed
        // accent is named too (it could as well have hidden a word).
        assert!(normalise("café sí über か\u{3099}").findings.is_empty());
        assert!(!normalise("cafe\u{301}").findings.is_empty());
    }

    #[test]
    fn ordinary_text_in_every_language_has_no_finding() {
        for text in [
            "Yes, please go ahead.",
            "Sí, adelante. ¡Gracias!",
            "Ja, bitte löschen Sie das Projekt. Grüße",
            "Oui, allez-y, je confirme.",
            "Sim, pode prosseguir. Obrigada",
            "Sì, procedete pure.",
            "Ja, ga uw gang.",
            "はい、Runner登録トークンをリセットしてください。",
            "是的，请继续。",
            "네, 진행해 주세요 👍🏻 ❤️",
            "Thanks 🙏 👨‍👩‍👧",
        ] {
            let n = normalise(text);
            assert!(n.findings.is_empty(), "{text:?}: {:?}", n.findings);
            assert_eq!(n.text, nfkc(text), "{text:?}");
        }
    }
}
