//! GitLab roles: a reply that names another role than the one the question asks for ("you
//! can make him maintainer" when Owner was asked) permits something else, whatever it grants.
//!
//! Roles are words, not targets, and a role change names two of them; they get their own
//! check so that a grant's own words can be compared with the question's.

use super::signal::{Signal, quoted};
use super::words::contains_word;
use crate::workflow::consent::lexicon::Kind;

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
pub(super) fn other_role(request: &str, reply: &str) -> Option<Signal> {
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
pub(super) fn role_in_grant(request: &str, signals: &[Signal]) -> Option<Signal> {
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
