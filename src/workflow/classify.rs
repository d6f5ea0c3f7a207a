//! Ticket classification. STUB: the classification helper replaces this file.
use super::Category;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub category: Category,
    /// The evidence that decided it, short and human-readable (shown in notes and the CLI).
    pub reasons: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file is not valid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct Classifier {
    override_prefix: String,
}

impl Classifier {
    /// The rules shipped in `rules/classification.toml`.
    pub fn builtin() -> Classifier {
        Classifier {
            override_prefix: "onbehalf_category_".into(),
        }
    }

    /// Rules from an operator's file (same format as the shipped one).
    pub fn from_toml(_text: &str) -> Result<Classifier, RulesError> {
        Ok(Self::builtin())
    }

    /// Tags `<prefix><category>` override the category (agents' escape hatch).
    pub fn with_override_prefix(mut self, prefix: &str) -> Classifier {
        self.override_prefix = prefix.to_string();
        self
    }

    pub fn classify(&self, subject: &str, description: &str, tags: &[String]) -> Classification {
        for tag in tags {
            if let Some(c) = tag
                .strip_prefix(&self.override_prefix)
                .and_then(Category::parse)
            {
                return Classification {
                    category: c,
                    reasons: vec![format!("tag {tag}")],
                };
            }
        }
        // Minimal stand-in keyword rules.
        let text = format!("{subject} {description}").to_lowercase();
        for (word, category) in [
            ("2fa", Category::AccountAccess),
            ("locked out", Category::AccountAccess),
            ("pipeline", Category::ProjectGroupChange),
            ("project", Category::ProjectGroupChange),
        ] {
            if text.contains(word) {
                return Classification {
                    category,
                    reasons: vec![format!("\"{word}\"")],
                };
            }
        }
        Classification {
            category: Category::Other,
            reasons: vec![],
        }
    }
}
