//! Configuration as a new operator meets it: where the state lives, what the keys are, and
//! errors that name the place the operator has to fix.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary in `cwd` with only the given `ONBEHALF_*` variables set.
fn onbehalf_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onbehalf"));
    cmd.current_dir(cwd).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("ONBEHALF_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

/// Everything the command printed, stdout then stderr.
fn text(o: &Output) -> String {
    String::from_utf8_lossy(&[o.stdout.as_slice(), &o.stderr].concat()).into_owned()
}

#[test]
fn the_data_dir_holds_the_database_wherever_the_command_starts() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("state");
    let (first, second) = (root.path().join("first"), root.path().join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let data_dir = [("ONBEHALF_DATA_DIR", data.to_str().unwrap())];

    let out = onbehalf_in(&first, &["migrate"], &data_dir);
    assert!(out.status.success(), "{}", text(&out));
    assert!(data.join("onbehalf.db").is_file(), "{}", text(&out));
    assert!(
        !first.join("data").exists(),
        "nothing under the working directory"
    );

    // Another working directory, the same data dir: the same database, not a new empty one.
    let out = onbehalf_in(&second, &["audit", "verify"], &data_dir);
    assert!(out.status.success(), "{}", text(&out));
    let db = std::fs::canonicalize(data.join("onbehalf.db")).unwrap();
    assert!(
        text(&out).contains(&format!("database: SQLite database {}", db.display())),
        "{}",
        text(&out)
    );
    assert!(!second.join("data").exists());

    // An explicit database URL still wins over the data dir.
    let elsewhere = root.path().join("explicit.db");
    let url = format!("sqlite://{}", elsewhere.display());
    let out = onbehalf_in(
        &second,
        &["check-config"],
        &[data_dir[0], ("ONBEHALF_DATABASE_URL", &url)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("database_url = \"{url}\"")),
        "{}",
        text(&out)
    );
}

#[test]
fn check_config_help_lists_every_key_with_its_default_and_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let out = onbehalf_in(dir.path(), &["check-config", "--help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for (key, meaning) in onbehalf::config::KEY_DOCS {
        let variable = format!("ONBEHALF_{}", key.to_ascii_uppercase());
        assert!(
            help.contains(&format!("{key}  ({variable})")),
            "{key}: {help}"
        );
        let first_words: String = meaning
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(help.contains(&first_words), "{key}'s meaning: {help}");
    }
    assert!(help.contains("default: 127.0.0.1:8080"), "{help}");
    assert!(help.contains("default: 4"), "workers' default: {help}");
    assert!(
        help.contains("default: sqlite://<data_dir>/onbehalf.db"),
        "{help}"
    );
}

#[test]
fn an_unknown_key_suggests_the_nearest_and_points_to_the_key_list() {
    let dir = tempfile::tempdir().unwrap();
    let out = onbehalf_in(dir.path(), &["check-config"], &[("ONBEHALF_WORKRES", "4")]);
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert!(msg.contains("ONBEHALF_WORKRES"), "{msg}");
    assert!(msg.contains("did you mean `workers`"), "{msg}");
    assert!(msg.contains("check-config --help"), "{msg}");
}

#[test]
fn a_bad_key_or_value_in_the_file_names_the_file_and_the_toml_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onbehalf.toml");
    let config = file.to_str().unwrap();
    let check = |contents: &str| {
        std::fs::write(&file, contents).unwrap();
        let out = onbehalf_in(dir.path(), &["--config", config, "check-config"], &[]);
        assert_eq!(out.status.code(), Some(2), "{contents}: {}", text(&out));
        text(&out)
    };

    let msg = check("wrokers = 7\n");
    assert!(
        msg.contains(config) && msg.contains("unknown key `wrokers`"),
        "{msg}"
    );
    assert!(
        !msg.contains("ONBEHALF_WROKERS"),
        "the file, not a variable: {msg}"
    );

    let msg = check("workers = \"many\"\n");
    assert!(
        msg.contains(config) && msg.contains("key `workers`"),
        "{msg}"
    );
    assert!(!msg.contains("ONBEHALF_WORKERS"), "{msg}");

    let msg = check("queue_url = \"redis://localhost\"\n");
    assert!(
        msg.contains(config) && msg.contains("key `queue_url`"),
        "{msg}"
    );
    assert!(
        msg.contains("amqp://") && !msg.contains("ONBEHALF_QUEUE_URL"),
        "{msg}"
    );

    // The same bad value from the environment names the variable.
    let out = onbehalf_in(
        dir.path(),
        &["check-config"],
        &[("ONBEHALF_QUEUE_URL", "redis://localhost")],
    );
    assert!(text(&out).contains("ONBEHALF_QUEUE_URL"), "{}", text(&out));
}

#[test]
fn the_readme_documents_every_key() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (key, _) in onbehalf::config::KEY_DOCS {
        let variable = format!("`ONBEHALF_{}`", key.to_ascii_uppercase());
        assert!(
            readme.contains(&variable),
            "README's configuration table lacks {variable}"
        );
    }
}

#[test]
fn check_config_masks_the_gitlab_token_and_refuses_half_a_gitlab_configuration() {
    let root = tempfile::tempdir().unwrap();
    let token = "glpat-very-secret-token-4242";
    let out = onbehalf_in(
        root.path(),
        &["check-config"],
        &[
            ("ONBEHALF_GITLAB_URL", "https://gitlab.com"),
            ("ONBEHALF_GITLAB_TOKEN", token),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("gitlab_url = \"https://gitlab.com\""),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("gitlab_token = \"********\""),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(token), "{}", text(&out));

    let out = onbehalf_in(
        root.path(),
        &["check-config"],
        &[("ONBEHALF_GITLAB_URL", "https://gitlab.com")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ONBEHALF_GITLAB_TOKEN"),
        "{}",
        text(&out)
    );

    let out = onbehalf_in(
        root.path(),
        &["check-config"],
        &[("ONBEHALF_GITLAB_TOKEN", token)],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("ONBEHALF_GITLAB_URL"), "{}", text(&out));
    assert!(!text(&out).contains(token), "{}", text(&out));

    let out = onbehalf_in(
        root.path(),
        &["check-config"],
        &[
            ("ONBEHALF_GITLAB_URL", "http://gitlab.example.com"),
            ("ONBEHALF_GITLAB_TOKEN", token),
        ],
    );
    assert!(
        !out.status.success(),
        "plain http is refused: {}",
        text(&out)
    );
}

/// The helpdesk timeout sets every deadline around it (a note's post, its claim, the wait for
/// another worker's claim); one that would let an event's handling outlast the embedded
/// queue's lease is refused before anything starts, saying what to set instead.
#[test]
fn a_helpdesk_timeout_that_outlasts_the_embedded_lease_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let too_long = [("ONBEHALF_HELPDESK_TIMEOUT_SECS", "60")];
    for command in ["check-config", "serve"] {
        let out = onbehalf_in(dir.path(), &[command], &too_long);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", text(&out));
        let msg = text(&out);
        assert!(
            msg.contains("ONBEHALF_HELPDESK_TIMEOUT_SECS (helpdesk_timeout_secs)"),
            "{msg}"
        );
        assert!(msg.contains("300 s lease"), "{msg}");
        assert!(msg.contains("at most 21"), "{msg}");
    }

    // The longest that fits is accepted; with RabbitMQ there is no lease to outlast.
    let out = onbehalf_in(
        dir.path(),
        &["check-config"],
        &[("ONBEHALF_HELPDESK_TIMEOUT_SECS", "21")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = onbehalf_in(
        dir.path(),
        &["check-config"],
        &[
            too_long[0],
            (
                "ONBEHALF_QUEUE_URL",
                "amqp://guest:guest@127.0.0.1:5672/%2f",
            ),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    let out = onbehalf_in(
        dir.path(),
        &["check-config"],
        &[("ONBEHALF_HELPDESK_TIMEOUT_SECS", "0")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("at least 1 second"), "{}", text(&out));
}
