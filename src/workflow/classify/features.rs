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

/// One feature of a ticket, borrowed from the ticket's text: named only when asked for, so
/// classification hashes n-grams without building a string for each.
#[derive(Debug, Clone, Copy)]
pub enum Feature<'a> {
    Word(&'a str),
    Pair(&'a str, &'a str),
    Chars(&'a [char]),
    Tag(&'a str),
}

impl Feature<'_> {
    /// The feature's name as the model file writes it ("w:delete", "b:can you", "c:_del",
    /// "t:billing"; tags lower-cased).
    pub fn name(&self) -> String {
        match self {
            Feature::Word(w) => format!("w:{w}"),
            Feature::Pair(a, b) => format!("b:{a} {b}"),
            Feature::Chars(c) => format!("c:{}", c.iter().collect::<String>()),
            Feature::Tag(t) => format!("t:{}", t.to_lowercase()),
        }
    }

    /// `key(&self.name())`, computed without the string.
    pub fn key(&self) -> u64 {
        let mut h = Fnv::new();
        match self {
            Feature::Word(w) => {
                h.bytes(b"w:");
                h.bytes(w.as_bytes());
            }
            Feature::Pair(a, b) => {
                h.bytes(b"b:");
                h.bytes(a.as_bytes());
                h.bytes(b" ");
                h.bytes(b.as_bytes());
            }
            Feature::Chars(chars) => {
                h.bytes(b"c:");
                let mut buf = [0u8; 4];
                for c in *chars {
                    h.bytes(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            // Tags are few; their lower case follows `str::to_lowercase` exactly.
            Feature::Tag(_) => return key(&self.name()),
        }
        h.0
    }
}

/// Calls `emit` with every feature of a normalised ticket text (see [`super::prepare`]) and its
/// tags, in text order. A feature may come more than once; the model counts each once.
pub fn for_each(
    shape: FeatureShape,
    text: &str,
    tags: &[String],
    mut emit: impl FnMut(Feature<'_>),
) {
    let words = words(text);
    let mut previous: Option<&str> = None;
    let mut padded: Vec<char> = Vec::with_capacity(MAX_WORD_CHARS + 2);
    for word in words.split(' ').filter(|w| !w.is_empty()) {
        emit(Feature::Word(word));
        if let Some(p) = previous {
            emit(Feature::Pair(p, word));
        }
        previous = Some(word);

        padded.clear();
        padded.push('_');
        padded.extend(word.chars().take(MAX_WORD_CHARS));
        padded.push('_');
        for n in shape.char_min..=shape.char_max {
            for gram in padded.windows(n) {
                emit(Feature::Chars(gram));
            }
        }
    }
    for tag in tags {
        emit(Feature::Tag(tag));
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

/// Each present feature's value: binary features scaled so a long ticket does not outvote a
/// short one (1/√n over the n features the ticket emitted, repeats included).
pub fn value(emitted: usize) -> f64 {
    1.0 / (emitted.max(1) as f64).sqrt()
}

/// FNV-1a: a fixed, portable hash, so a feature's key is the same in every process and build.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The key of a feature name, as the model file writes it.
pub fn key(name: &str) -> u64 {
    let mut h = Fnv::new();
    h.bytes(name.as_bytes());
    h.0
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
            |f| {
                assert_eq!(f.key(), key(&f.name()), "{}", f.name());
                out.push(f.name())
            },
        );
        out
    }

    #[test]
    fn words_bigrams_char_grams_and_tags() {
        let f = all("can you", &["Billing"]);
        for expected in [
            "w:can",
            "w:you",
            "b:can you",
            "c:_ca",
            "c:an_",
            "c:you",
            "t:billing",
        ] {
            assert!(f.contains(&expected.to_string()), "{expected} in {f:?}");
        }
    }

    #[test]
    fn punctuation_separates_and_long_numbers_fold() {
        assert_eq!(
            words("gitlab.com/a-b, #1184093321 2fa 404!"),
            "gitlab com a b # 2fa 404"
        );
        assert_eq!(words("  ログインできません。"), "ログイン できません");
        assert_eq!(
            words("誤って削除したプロジェクト"),
            "誤 って 削除 した プロジェクト"
        );
    }

    #[test]
    fn keys_are_the_names_hashed() {
        assert_eq!(key("w:delete"), Feature::Word("delete").key());
        assert_ne!(key("w:delete"), key("c:delete"));
        let f = all("ログイン できません Ünïcode", &["TAG_X"]);
        assert!(f.contains(&"t:tag_x".to_string()));
        assert!(f.contains(&"c:ログイ".to_string()));
    }
}
