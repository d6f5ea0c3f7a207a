//! Shadow mode: notes are recorded in the store and never leave the service.
use super::{Helpdesk, HelpdeskError, NoteMode};
use crate::workflow::{CommentId, TicketId};
use async_trait::async_trait;

#[derive(Debug, Default, Clone)]
pub struct ShadowHelpdesk;

#[async_trait]
impl Helpdesk for ShadowHelpdesk {
    fn mode(&self) -> NoteMode {
        NoteMode::Shadow
    }

    async fn find_note(
        &self,
        _ticket: &TicketId,
        _reference: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        Ok(None)
    }

    async fn add_internal_note(
        &self,
        _ticket: &TicketId,
        _html: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        Ok(None)
    }
}
