//! The structural rules of issue 16: what a ticket *is* (who is affected, who is asked to act,
//! on what), each with a case that must hold and the near miss that must not follow it. The
//! category is the shipped classifier's (rules + model); the rules' own evidence is checked too,
//! so that a retrained model cannot hide a rule that stopped firing.
use super::*;

fn classify(subject: &str, description: &str) -> Classification {
    Classifier::builtin().classify(subject, description, &[])
}

/// The shipped rules' evidence (without the model) as `label → category` reasons.
fn rule_reasons(subject: &str, description: &str) -> Vec<String> {
    Classifier::shipped_rules()
        .evidence(subject, description, &[])
        .iter()
        .map(Evidence::reason)
        .collect()
}

fn has_reason(reasons: &[String], words: &str, conclusion: &str) -> bool {
    reasons
        .iter()
        .any(|r| r.contains(words) && r.ends_with(conclusion))
}

#[test]
fn many_people_failing_against_a_server_error_is_an_outage() {
    let (s, d) = (
        "Can't log in",
        "Nobody in our office can log in to gitlab.com since 9:00, we all get a 502 page.",
    );
    let c = classify(s, d);
    assert_eq!(c.category, Category::Other, "{:?}", c.reasons);
    assert!(
        has_reason(&rule_reasons(s, d), "\"nobody\" + \"502\"", "→ other"),
        "{:?}",
        rule_reasons(s, d)
    );

    // One person locked out of their own account is not an outage, even with an error page.
    let c = classify(
        "Can't log in",
        "I can't log in to my account since I lost my phone with the authenticator app; the \
         page then shows error 502.",
    );
    assert_eq!(c.category, Category::AccountAccess, "{:?}", c.reasons);
}

#[test]
fn wanting_to_do_it_oneself_is_a_question() {
    let (s, d) = (
        "Reset 2FA for our enterprise user",
        "I am Owner of our group. How can I reset 2FA for a developer in our group? I want to do \
         it myself, just tell me where.",
    );
    let c = classify(s, d);
    assert_eq!(c.category, Category::Other, "{:?}", c.reasons);
    assert!(
        has_reason(&rule_reasons(s, d), "do it myself", "→ other"),
        "{:?}",
        rule_reasons(s, d)
    );

    // The same owner asking support to act on their own lost access is an account ticket.
    let c = classify(
        "Lost 2FA",
        "I lost my phone with the authenticator and have no recovery codes, so I cannot sign in \
         to my account. Please disable 2FA on it.",
    );
    assert_eq!(c.category, Category::AccountAccess, "{:?}", c.reasons);
}

#[test]
fn moving_two_factor_to_a_new_phone_is_a_how_to() {
    let (s, d) = (
        "Moving 2FA to a new phone",
        "I'm getting a new phone next week. My old phone still works and I can still sign in. \
         What is the right way to move my two-factor authentication?",
    );
    let c = classify(s, d);
    assert_eq!(c.category, Category::Other, "{:?}", c.reasons);
    assert!(
        has_reason(
            &rule_reasons(s, d),
            "getting a new phone next",
            "→ not account_access"
        ),
        "{:?}",
        rule_reasons(s, d)
    );

    // A phone that is gone is no plan: the requester is locked out.
    let c = classify(
        "2FA",
        "My old phone was stolen yesterday and with it the authenticator app. I can't log in \
         anymore and never saved recovery codes.",
    );
    assert_eq!(c.category, Category::AccountAccess, "{:?}", c.reasons);
}

#[test]
fn a_request_to_support_on_a_feature_the_rules_never_named_is_a_project_change() {
    // Neither "default branch" nor "set" is a project action of the rules: the shape is.
    let (s, d) = (
        "Default branch",
        "The settings page of our project keeps failing when I save. Can you set the default \
         branch to main for us?",
    );
    let c = classify(s, d);
    assert_eq!(c.category, Category::ProjectGroupChange, "{:?}", c.reasons);
    assert!(
        has_reason(&rule_reasons(s, d), "can you set", "→ project_group_change"),
        "{:?}",
        rule_reasons(s, d)
    );

    // Asking how to do the same thing oneself asks support to act on nothing.
    let c = classify(
        "Default branch",
        "How do I change the default branch of my project to main? Where is the setting?",
    );
    assert_eq!(c.category, Category::Other, "{:?}", c.reasons);
}

#[test]
fn a_request_to_act_from_someone_locked_out_is_about_the_account() {
    let (s, d) = (
        "Locked out",
        "I can't log in since I lost my phone. Could you reset my 2FA for us so I can reach my \
         project again?",
    );
    assert!(
        !rule_reasons(s, d)
            .iter()
            .any(|r| r.contains("for us") && r.ends_with("→ project_group_change")),
        "{:?}",
        rule_reasons(s, d)
    );
    assert_eq!(classify(s, d).category, Category::AccountAccess);
}

#[test]
fn an_admin_locked_out_of_their_own_instance_is_not_for_support() {
    let (s, d) = (
        "Admin bloqueado",
        "Temos o GitLab instalado num servidor próprio. O único administrador perdeu o \
         telemóvel com o 2FA e ninguém consegue entrar na área de admin.",
    );
    let c = classify(s, d);
    assert_eq!(c.category, Category::Other, "{:?}", c.reasons);
    assert!(
        has_reason(&rule_reasons(s, d), "servidor próprio", "→ other"),
        "{:?}",
        rule_reasons(s, d)
    );

    // The same loss on a GitLab.com account is support's to handle.
    let c = classify(
        "Conta bloqueada",
        "Perdi o telemóvel com a autenticação de dois fatores e não consigo entrar na minha \
         conta do gitlab.com. Não tenho os códigos de recuperação.",
    );
    assert_eq!(c.category, Category::AccountAccess, "{:?}", c.reasons);
}

#[test]
fn traditional_chinese_is_read_like_simplified() {
    let (s, d) = (
        "兩步驟驗證",
        "我換了新手機，現在無法登入，備用碼也沒有下載。請幫我關閉兩步驟驗證。",
    );
    let c = classify(s, d);
    assert_eq!(c.category, Category::AccountAccess, "{:?}", c.reasons);
    assert!(
        has_reason(&rule_reasons(s, d), "無法登入", "→ account_access"),
        "{:?}",
        rule_reasons(s, d)
    );

    // Signed in and asking how: no lost access.
    let c = classify(
        "換新手機",
        "我下週要換新手機，舊手機還在，現在也可以正常登入。請問兩步驟驗證怎麼轉到新手機？",
    );
    assert_eq!(c.category, Category::Other, "{:?}", c.reasons);
}
