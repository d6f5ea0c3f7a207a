//! Zendesk REST client. (in progress)
