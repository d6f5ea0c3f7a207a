//! What one event produces besides the new state, and the view every note starts from.

use super::{SettledQuestion, TicketState};
use crate::workflow::notes::{self, NextStep, NoteTemplate, NoteView};
use crate::workflow::{
    Category, ConfirmationDraft, NoteDraft, NoteStep, TicketEvent, WorkflowSettings,
};

/// Collects the notes and records of one event.
pub(super) struct Ctx<'a> {
    pub(super) settings: &'a WorkflowSettings,
    pub(super) event: &'a TicketEvent,
    pub(super) decision_notes: Vec<NoteDraft>,
    pub(super) confirmations: Vec<ConfirmationDraft>,
}

impl Ctx<'_> {
    fn link(&self) -> String {
        notes::ticket_link(self.settings.helpdesk_url.as_deref(), &self.event.ticket.id)
    }

    /// The view every note starts from: category, next step (with its ready-to-paste text),
    /// checklist.
    pub(super) fn view(&self, state: &TicketState) -> NoteView {
        let category = state.category.unwrap_or(Category::Other);
        let next = state.next_step(category);
        let mut view = NoteView::new(
            category,
            &self.settings.tags,
            next,
            state.progress(category),
        );
        view.reasons = state.reasons.clone();
        let gitlab = state.current_gitlab();
        view.gitlab = gitlab.map(notes::GitLabView::new);
        let current = state.current_action();
        view.action = current.map(|(a, _)| a.to_string());
        let step = match next {
            // While escalated the paste still helps with whatever comes next.
            NextStep::FollowEscalation => state.workflow_step(category),
            other => other,
        };
        view.paste = match step {
            NextStep::RoleNotMet => gitlab
                .and_then(notes::owner_reply)
                .map(|text| notes::Paste {
                    label: "Reply to paste (the requester cannot ask for this change)",
                    text,
                    line: false,
                }),
            NextStep::AskPermission => Some(notes::Paste {
                label: "Permission question to paste (fill in the exact action)",
                text: notes::permission_question(category, None, None),
                line: false,
            }),
            NextStep::AskOneAtATime => Some(notes::Paste {
                label: "Permission question to paste (one action per comment)",
                text: notes::permission_question(
                    category,
                    current.map(|(a, _)| a),
                    current.map(|(_, q)| q),
                ),
                line: false,
            }),
            NextStep::Reask => Some(notes::Paste {
                label: "Permission question to paste",
                text: notes::permission_question(
                    category,
                    current.map(|(a, _)| a),
                    current.map(|(_, q)| q),
                ),
                line: false,
            }),
            NextStep::ProceedProject | NextStep::ProceedAccount => state
                .usable_grant(category)
                .map(|s| self.grant_paste(category, s)),
            _ => None,
        };
        view
    }

    fn grant_paste(&self, category: Category, s: &SettledQuestion) -> notes::Paste {
        let date = notes::format_date(s.decided_at);
        let link = self.link();
        if category == Category::AccountAccess {
            notes::Paste {
                label: "Admin Note to add to the user's account",
                text: notes::admin_note_line(&date, &s.action, &link),
                line: true,
            }
        } else {
            notes::Paste {
                label: "Line for an issue for other team members",
                text: notes::issue_line(&s.action, &link, &date),
                line: false,
            }
        }
    }

    /// Adds a note unless the ticket is `other` (silent); `force` is for the one note that
    /// acknowledges an agent's override to `other`.
    pub(super) fn note(
        &mut self,
        state: &TicketState,
        step: NoteStep,
        template: NoteTemplate,
        view: &NoteView,
        force: bool,
    ) {
        if state.category == Some(Category::Other) && !force {
            return;
        }
        self.decision_notes.push(NoteDraft {
            step,
            html_body: notes::render(template, view),
        });
    }
}
