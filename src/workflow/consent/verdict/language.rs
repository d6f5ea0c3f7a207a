//! Which language a reply reads as, by words only one of the judged languages spells so.
//!
//! Short words mean different things across languages (Portuguese "no" is "in the", Spanish
//! "se" a pronoun, Italian "si" a pronoun where Spanish "si" is "if"): the hit reading asks
//! these guesses before it counts such a word as a negation or a condition. Kept apart because
//! the guesses are about the whole text, not about any clause.

use super::words::word_spans;

/// The languages a reply reads as, where a short word would otherwise be misread.
#[derive(Debug, Clone, Copy)]
pub(super) struct Languages {
    pub(super) spanish: bool,
    pub(super) french: bool,
    pub(super) italian: bool,
    pub(super) portuguese: bool,
    /// German rather than Dutch: German "als" is "as" or "when", never the Dutch "if".
    pub(super) german: bool,
}

impl Languages {
    pub(super) fn of(folded: &str) -> Languages {
        Languages {
            spanish: is_spanish(folded),
            french: is_french(folded),
            italian: is_italian(folded),
            portuguese: is_portuguese(folded),
            german: reads_as(folded, GERMAN_ONLY) && !reads_as(folded, DUTCH_ONLY),
        }
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

/// Words only German spells so, against Dutch (the other language with "als").
const GERMAN_ONLY: &[&str] = &[
    "ich",
    "nicht",
    "bitte",
    "und",
    "wir",
    "sie",
    "danke",
    "ist",
    "das",
    "auf",
    "für",
    "mit",
    "freundlichen",
    "grüßen",
    "einverstanden",
    "sehr",
    "mein",
    "meine",
    "gerne",
    "kein",
    "keine",
    "auch",
    "noch",
    "schon",
    "wird",
    "werden",
    "habe",
    "haben",
];
const DUTCH_ONLY: &[&str] = &[
    "ik", "niet", "jullie", "graag", "het", "een", "mijn", "wij", "bedankt", "ook", "nog", "heb",
    "hebben", "wordt", "worden", "alvast", "groet", "groeten", "bent", "zijn",
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
