//! Which note of a ticket a [`NoteDraft`](super::NoteDraft) is: its idempotency key and the kind
//! the metrics count it under.
//!
//! The key is stored with every note and is part of its reference marker, so its text is fixed:
//! a note recorded by an earlier release must still be found by the same key. A new step is a
//! new variant here, and the compiler asks for its key, its kind and its parse.

use super::{Category, CommentId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One note per (ticket, step) is ever posted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoteStep {
    Triage,
    /// The `nth` change of category by an agent's override (from 1).
    Recategorised {
        category: Category,
        nth: u32,
    },
    Escalated,
    OwnershipVerified,
    RoleVerified,
    /// A permission question, by the comment that asked it.
    Question {
        comment_id: CommentId,
    },
    /// A permission question asked before ownership was verified.
    WarningUnverified {
        comment_id: CommentId,
    },
    /// The note a requester's reply gets, by the reply's comment id.
    Verdict {
        reply_id: CommentId,
    },
    /// The `nth` change of requester (from 1).
    RequesterChanged {
        nth: u32,
    },
    /// The `nth` reopening (from 1).
    Reopened {
        nth: u32,
    },
    /// The `nth` note with what GitLab says, after the triage note (from 1).
    GitLabFacts {
        nth: u32,
    },
}

impl NoteStep {
    /// The stored key, e.g. `question-12` or `recategorised-account_access-2`.
    pub fn key(&self) -> String {
        match self {
            NoteStep::Triage => "triage".into(),
            NoteStep::Recategorised { category, nth: 1 } => format!("recategorised-{category}"),
            NoteStep::Recategorised { category, nth } => format!("recategorised-{category}-{nth}"),
            NoteStep::Escalated => "escalated".into(),
            NoteStep::OwnershipVerified => "ownership-verified".into(),
            NoteStep::RoleVerified => "role-verified".into(),
            NoteStep::Question { comment_id } => format!("question-{comment_id}"),
            NoteStep::WarningUnverified { comment_id } => {
                format!("warning-unverified-{comment_id}")
            }
            NoteStep::Verdict { reply_id } => format!("verdict-{reply_id}"),
            NoteStep::RequesterChanged { nth } => format!("requester-changed-{nth}"),
            NoteStep::Reopened { nth } => format!("reopened-{nth}"),
            NoteStep::GitLabFacts { nth } => format!("gitlab-{nth}"),
        }
    }

    /// The `kind` label of `onbehalf_notes_total`: the step without what tells its notes apart.
    pub fn kind(&self) -> &'static str {
        match self {
            NoteStep::Triage => "triage",
            NoteStep::Recategorised { .. } => "recategorised",
            NoteStep::Escalated => "escalated",
            NoteStep::OwnershipVerified => "ownership_verified",
            NoteStep::RoleVerified => "role_verified",
            NoteStep::Question { .. } => "question",
            NoteStep::WarningUnverified { .. } => "warning_unverified",
            NoteStep::Verdict { .. } => "verdict",
            NoteStep::RequesterChanged { .. } => "requester_changed",
            NoteStep::Reopened { .. } => "reopened",
            NoteStep::GitLabFacts { .. } => "gitlab",
        }
    }

    /// Reads a stored key back; `None` for a key no release has written.
    pub fn parse(key: &str) -> Option<NoteStep> {
        let fixed = match key {
            "triage" => Some(NoteStep::Triage),
            "escalated" => Some(NoteStep::Escalated),
            "ownership-verified" => Some(NoteStep::OwnershipVerified),
            "role-verified" => Some(NoteStep::RoleVerified),
            _ => None,
        };
        if fixed.is_some() {
            return fixed;
        }
        let id = |prefix: &str| {
            key.strip_prefix(prefix)
                .filter(|rest| !rest.is_empty())
                .map(CommentId::from)
        };
        let nth = |prefix: &str| key.strip_prefix(prefix).and_then(|n| n.parse().ok());
        // `warning-unverified-` before anything shorter that could share its start.
        if let Some(comment_id) = id("warning-unverified-") {
            return Some(NoteStep::WarningUnverified { comment_id });
        }
        if let Some(comment_id) = id("question-") {
            return Some(NoteStep::Question { comment_id });
        }
        if let Some(reply_id) = id("verdict-") {
            return Some(NoteStep::Verdict { reply_id });
        }
        if let Some(nth) = nth("requester-changed-") {
            return Some(NoteStep::RequesterChanged { nth });
        }
        if let Some(nth) = nth("reopened-") {
            return Some(NoteStep::Reopened { nth });
        }
        if let Some(nth) = nth("gitlab-") {
            return Some(NoteStep::GitLabFacts { nth });
        }
        let rest = key.strip_prefix("recategorised-")?;
        // Category names use `_`, never `-`.
        let (category, nth) = match rest.split_once('-') {
            Some((category, n)) => (category, n.parse().ok().filter(|n| *n > 1)?),
            None => (rest, 1),
        };
        Some(NoteStep::Recategorised {
            category: Category::parse(category)?,
            nth,
        })
    }

    /// The metric kind of a stored key (`other` for a key no release has written).
    pub fn kind_of(key: &str) -> &'static str {
        NoteStep::parse(key).map_or("other", |step| step.kind())
    }
}

impl fmt::Display for NoteStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl PartialEq<&str> for NoteStep {
    fn eq(&self, other: &&str) -> bool {
        self.key() == *other
    }
}

/// Serialised as its key, the same text the store keeps.
impl Serialize for NoteStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for NoteStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        NoteStep::parse(&key)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown note step {key:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_step() -> Vec<NoteStep> {
        vec![
            NoteStep::Triage,
            NoteStep::Recategorised {
                category: Category::AccountAccess,
                nth: 1,
            },
            NoteStep::Recategorised {
                category: Category::ProjectGroupChange,
                nth: 3,
            },
            NoteStep::Escalated,
            NoteStep::OwnershipVerified,
            NoteStep::RoleVerified,
            NoteStep::Question {
                comment_id: "c-10".into(),
            },
            NoteStep::WarningUnverified {
                comment_id: "11".into(),
            },
            NoteStep::Verdict {
                reply_id: "12".into(),
            },
            NoteStep::RequesterChanged { nth: 2 },
            NoteStep::Reopened { nth: 1 },
            NoteStep::GitLabFacts { nth: 1 },
        ]
    }

    /// The keys earlier releases stored: a note recorded by them is found by the same key.
    #[test]
    fn keys_are_the_ones_already_stored() {
        let keys: Vec<String> = every_step().iter().map(NoteStep::key).collect();
        assert_eq!(
            keys,
            [
                "triage",
                "recategorised-account_access",
                "recategorised-project_group_change-3",
                "escalated",
                "ownership-verified",
                "role-verified",
                "question-c-10",
                "warning-unverified-11",
                "verdict-12",
                "requester-changed-2",
                "reopened-1",
                "gitlab-1",
            ]
        );
    }

    #[test]
    fn every_key_reads_back_as_its_step() {
        for step in every_step() {
            assert_eq!(NoteStep::parse(&step.key()), Some(step.clone()), "{step}");
            let json = serde_json::to_string(&step).unwrap();
            assert_eq!(json, format!("\"{}\"", step.key()));
            assert_eq!(serde_json::from_str::<NoteStep>(&json).unwrap(), step);
        }
        for unknown in [
            "",
            "question-",
            "reopened-x",
            "recategorised-nope",
            "recategorised-other-1",
        ] {
            assert_eq!(NoteStep::parse(unknown), None, "{unknown}");
        }
    }

    /// A verified note used to be counted as kind `ownership` or `role` (the key cut at `-`).
    #[test]
    fn a_verified_note_is_counted_as_verified() {
        assert_eq!(
            NoteStep::kind_of("ownership-verified"),
            "ownership_verified"
        );
        assert_eq!(NoteStep::kind_of("role-verified"), "role_verified");
        assert_eq!(
            NoteStep::kind_of("warning-unverified-11"),
            "warning_unverified"
        );
        assert_eq!(
            NoteStep::kind_of("requester-changed-1"),
            "requester_changed"
        );
        assert_eq!(NoteStep::kind_of("recategorised-other-2"), "recategorised");
        assert_eq!(NoteStep::kind_of("ask_permission"), "other");
    }
}
