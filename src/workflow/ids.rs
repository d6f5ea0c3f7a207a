//! The helpdesk's ids, one type each: a ticket's and a comment's id are both strings on the
//! wire (Zendesk sends `"5158"`, Zammad numbers), so as `String`s either could be passed where
//! the other, a requester's id or a helpdesk's name is meant and nothing would say so. As types
//! the compiler does.
//!
//! Each is its text unchanged: serialised as a plain string (`serde(transparent)`), printed as
//! itself, stored and sent as [`as_str`](TicketId::as_str). Nothing is checked on the way in: an
//! id is whatever the helpdesk sent. They do not dereference to `str`, so a `&TicketId` is never
//! accepted as any `&str`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! helpdesk_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        // Compared with text (a literal, an id read back): a `TicketId` and a `CommentId`
        // still never compare with each other.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

helpdesk_id!(
    /// A ticket's id on its helpdesk (with the helpdesk's name, the store's key).
    TicketId
);

helpdesk_id!(
    /// A comment's id on its helpdesk (Zammad: an article's), unique within the helpdesk.
    CommentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_text_on_every_wire() {
        let ticket = TicketId::from("5158");
        assert_eq!(serde_json::to_string(&ticket).unwrap(), r#""5158""#);
        assert_eq!(
            serde_json::from_str::<CommentId>(r#""c-10""#).unwrap(),
            CommentId::from("c-10")
        );
        assert_eq!(format!("#{ticket}"), "#5158");
        assert_eq!(ticket.as_str(), "5158");
    }
}
