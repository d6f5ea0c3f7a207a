//! What the statistical model sees of a ticket: word unigrams and bigrams, character n-grams
//! inside words, and the helpdesk tags, each named by a short string ("w:delete",
//! "b:can you", "c:_del", "t:billing").
//!
//! Character n-grams carry the model across inflections and related languages ("elimin" in
//! Spanish, Italian and Portuguese) and across scripts without spaces (Japanese, Chinese),
//! where a "word" is a whole run of letters. Training and classification call the same
//! function, so a model always sees features made the way it was trained on.

/// How the n-grams are cut; written into the model file so it is read back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureShape {
    /// Character n-gram lengths, inclusive (a word is padded with `_` on both sides).
    pub char_min: usize,
    pub char_max: usize,
}

impl Default for FeatureShape {
    fn default() -> FeatureShape {
        FeatureShape {
            char_min: 2,
            char_max: 5,
        }
    }
}

/// Digits in a run longer than this become one `#`: ticket, pipeline and issue numbers say
/// nothing about the category, while "2fa", "404" or "500" do.
const MAX_DIGITS: usize = 3;

/// Words longer than this (in characters) get no character n-grams past this point: a long
/// run of CJK text is covered by its first stretch, and a pasted hash or token costs nothing.
const MAX_WORD_CHARS: usize = 48;

/// Calls `emit` with every feature of a normalised ticket text (see [`super::prepare`]) and its
/// tags. A feature may be emitted more than once; callers count each distinct one once.
pub fn for_each(
    shape: FeatureShape,
    text: &str,
    tags: &[String],
    mut emit: impl FnMut(&str),
) {
    let words = words(text);
    let mut name = String::with_capacity(64);
    let mut previous: Option<&str> = None;
    let mut padded: Vec<char> = Vec::with_capacity(MAX_WORD_CHARS + 2);
    for word in words.split(' ').filter(|w| !w.is_empty()) {
        name.clear();
        name.push_str("w:");
        name.push_str(word);
        emit(&name);
        if let Some(p) = previous {
            name.clear();
            name.push_str("b:");
            name.push_str(p);
            name.push(' ');
            name.push_str(word);
            emit(&name);
        }
        previous = Some(word);

        padded.clear();
        padded.push('_');
        padded.extend(word.chars().take(MAX_WORD_CHARS));
        padded.push('_');
        for n in shape.char_min..=shape.char_max {
            for gram in padded.windows(n) {
                name.clear();
                name.push_str("c:");
                name.extend(gram);
                emit(&name);
            }
        }
    }
    for tag in tags {
        name.clear();
        name.push_str("t:");
        name.push_str(&tag.to_lowercase());
        emit(&name);
    }
}

/// Scripts written without spaces: a change between them is the nearest thing to a word
/// boundary ("削除" | "して" | "プロジェクト").
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Han,
    Hiragana,
    Katakana,
    Other,
}

fn script(c: char) -> Script {
    match c {
        '\u{3040}'..='\u{309f}' => Script::Hiragana,
        '\u{30a0}'..='\u{30ff}' | '\u{31f0}'..='\u{31ff}' => Script::Katakana,
        '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' => Script::Han,
        _ => Script::Other,
    }
}

/// The text as words separated by single spaces: letters and digits kept, everything else a
/// separator, a change of script between Han, kana and the rest a separator too, long digit
/// runs folded to `#`.
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = 0usize;
    let mut pending_space = false;
    let mut last = Script::Other;
    for c in text.chars() {
        if c.is_alphanumeric() {
            let now = script(c);
            if now != last {
                pending_space = true;
                last = now;
            }
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            if c.is_ascii_digit() {
                digits += 1;
                if digits <= MAX_DIGITS {
                    out.push(c);
                } else if digits == MAX_DIGITS + 1 {
                    // The run is long: what was written of it becomes one `#`.
                    out.truncate(out.len() - MAX_DIGITS);
                    out.push('#');
                }
            } else {
                digits = 0;
                out.push(c);
            }
        } else {
            digits = 0;
            pending_space = true;
        }
    }
    out
}

/// FNV-1a: a fixed, portable hash, so a feature's key is the same in every process and build.
pub fn key(feature: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in feature.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The distinct feature keys of a ticket, sorted.
pub fn keys(shape: FeatureShape, text: &str, tags: &[String]) -> Vec<u64> {
    let mut keys = Vec::with_capacity(text.len() * 4);
    for_each(shape, text, tags, |f| keys.push(key(f)));
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, tags: &[&str]) -> Vec<String> {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        let mut out = Vec::new();
        for_each(
            FeatureShape {
                char_min: 3,
                char_max: 3,
            },
            text,
            &tags,
            |f| out.push(f.to_string()),
        );
        out
    }

    #[test]
    fn words_bigrams_char_grams_and_tags() {
        let f = all("can you", &["Billing"]);
        for expected in ["w:can", "w:you", "b:can you", "c:_ca", "c:an_", "c:you", "t:billing"] {
            assert!(f.contains(&expected.to_string()), "{expected} in {f:?}");
        }
    }

    #[test]
    fn punctuation_separates_and_long_numbers_fold() {
        assert_eq!(words("gitlab.com/a-b, #1184093321 2fa 404!"), "gitlab com a b # 2fa 404");
        assert_eq!(words("  ログインできません。"), "ログイン できません");
        assert_eq!(words("誤って削除したプロジェクト"), "誤 って 削除 した プロジェクト");
    }

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(key("w:delete"), key("w:delete"));
        assert_ne!(key("w:delete"), key("c:delete"));
        let k = keys(FeatureShape::default(), "delete delete", &[]);
        assert!(k.windows(2).all(|w| w[0] < w[1]));
    }
}
