//! The verdict a record holds: only a grant or a refusal is ever recorded.

use crate::workflow::ConsentVerdict;
use std::fmt;

/// A record's `verdict` field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordedVerdict {
    Granted,
    Declined,
    /// Text no release writes, read from a damaged or forged record: kept as read, so the hash
    /// still covers it and verification names it.
    Unrecognised(String),
}

impl RecordedVerdict {
    /// The stored and hashed text.
    pub fn as_str(&self) -> &str {
        match self {
            RecordedVerdict::Granted => "granted",
            RecordedVerdict::Declined => "declined",
            RecordedVerdict::Unrecognised(text) => text,
        }
    }

    /// Reads the stored text back.
    pub fn from_stored(text: String) -> RecordedVerdict {
        match text.as_str() {
            "granted" => RecordedVerdict::Granted,
            "declined" => RecordedVerdict::Declined,
            _ => RecordedVerdict::Unrecognised(text),
        }
    }

    /// The verdict a draft is recorded with; `None` for the verdicts that are never recorded.
    pub fn of(verdict: ConsentVerdict) -> Option<RecordedVerdict> {
        match verdict {
            ConsentVerdict::Granted => Some(RecordedVerdict::Granted),
            ConsentVerdict::Declined => Some(RecordedVerdict::Declined),
            ConsentVerdict::Unclear | ConsentVerdict::Ignored => None,
        }
    }
}

impl fmt::Display for RecordedVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RecordedVerdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_reads_back_as_itself() {
        for text in ["granted", "declined", "unclear", "Granted", ""] {
            let verdict = RecordedVerdict::from_stored(text.to_string());
            assert_eq!(verdict.as_str(), text);
        }
        assert_eq!(
            RecordedVerdict::from_stored("granted".into()),
            RecordedVerdict::Granted
        );
        assert_eq!(
            RecordedVerdict::from_stored("Granted".into()),
            RecordedVerdict::Unrecognised("Granted".into())
        );
    }

    #[test]
    fn only_grants_and_refusals_are_recorded() {
        assert_eq!(
            RecordedVerdict::of(ConsentVerdict::Declined),
            Some(RecordedVerdict::Declined)
        );
        assert_eq!(RecordedVerdict::of(ConsentVerdict::Unclear), None);
        assert_eq!(RecordedVerdict::of(ConsentVerdict::Ignored), None);
    }
}
