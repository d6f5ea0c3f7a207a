//! `GET /console/tickets`: tickets newest change first, filtered by stage, category,
//! helpdesk, a pending permission question, or an exact id; keyset-paginated.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use super::given;
use crate::console::error::ConsoleError;
use crate::console::render;
use crate::console::render::percent_encode;
use crate::console::session::Session;
use crate::ingest::HttpState;
use crate::store::console::{PAGE_SIZE, TicketCursor, TicketFilter};
use crate::workflow::{Category, TicketId};

/// Every stage a ticket can be in (`Stage::as_str`), for the filter.
pub const STAGES: [&str; 12] = [
    "new",
    "silent",
    "verify_ownership",
    "verify_role",
    "ask_permission",
    "awaiting_permission",
    "ask_one_at_a_time",
    "permission_granted",
    "permission_declined",
    "permission_withdrawn",
    "escalated",
    "done",
];

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    stage: Option<String>,
    category: Option<String>,
    helpdesk: Option<String>,
    /// Checkbox: any value means "only tickets with a pending permission question".
    pending: Option<String>,
    id: Option<String>,
    /// The last row of the previous page: `updated_at:helpdesk:ticket_id`.
    after: Option<String>,
}

fn cursor(text: &str) -> Result<TicketCursor, ConsoleError> {
    let mut parts = text.splitn(3, ':');
    let bad = || ConsoleError::BadRequest(format!("after={text:?} is not a page position"));
    let updated_at = parts
        .next()
        .and_then(|p| p.parse::<i64>().ok())
        .ok_or_else(bad)?;
    let helpdesk = parts.next().ok_or_else(bad)?.to_string();
    let ticket_id = parts.next().ok_or_else(bad)?.into();
    Ok(TicketCursor {
        updated_at,
        helpdesk,
        ticket_id,
    })
}

fn known(
    what: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Result<Option<String>, ConsoleError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ConsoleError::BadRequest(format!(
            "{what} {v:?} is not one of {}",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

pub async fn list(
    State(state): State<HttpState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let filter = TicketFilter {
        stage: known("stage", given(&query.stage), &STAGES)?,
        category: known("category", given(&query.category), &categories)?,
        helpdesk: given(&query.helpdesk),
        pending_permission: given(&query.pending).is_some(),
        ticket_id: given(&query.id).map(TicketId::from),
        after: given(&query.after).map(|a| cursor(&a)).transpose()?,
    };
    let rows = state.store.ticket_page(&filter).await?;
    let next_query = (rows.len() as i64 == PAGE_SIZE)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            page_query(&ListQuery {
                stage: filter.stage.clone(),
                category: filter.category.clone(),
                helpdesk: filter.helpdesk.clone(),
                pending: filter.pending_permission.then(|| "1".to_string()),
                id: filter.ticket_id.as_ref().map(TicketId::to_string),
                after: Some(format!(
                    "{}:{}:{}",
                    last.updated_at, last.helpdesk, last.ticket_id
                )),
            })
        });
    let helpdesks: Vec<String> = state
        .console
        .helpdesks
        .iter()
        .map(|h| h.name.clone())
        .collect();
    let body = render::page(
        "tickets.html",
        "tickets",
        &session.csrf,
        minijinja::context! {
            rows, next_query, stages => STAGES, categories, helpdesks,
            filter => minijinja::context! {
                stage => filter.stage, category => filter.category, helpdesk => filter.helpdesk,
                pending => filter.pending_permission, id => filter.ticket_id,
                paged => filter.after.is_some(),
            },
        },
    )?;
    Ok(Html(body))
}

/// The query string of a page link (values percent-encoded).
fn page_query(query: &ListQuery) -> String {
    let pairs = [
        ("stage", &query.stage),
        ("category", &query.category),
        ("helpdesk", &query.helpdesk),
        ("pending", &query.pending),
        ("id", &query.id),
        ("after", &query.after),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", percent_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_position_reads_back() {
        let c = cursor("1700000000000:zendesk:12:3").unwrap();
        assert_eq!(c.updated_at, 1_700_000_000_000);
        assert_eq!(c.helpdesk, "zendesk");
        assert_eq!(c.ticket_id, "12:3");
        assert!(cursor("x:zendesk:1").is_err());
        assert!(cursor("1:zendesk").is_err());
    }

    #[test]
    fn stages_match_the_workflow() {
        use crate::workflow::state::Stage;
        for stage in [
            Stage::New,
            Stage::AwaitingPermission,
            Stage::Done,
            Stage::AskOneAtATime,
        ] {
            assert!(STAGES.contains(&stage.as_str()));
        }
        for pending in crate::store::console::PENDING_PERMISSION_STAGES {
            assert!(STAGES.contains(&pending));
        }
    }
}
