//! The review console in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver against the real app on a random port. Logs in
//! through the form, finds a ticket by id, reads its timeline, marks a shadow note wrong,
//! re-queues a dead letter, logs out.
//!
//! Without `chromedriver` the test says so loudly and passes, except under `CI=true`, where a
//! missing browser is a failure (`.ci/run` installs it). With `CONSOLE_SCREENSHOTS=<folder>`
//! it saves PNGs of the main pages there (how `docs/console/` was made).

use crate::common;
use crate::console_support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::ADMIN_TOKEN;
use console_support::{DEAD_TICKET, GRANT_REPLY, TICKET, seeded_app};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromedriver"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !in_ci,
            "CI=true but chromedriver is not installed: .ci/run must install chromium and chromium-driver"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED: the console's browser test needs chromedriver \
             (apt-get install -y chromium chromium-driver) !!!!!!!!\n"
        );
    }
    found
}

async fn start_driver(binary: &PathBuf) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, port };
    let status = format!("http://127.0.0.1:{port}/status");
    assert!(
        common::eventually(Duration::from_secs(20), || async {
            reqwest::get(&status).await.is_ok_and(|r| r.status() == 200)
        })
        .await,
        "chromedriver answers on {port}"
    );
    driver
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// Saves the page as `<name>.png` when screenshots were asked for.
async fn screenshot(client: &Client, name: &str) {
    let Some(folder) = std::env::var_os("CONSOLE_SCREENSHOTS") else {
        return;
    };
    let png = client.screenshot().await.unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(PathBuf::from(folder).join(format!("{name}.png")), png).unwrap();
}

async fn path_of(client: &Client) -> String {
    client.current_url().await.unwrap().path().to_string()
}

/// Waits up to 10 s for the page's path to be `expected`: a click that submits a form or
/// follows a redirect may return while the old page is still shown. Fails with the page's
/// text, so a refused login says why.
async fn assert_path(client: &Client, expected: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let path = path_of(client).await;
        if path == expected {
            return;
        }
        if std::time::Instant::now() > deadline {
            let page = match client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(e) => format!("(no body: {e})"),
            };
            panic!("the page is {path}, not {expected}; it shows:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks `element` and waits for the next page: the click may return before the browser has
/// left the old page, so anything read right after it could come from the old page (or find
/// an element that is about to go stale). The old page's root going stale is the sign.
async fn click_through(client: &Client, element: Element) -> Result<(), CmdError> {
    let old_page = client.find(Locator::Css("html")).await?;
    element.click().await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match old_page.tag_name().await {
            Err(e) if left_the_page(&e) => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) if std::time::Instant::now() > deadline => {
                panic!(
                    "a click that should load a page left {}",
                    path_of(client).await
                )
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Whether reading an element failed because its page is gone. Chromium says so as a stale
/// element reference, or, when the node went in the middle of the command, as an inspector
/// error ("Node with given id does not belong to the document").
fn left_the_page(e: &CmdError) -> bool {
    e.is_stale_element_reference()
        || matches!(e, CmdError::Standard(w) if w.message.contains("does not belong to the document")
            || w.message.contains("No node with given id"))
}

/// Finds `locator` on the page, clicks it and waits for the page it loads.
async fn follow(client: &Client, locator: Locator<'_>) -> Result<(), CmdError> {
    let element = client.find(locator).await?;
    click_through(client, element).await
}

/// The text of the element, waiting for it: a click that submits a form returns before the
/// next page has loaded, and the page may have the same path.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_works_through_the_console_in_chromium() {
    let Some(binary) = chromedriver() else {
        return;
    };
    let app = seeded_app().await;
    let driver = start_driver(&binary).await;
    let client = browser(&driver).await;
    let result = walk_through(&client, &app).await;
    client.close().await.unwrap();
    app.stop().await;
    result.unwrap();
}

async fn walk_through(client: &Client, app: &common::TestApp) -> Result<(), CmdError> {
    // Without a session: the login page, whatever was asked for.
    client.goto(&app.url("/console/shadow")).await?;
    assert_path(client, "/console/login").await;
    screenshot(client, "login").await;
    // A wrong token is refused on the page.
    client
        .find(Locator::Id("token"))
        .await?
        .send_keys("not-the-token")
        .await?;
    follow(client, Locator::Id("login")).await?;
    assert!(
        text_of(client, "#login-error")
            .await
            .contains("not the admin token")
    );
    client
        .find(Locator::Id("token"))
        .await?
        .send_keys(ADMIN_TOKEN)
        .await?;
    follow(client, Locator::Id("login")).await?;
    assert_path(client, "/console").await;
    assert_eq!(text_of(client, "#dead-letter-count").await, "1");
    assert!(text_of(client, "#mode-zendesk").await.contains("shadow"));
    screenshot(client, "overview").await;

    // Find the ticket by id and read its timeline.
    follow(client, Locator::LinkText("Tickets")).await?;
    client
        .find(Locator::Id("f-id"))
        .await?
        .send_keys(TICKET)
        .await?;
    follow(client, Locator::Id("find")).await?;
    screenshot(client, "tickets").await;
    follow(client, Locator::LinkText(TICKET)).await?;
    let ticket_page = format!("/console/tickets/zendesk/{TICKET}");
    assert_path(client, &ticket_page).await;
    assert_eq!(text_of(client, "#ticket-id").await, TICKET);
    let timeline = text_of(client, "#timeline").await;
    assert!(timeline.contains(GRANT_REPLY), "{timeline}");
    assert!(timeline.contains("judged granted"), "{timeline}");
    for step in ["triage", "question-5001", "verdict-5002"] {
        assert!(
            timeline.contains(&format!("Note {step}")),
            "{step} in {timeline}"
        );
    }
    let triage = timeline.find("Note triage").unwrap();
    let verdict = timeline.find("Note verdict-5002").unwrap();
    assert!(triage < verdict, "in time order");
    screenshot(client, "ticket").await;

    // The trail's head as the API gives it.
    follow(client, Locator::LinkText("Trail")).await?;
    assert_eq!(
        text_of(client, "#trail-head").await,
        console_support::api_head(app).await
    );
    follow(client, Locator::Id("verify")).await?;
    assert!(
        text_of(client, "#verification")
            .await
            .starts_with("Intact.")
    );
    screenshot(client, "trail").await;

    // Mark the triage note wrong.
    follow(client, Locator::LinkText("Shadow review")).await?;
    let note = client
        .find(Locator::XPath(&format!(
            "//article[.//input[@name='reference' and @value='onbehalf:zendesk:{TICKET}:triage']]"
        )))
        .await?;
    note.find(Locator::Css("summary")).await?.click().await?;
    note.find(Locator::Css("textarea"))
        .await?
        .send_keys("Wrong category: this is a billing question")
        .await?;
    let mark_wrong = note.find(Locator::Css("button.mark-wrong")).await?;
    click_through(client, mark_wrong).await?;
    assert_path(client, "/console/shadow").await;
    let reason = text_of(client, ".review-reason").await;
    assert!(
        reason.contains("Wrong category: this is a billing question"),
        "{reason}"
    );
    screenshot(client, "shadow").await;

    // Re-queue the dead letter.
    follow(client, Locator::LinkText("Dead letters")).await?;
    assert!(text_of(client, "#dead-letters").await.contains(DEAD_TICKET));
    screenshot(client, "dead-letters").await;
    follow(client, Locator::Css("button.requeue")).await?;
    assert_eq!(
        text_of(client, "#requeued").await,
        "1 event put back on the queue."
    );

    // A phone-width overview for the README.
    if std::env::var_os("CONSOLE_SCREENSHOTS").is_some() {
        client.set_window_size(390, 844).await?;
        follow(client, Locator::LinkText("Overview")).await?;
        screenshot(client, "overview-phone").await;
        client.set_window_size(1280, 900).await?;
    }

    // Logout: every page is the login page again.
    follow(client, Locator::Id("logout")).await?;
    assert_path(client, "/console/login").await;
    for page in ["/console", "/console/tickets", "/console/trail"] {
        client.goto(&app.url(page)).await?;
        assert_path(client, "/console/login").await;
    }
    Ok(())
}
