//! What went wrong on the way to the helpdesk, in words an operator can act on: which host,
//! and whether it refused the connection, did not resolve or did not answer in time.
//! reqwest's own text ("error sending request") names neither.

/// E.g. `connection refused to 127.0.0.1:9 (helpdesk)`, `timed out talking to
/// acme.zendesk.com:443 (helpdesk)`. Never the URL's path or query.
pub fn describe(e: &reqwest::Error) -> String {
    let host = e
        .url()
        .and_then(|u| {
            let host = u.host_str()?;
            Some(match u.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| "the helpdesk".into());
    let mut io_kind = None;
    let mut innermost: &dyn std::error::Error = e;
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        innermost = current;
        cause = current.source();
    }
    use std::io::ErrorKind;
    let what = match io_kind {
        Some(ErrorKind::ConnectionRefused) => format!("connection refused to {host}"),
        Some(ErrorKind::ConnectionReset) => format!("connection reset by {host}"),
        Some(ErrorKind::TimedOut) => format!("timed out talking to {host}"),
        _ if e.is_timeout() => format!("timed out talking to {host}"),
        _ if e.is_connect() => format!("cannot connect to {host}: {innermost}"),
        _ => format!("request to {host} failed: {innermost}"),
    };
    format!("{what} (helpdesk)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Port 9 (discard) on the loopback: nothing listens there on a test machine.
    #[tokio::test]
    async fn a_refused_connection_names_the_host_and_port() {
        let e = reqwest::Client::new()
            .get("http://127.0.0.1:9/api/v2/tickets/1.json?secret=x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(describe(&e), "connection refused to 127.0.0.1:9 (helpdesk)");
    }
}
