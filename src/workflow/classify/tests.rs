//! Behaviour of the shipped rules on the traps named in the issue, the override tag and the
//! rules-file errors. The large corpus test lives in tests/it/corpus_classify.rs.
use super::*;

fn classify(subject: &str, description: &str, tags: &[&str]) -> Classification {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    Classifier::builtin().classify(subject, description, &tags)
}

fn category(subject: &str, description: &str, tags: &[&str]) -> Category {
    classify(subject, description, tags).category
}

#[test]
fn shipped_rules_load() {
    assert!(Classifier::from_toml(BUILTIN_RULES).is_ok());
}

#[test]
fn lost_two_factor_device_is_account_access_with_reasons() {
    let c = classify(
        "2FA problem",
        "I lost my phone with the authenticator and have no recovery codes.",
        &[],
    );
    assert_eq!(c.category, Category::AccountAccess);
    assert!(
        c.reasons
            .iter()
            .any(|r| r.contains("2fa") && r.contains("→ account_access")),
        "{:?}",
        c.reasons
    );
}

#[test]
fn enforcing_2fa_for_a_group_is_not_a_lost_account() {
    let c = "How do I enforce 2FA for all members of our group?";
    assert_eq!(category("2FA for group", c, &[]), Category::Other);
    assert_eq!(
        category("2FA", c, &["saas_account_category_2fa_issues"]),
        Category::Other
    );
}

#[test]
fn a_locked_lfs_file_is_not_a_locked_account() {
    let d = "A file in my project is locked by LFS and I can't push. Who can unlock it? Please remove the lock.";
    assert_eq!(category("locked", d, &[]), Category::ProjectGroupChange);
}

#[test]
fn access_to_a_project_is_not_access_to_the_account() {
    let d = "The group owner left the company and nobody can manage gitlab.com/acme anymore. \
             We lost access to the projects. Please make me owner.";
    assert_eq!(
        category("Lost access", d, &[]),
        Category::ProjectGroupChange
    );
    let d = "I can't access my account, the login page says my password is wrong and the reset \
             mail goes to my old work address.";
    assert_eq!(category("Lost access", d, &[]), Category::AccountAccess);
}

#[test]
fn deleting_a_payment_method_is_billing() {
    let d = "Please delete my payment method, the old credit card expired.";
    assert_eq!(category("Delete card", d, &[]), Category::Other);
}

#[test]
fn two_factor_setup_tag_with_a_how_to_is_other() {
    let d = "How do I set up two-factor authentication with my YubiKey?";
    assert_eq!(
        category("2FA setup", d, &["saas_account_category_2fa_issues_setup"]),
        Category::Other
    );
}

#[test]
fn text_wins_when_it_clearly_disagrees_with_a_tag() {
    let d = "Our project transfer to gitlab.com/new-group fails with an error. Please move \
             gitlab.com/old/app for us.";
    assert_eq!(
        category("Transfer", d, &["saas_account_category_access_issues"]),
        Category::ProjectGroupChange
    );
}

#[test]
fn a_tag_alone_decides_a_terse_ticket() {
    assert_eq!(
        category(
            "help",
            "urgent!!",
            &["saas_account_category_2fa_issues_removal"]
        ),
        Category::AccountAccess
    );
}

#[test]
fn quoted_history_does_not_count() {
    let d = "Thanks, that answered it.\n\nOn Tue, 4 Jun 2024, GitLab Support wrote:\n> Did you \
             lose your 2FA device? We can reset it once you verify ownership of the account.";
    assert_eq!(category("Re: question", d, &[]), Category::Other);
}

#[test]
fn non_english_tickets() {
    assert_eq!(
        category(
            "Zugang",
            "Ich habe mein Handy verloren und kann mich wegen 2FA nicht mehr anmelden.",
            &[]
        ),
        Category::AccountAccess
    );
    assert_eq!(
        category(
            "グループの削除",
            "グループ gitlab.com/foo の削除がエラーで失敗します。削除をお願いします。",
            &[]
        ),
        Category::ProjectGroupChange
    );
    assert_eq!(
        category("Facture", "Pouvez-vous m'envoyer la facture de mars ?", &[]),
        Category::Other
    );
}

#[test]
fn override_tag_wins_and_prefix_is_configurable() {
    let d = "I lost my phone and can't log in.";
    let tags = vec!["onbehalf_category_other".to_string()];
    let c = Classifier::builtin().classify("2FA", d, &tags);
    assert_eq!(c.category, Category::Other);
    assert_eq!(c.reasons, vec!["override tag onbehalf_category_other"]);

    let custom = Classifier::builtin().with_override_prefix("cat_");
    assert_eq!(
        custom.classify("2FA", d, &tags).category,
        Category::AccountAccess
    );
    let tags = vec!["cat_project_group_change".to_string()];
    assert_eq!(
        custom.classify("2FA", d, &tags).category,
        Category::ProjectGroupChange
    );
    // An unknown category after the prefix is not an override.
    let tags = vec!["onbehalf_category_bogus".to_string()];
    assert_eq!(
        Classifier::builtin().classify("2FA", d, &tags).category,
        Category::AccountAccess
    );
}

#[test]
fn nothing_to_act_on_says_so() {
    let c = classify("hello", "Just saying hi.", &[]);
    assert_eq!(c.category, Category::Other);
    assert!(
        c.reasons[0].starts_with("no clear request"),
        "{:?}",
        c.reasons
    );
}

#[derive(Debug)]
struct Fixed(Category, f64);
impl Scorer for Fixed {
    fn score(&self, _: &PreparedTicket<'_>) -> Vec<Evidence> {
        vec![Evidence::new(self.0, self.1, "model")]
    }
}

#[test]
fn extra_scorers_add_their_evidence() {
    let c = Classifier::builtin()
        .without_model()
        .with_scorer(Arc::new(Fixed(Category::ProjectGroupChange, 5.0)))
        .classify("hello", "Just saying hi.", &[]);
    assert_eq!(c.category, Category::ProjectGroupChange);
    assert_eq!(c.reasons, vec!["model → project_group_change"]);
}

const MINIMAL: &str = r#"
threshold = 1.0
[concepts]
phone = ['\bphone\b']
[[rule]]
category = "account_access"
weight = 2.0
all = ["phone"]
[[tag]]
tag = "pg"
category = "project_group_change"
weight = 5.0
"#;

#[test]
fn operator_rules_are_used() {
    let c = Classifier::from_toml(MINIMAL).unwrap();
    assert_eq!(
        c.classify("lost PHONE", "", &[]).category,
        Category::AccountAccess
    );
    assert_eq!(
        c.classify("x", "", &["pg".into()]).category,
        Category::ProjectGroupChange
    );
    assert_eq!(c.classify("x", "", &[]).category, Category::Other);
}

fn error_of(text: &str) -> String {
    Classifier::from_toml(text).unwrap_err().to_string()
}

#[test]
fn rules_file_errors_name_what_is_wrong() {
    let e = error_of(&MINIMAL.replace(r"'\bphone\b'", "'(unclosed'"));
    assert!(e.contains("\"phone\"") && e.contains("(unclosed"), "{e}");
    let e = error_of(&MINIMAL.replace(r#"all = ["phone"]"#, r#"all = ["phone", "tablet"]"#));
    assert!(e.contains("rule 1") && e.contains("\"tablet\""), "{e}");
    let e = error_of(&MINIMAL.replace("\"account_access\"", "\"account\""));
    assert!(e.contains("unknown category \"account\""), "{e}");
    let e = error_of(&MINIMAL.replace("weight = 2.0", "weight = 0.0"));
    assert!(e.contains("weight"), "{e}");
    let e = error_of(&MINIMAL.replace("threshold = 1.0", "threshold = -1.0"));
    assert!(e.contains("threshold"), "{e}");
    let e = error_of(&MINIMAL.replace("weight = 5.0", "weight = 5.0\ncolour = \"red\""));
    assert!(e.contains("colour"), "{e}");
    let e = error_of("threshold = ");
    assert!(e.contains("TOML"), "{e}");
    // Too large to compile: refused at load, naming the concept, rather than never matching.
    let e = error_of(&MINIMAL.replace(r"'\bphone\b'", r"'\w{5000}'"));
    assert!(
        e.contains("\"phone\"") && e.contains("exceeded limit"),
        "{e}"
    );
}

#[test]
fn the_shipped_rules_leave_nothing_to_warn_about() {
    assert_eq!(Classifier::shipped_rules().warnings(), &[] as &[String]);
}

/// A model that knows one word: "restore" speaks for a project change.
fn one_word_model(sure_margin: f64) -> Arc<Model> {
    Arc::new(Model::new(
        features::FeatureShape::default(),
        Blend {
            model_weight: 1.0,
            sure_margin,
            overrule_probability: 0.0,
        },
        [0.0; 3],
        vec![("w:restore".into(), [40.0, -20.0, -20.0])],
    ))
}

#[test]
fn sure_rules_keep_the_last_word_and_unsure_ones_hear_the_model() {
    // MINIMAL's rules: "phone" gives account_access 2.0 against other's 1.0, a lead of 1.0.
    let rules = Classifier::from_toml(MINIMAL).unwrap();
    let sure = rules.clone().with_model(one_word_model(0.5));
    let c = sure.classify("restore my phone", "", &[]);
    assert_eq!(c.category, Category::AccountAccess);
    assert!(
        c.reasons.iter().all(|r| !r.starts_with("model")),
        "{:?}",
        c.reasons
    );

    let unsure = rules.with_model(one_word_model(5.0));
    let c = unsure.classify("restore my phone", "", &[]);
    assert_eq!(c.category, Category::ProjectGroupChange);
    assert!(
        c.reasons[0].starts_with("model ")
            && c.reasons[0].contains("\"restore\" → project_group_change"),
        "{:?}",
        c.reasons
    );
}

#[test]
fn the_shipped_model_hears_requests_the_rules_never_named() {
    let c = classify(
        "Webhooks disabled",
        "Our project gitlab.com/acme/shop had its webhooks auto-disabled after failures. \
         The settings page gives an error when I try. Please re-enable it for us on your side.",
        &[],
    );
    assert_eq!(c.category, Category::ProjectGroupChange, "{:?}", c.reasons);
    assert!(
        c.reasons.iter().any(|r| r.starts_with("model ")),
        "{:?}",
        c.reasons
    );
}

#[test]
fn a_bare_follow_up_is_judged_with_the_thread_it_answers() {
    let d = "still no luck\n\nOn Tue, 4 Jun 2024, GitLab Support wrote:\n> Please try the password \
             reset again. You said you cannot sign in because the reset email never arrives.";
    assert_eq!(category("Re: Re: account", d, &[]), Category::AccountAccess);
}
