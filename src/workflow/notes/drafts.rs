//! Ready-to-paste texts: the permission question in the handbook's phrasing, the issue line
//! for other team members, and the Admin Note line.

use crate::workflow::Category;

/// The sentence later handbook versions append to a permission question.
const SUFFICIENT: &str =
    "Replying in this ticket stating you provide permission will be sufficient.";
const LEAD_STAFF: &str = "Could you please provide permission for staff to";
const LEAD_CONFIRM: &str = "Could you please confirm that you would like us to";

/// A permission question for `action`, in the phrasing of the `original` question when there
/// is one (so a re-ask reads like the first ask), otherwise the handbook's phrase for the
/// category with a placeholder the agent fills in.
pub fn permission_question(
    category: Category,
    action: Option<&str>,
    original: Option<&str>,
) -> String {
    let lead = match original {
        Some(q) if q.to_lowercase().contains("provide permission for staff to") => LEAD_STAFF,
        Some(_) => LEAD_CONFIRM,
        None if category == Category::ProjectGroupChange => LEAD_STAFF,
        None => LEAD_CONFIRM,
    };
    let action = match action {
        Some(a) => a.to_string(),
        None if category == Category::ProjectGroupChange => {
            "[the exact action, e.g. re-run one or more pipelines in project `xyz` to investigate the issue you've described]".to_string()
        }
        None => "[the exact change, e.g. disable two-factor authentication on your account]".to_string(),
    };
    format!("{lead} {action}? {SUFFICIENT}")
}

/// The line an issue for other team members must carry (project/group changes).
pub fn issue_line(action: &str, link: &str, date: &str) -> String {
    format!("The user provided permission for staff to {action} (ticket {link}, {date}).")
}

/// The Admin Note in the handbook's `Date | Note | Link` format.
pub fn admin_note_line(date: &str, action: &str, link: &str) -> String {
    format!(
        "{date} | {} | user requested | {link}",
        admin_note_summary(action)
    )
}

/// A short form of the action for the Admin Note: the handbook's wording for the usual cases,
/// otherwise the action itself, shortened.
pub fn admin_note_summary(action: &str) -> String {
    const MAX_CHARS: usize = 80;
    let lower = action.to_lowercase();
    let about_2fa = ["2fa", "two-factor", "two factor"]
        .iter()
        .any(|w| lower.contains(w));
    let removal = ["disable", "remove", "reset", "turn off"]
        .iter()
        .any(|w| lower.contains(w));
    if about_2fa && removal {
        return "2FA removed".to_string();
    }
    if lower.contains("primary") && lower.contains("email") {
        return "Primary Email Change - No Access".to_string();
    }
    let mut short = action.trim().trim_end_matches(['.', '?']).to_string();
    for tail in [
        " on your account",
        " from your account",
        " to your account",
        " for your account",
    ] {
        let cut = short.len().saturating_sub(tail.len());
        if short.len() > tail.len()
            && short.is_char_boundary(cut)
            && short[cut..].eq_ignore_ascii_case(tail)
        {
            short.truncate(cut);
        }
    }
    // The Admin Note is one line of a `|`-separated format.
    let short = short.replace(['\n', '\r'], " ").replace('|', "/");
    let mut chars = short.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.extend(chars.by_ref().take(MAX_CHARS - 1));
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_link_follows_the_helpdesks_format_or_falls_back_to_the_id() {
        let terms = |link: Option<&str>| crate::workflow::HelpdeskTerms {
            ticket_link: link.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(
            terms(Some("https://acme.zendesk.com/agent/tickets/{id}")).link(&"42".into()),
            "https://acme.zendesk.com/agent/tickets/42"
        );
        assert_eq!(
            terms(Some("https://desk.example.com/#ticket/zoom/{id}")).link(&"42".into()),
            "https://desk.example.com/#ticket/zoom/42"
        );
        assert_eq!(terms(None).link(&"42".into()), "#42");
        assert_eq!(terms(Some("")).link(&"42".into()), "#42");
    }

    #[test]
    fn admin_note_uses_the_handbook_wording_for_2fa_and_primary_email() {
        assert_eq!(
            admin_note_line(
                "2024-01-16",
                "disable two-factor authentication on your account",
                "#7"
            ),
            "2024-01-16 | 2FA removed | user requested | #7"
        );
        assert_eq!(
            admin_note_summary(
                "add `a@b.c` to your account and make it the _primary_ email address"
            ),
            "Primary Email Change - No Access"
        );
    }

    #[test]
    fn admin_note_summary_shortens_other_actions_to_one_line() {
        assert_eq!(
            admin_note_summary("unlock the sign-in on your account"),
            "Unlock the sign-in"
        );
        let long = "x".repeat(200);
        assert_eq!(admin_note_summary(&long).chars().count(), 81);
        assert!(!admin_note_summary("a | b\nc").contains(['|', '\n']));
    }

    #[test]
    fn reask_keeps_the_lead_phrase_of_the_original_question() {
        let q = permission_question(
            Category::AccountAccess,
            Some("restore `g/p`"),
            Some("Could you please provide permission for staff to restore `g/p`?"),
        );
        assert_eq!(
            q,
            "Could you please provide permission for staff to restore `g/p`? Replying in this ticket stating you provide permission will be sufficient."
        );
        let fresh = permission_question(Category::AccountAccess, None, None);
        assert!(fresh.starts_with("Could you please confirm that you would like us to ["));
    }
}
