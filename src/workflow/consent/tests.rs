use super::*;
use crate::workflow::CommentFlag;
use proptest::prelude::*;

const DELETE: &str =
    "Could you please confirm that you would like us to delete the project `blueocean/old-site`?";
const TWO_FA: &str = "Could you please confirm that you would like us to disable two-factor authentication on your account?";

fn reply(author: &str, public: bool, body: &str) -> Comment {
    Comment {
        id: "c1".into(),
        author_id: author.into(),
        author_is_staff: false,
        public,
        body: body.into(),
        ..Comment::default()
    }
}

fn verdict(request: &str, body: &str) -> ConsentVerdict {
    judge_reply(
        &Asked::question(request, "1001"),
        &reply("1001", true, body),
    )
    .verdict
}

fn assert_all(request: &str, expected: ConsentVerdict, bodies: &[&str]) {
    for body in bodies {
        let j = judge_reply(
            &Asked::question(request, "1001"),
            &reply("1001", true, body),
        );
        assert_eq!(j.verdict, expected, "{body:?}: {:?}", j.reasons);
    }
}

#[test]
fn only_the_requesters_public_reply_counts() {
    let cc = judge_reply(
        &Asked::question(DELETE, "1001"),
        &reply("2002", true, "Yes, go ahead."),
    );
    assert_eq!(cc.verdict, ConsentVerdict::Ignored);
    assert!(cc.quote.is_empty());
    let note = judge_reply(
        &Asked::question(DELETE, "1001"),
        &reply("1001", false, "Customer said yes."),
    );
    assert_eq!(note.verdict, ConsentVerdict::Ignored);
    assert_eq!(
        judge_reply(&Asked::question(DELETE, ""), &reply("", true, "Yes")).verdict,
        ConsentVerdict::Ignored
    );
}

#[test]
fn explicit_grants() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Yes, please delete it.",
            "Sure, go ahead.",
            "You have my permission.",
            "I confirm, please delete it.",
            "Please delete it.",
            "yesss go ahead!!",
            "Sì, procedete pure.",
            "Ja, ga uw gang.",
            "네, 진행해 주세요",
            "Yes.",
            "Yes, I'm sure.",
            "Sí, adelante",
            "Ja, bitte fortfahren",
            "Oui, je vous autorise",
            "Sim, pode prosseguir",
            "はい、お願いします",
            "是的，请继续",
        ],
    );
}

#[test]
fn refusals_and_withdrawals_are_declined() {
    assert_all(
        DELETE,
        ConsentVerdict::Declined,
        &[
            "No, please keep it for now.",
            "Don't go ahead.",
            "no, please don't",
            "I do not give permission.",
            "I don't want you to delete it.",
            "Yes. Actually, please don't.",
            "We'll delete it ourselves, thanks.",
            "Not needed anymore, I already fixed it.",
            "Is it really necessary? No, don't.",
            "We changed our minds, please keep it.",
            "No, no lo hagan",
            "No, non procedete",
            "Nee, liever niet",
            "아니요, 삭제하지 마세요",
            "Nein, bitte nicht",
            "Non, ne faites rien",
            "Não, por favor não",
            "いいえ、やめてください",
            "不，请不要",
        ],
    );
}

#[test]
fn anything_less_than_explicit_is_unclear() {
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Yes, but only after Saturday.",
            "yes if it doesn't delete anything else",
            "Will this delete my data?",
            "Yeah right, sure, go ahead and break everything.",
            "Automatic reply: I am out of the office until Monday. Yes.",
            "Thanks for the quick answer!",
            "Not yet.",
            "I think so, go ahead",
            "Yes, please delete `blueocean/new-site` instead.",
            "Yes, please archive it.",
            "",
            "> Yes, go ahead",
            "Yes... no, wait",
            "Ok, delete it at 5pm.",
            "Yes, delete it on the 31st.",
            "Sure, delete it next quarter.",
            "Delete it.?",
            "Yes, go ahead!?",
            "ok",
            "ok 👍",
            "Got it, thanks.",
            "네 알겠습니다",
            "好的 收到",
            "Yes I'm sure that's my account, I've had it since 2015",
            "Sí, soy el propietario.",
            "Ja, das ist mein Konto.",
            "My boss says it's fine.",
            "老闆說OK",
        ],
    );
}

#[test]
fn partial_scope_is_unclear() {
    let request = "Could you please provide permission for staff to move `pat/cli-tool` and `pat/lib` into `tooling-org`?";
    assert_eq!(
        verdict(request, "Only cli-tool please, not lib."),
        ConsentVerdict::Unclear
    );
    assert_eq!(
        verdict(request, "Yes, just the `pat/cli-tool` one"),
        ConsentVerdict::Unclear
    );
}

#[test]
fn quoted_history_never_decides() {
    let no_over_yes =
        "No, please don't.\n\nOn Tue, 16 Jan 2024, Support <s@example.com> wrote:\n> Yes, go ahead";
    assert_eq!(verdict(TWO_FA, no_over_yes), ConsentVerdict::Declined);
    let yes_over_no =
        "Yes, go ahead.\n\nOn Tue, Ana wrote:\n> No, don't do it yet\n> Could you please confirm?";
    assert_eq!(verdict(TWO_FA, yes_over_no), ConsentVerdict::Granted);
}

#[test]
fn quote_is_the_verbatim_new_text() {
    let body =
        "  Yes, please disable it.\n\nBest regards,\nAna\n\nOn Wed, Support wrote:\n> Could you…?";
    let j = judge_reply(&Asked::question(TWO_FA, "1001"), &reply("1001", true, body));
    assert_eq!(j.verdict, ConsentVerdict::Granted);
    assert_eq!(j.quote, "Yes, please disable it.");
    assert!(body.contains(&j.quote));
    assert!(
        j.reasons.iter().any(|r| r.starts_with("grant:")),
        "{:?}",
        j.reasons
    );
}

#[test]
fn reasons_name_the_blocking_signal() {
    let (v, reasons) = judge_text(DELETE, "Yes, but only after Saturday");
    assert_eq!(v, ConsentVerdict::Unclear);
    assert!(
        reasons.contains(&"affirmative: \"yes\"".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"condition: \"after\"".to_string()),
        "{reasons:?}"
    );
}

const NEGATIONS: &[&str] = &[
    "no", "not", "don't", "do not", "never", "nein", "nicht", "non", "pas", "não", "不", "ない",
];
const GRANTS: &[&str] = &[
    "yes",
    "go ahead",
    "you have my permission",
    "sure",
    "please proceed",
    "ok",
    "sí",
    "ja",
    "oui",
    "sim",
    "はい",
    "是的",
    "i confirm",
];
const FILLERS: &[&str] = &[
    "",
    "we",
    "the project",
    "thanks",
    "please",
    "today",
    "really",
];
const SEPARATORS: &[&str] = &[" ", ", ", ". ", "! ", " - ", "\n"];

proptest! {
    /// Whatever the wording around them, a negation anywhere before a grant phrase in the new
    /// text is never read as permission.
    #[test]
    fn negation_before_a_grant_is_never_granted(
        neg in prop::sample::select(NEGATIONS),
        grant in prop::sample::select(GRANTS),
        filler in prop::sample::select(FILLERS),
        sep in prop::sample::select(SEPARATORS),
        upper in any::<bool>(),
    ) {
        let text = format!("{neg}{sep}{filler} {grant}.");
        let text = if upper { text.to_uppercase() } else { text };
        let j = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &text));
        prop_assert_ne!(j.verdict, ConsentVerdict::Granted, "{:?} {:?}", text, j.reasons);
    }

    /// The quote is always a verbatim part of the reply, and history below an "On … wrote:"
    /// line never changes the verdict.
    #[test]
    fn history_is_inert_and_quote_is_verbatim(
        new in "[A-Za-z ,.!?']{0,40}",
        old in prop::sample::select(GRANTS),
    ) {
        let alone = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &new));
        let body = format!("{new}\n\nOn Tue, 16 Jan 2024, Support <s@example.com> wrote:\n> {old}\n");
        let with_history = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &body));
        prop_assert!(body.contains(&with_history.quote));
        prop_assert_eq!(alone.verdict, with_history.verdict);
    }
}

/// The issue's examples, each through the whole `judge_reply` path.
#[test]
fn issue_examples() {
    let two_things = "Hi,\n\nCould you check whether the invoice shows in the portal? Could you please confirm that you would like us to delete the project `blueocean/old-site`?\n\nThanks";
    let asked = Asked {
        full_comment: Some(two_things),
        ..Asked::question(DELETE, "1001")
    };
    let body = "ok, I'll look for the invoice in the portal then\n\nOn Tue, 16 Jan 2024, Support <s@example.com> wrote:\n> Could you please confirm that you would like us to delete it?";
    let j = judge_reply(&asked, &reply("1001", true, body));
    assert_eq!(j.verdict, ConsentVerdict::Unclear, "{:?}", j.reasons);

    assert_eq!(
        verdict(
            TWO_FA,
            "Yes I'm sure that's my account, I've had it since 2015"
        ),
        ConsentVerdict::Unclear
    );
    for refusal in [
        "Please do\u{AD}n't go ahead",
        "Please do\u{200B}n't go ahead",
        "Please \u{202E}t'nod\u{202C} go ahead",
        "Please dоn't go ahead",
        "Please don\u{2060}'t go ahead",
        "n\u{200B}o, go ahead",
    ] {
        let j = judge_reply(
            &Asked::question(DELETE, "1001"),
            &reply("1001", true, refusal),
        );
        assert_ne!(
            j.verdict,
            ConsentVerdict::Granted,
            "{refusal:?}: {:?}",
            j.reasons
        );
    }
    let ps = "Yes, go ahead.\n\nThanks\nP.S. only the staging project";
    let j = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, ps));
    assert_eq!(j.verdict, ConsentVerdict::Unclear, "{:?}", j.reasons);
    assert_eq!(j.quote, ps, "the quote covers the P.S. it was judged on");

    assert_eq!(
        verdict(
            TWO_FA,
            "Yes, please disable it. I'll set up a new authenticator right after."
        ),
        ConsentVerdict::Granted
    );
    let purge = "Could you please provide permission for staff to delete all tags older than 90 days in `acme/api`?";
    assert_eq!(
        verdict(purge, "Yes, please delete all tags older than 90 days."),
        ConsentVerdict::Granted
    );
}

#[test]
fn invisible_or_look_alike_characters_never_grant_and_say_why() {
    for body in [
        "Yes, go ahe\u{200B}ad.",
        "Y\u{0435}s, go ahead.",
        "\u{202E}Yes, go ahead.\u{202C}",
        "Yes, go ahead.\u{0}",
        "yes\u{0308}, go ahead",
    ] {
        let j = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, body));
        assert_eq!(
            j.verdict,
            ConsentVerdict::Unclear,
            "{body:?}: {:?}",
            j.reasons
        );
        assert!(
            j.reasons.iter().any(|r| r.contains("invisible")
                || r.contains("mixed-script")
                || r.contains("combining")),
            "{body:?}: {:?}",
            j.reasons
        );
    }
    // Emoji glue is how emoji are written.
    assert_eq!(
        verdict(DELETE, "Yes, go ahead 👍🏻❤️"),
        ConsentVerdict::Granted
    );
}

#[test]
fn text_after_a_sign_off_is_judged_when_it_says_something() {
    for (body, expected) in [
        (
            "Yes, go ahead.\n\nThanks\nAna\n\nP.S. wait, actually don't.",
            ConsentVerdict::Declined,
        ),
        (
            "Sounds good, thanks!\n\nCheers,\nMaria\n\nP.S. On second thought, please don't.",
            ConsentVerdict::Declined,
        ),
        (
            "Thanks\n\nSent from my iPhone\n\nYes, please proceed with deleting the project.",
            ConsentVerdict::Granted,
        ),
        // A title that carries a negation is judged too: when unsure, unclear.
        (
            "Go ahead.\n\nBest regards,\nNoah Nolan\nHead of No-Go Zones",
            ConsentVerdict::Unclear,
        ),
        (
            "Go ahead.\n\nBest regards,\nNoah Nolan\nHead of Platform",
            ConsentVerdict::Granted,
        ),
        (
            "可以。\n\n——\n张伟\n\nPS：请在晚上十点以后再操作。",
            ConsentVerdict::Unclear,
        ),
        (
            "Sí, adelante.\n\nSaludos,\nMarta\n\nP.D.: solo el proyecto de backend.",
            ConsentVerdict::Unclear,
        ),
    ] {
        let j = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, body));
        assert_eq!(j.verdict, expected, "{body:?}: {:?}", j.reasons);
    }
}

#[test]
fn a_bare_yes_needs_a_single_question() {
    let full = "Is the affected project `blueocean/old-site`? Could you please confirm that you would like us to delete the project `blueocean/old-site`?";
    let asked = Asked {
        full_comment: Some(full),
        ..Asked::question(DELETE, "1001")
    };
    for (body, expected) in [
        ("Yes", ConsentVerdict::Unclear),
        ("Sure, go ahead.", ConsentVerdict::Unclear),
        ("Yes, please delete the project.", ConsentVerdict::Granted),
    ] {
        let j = judge_reply(&asked, &reply("1001", true, body));
        assert_eq!(j.verdict, expected, "{body:?}: {:?}", j.reasons);
    }
    // Every question answered at once answers this one too.
    for body in ["Yes to both.", "Sí, a ambas.", "네, 둘 다."] {
        let j = judge_reply(&asked, &reply("1001", true, body));
        assert_eq!(
            j.verdict,
            ConsentVerdict::Granted,
            "{body:?}: {:?}",
            j.reasons
        );
    }
    let follow_up =
        "If so, could you please provide permission for staff to clear the stuck import?";
    assert_eq!(verdict(follow_up, "yes"), ConsentVerdict::Unclear);
    assert_eq!(
        verdict(follow_up, "Yes, please clear the stuck import."),
        ConsentVerdict::Granted
    );
}

#[test]
fn two_open_questions_make_an_ambiguous_reply_unclear() {
    let asked = Asked {
        other_open_questions: 1,
        ..Asked::question(DELETE, "1001")
    };
    let j = judge_reply(&asked, &reply("1001", true, "Yes, go ahead."));
    assert_eq!(j.verdict, ConsentVerdict::Unclear);
    assert!(
        j.reasons[0].contains("2 permission questions are open"),
        "{:?}",
        j.reasons
    );
}

#[test]
fn new_text_beyond_the_cap_is_unclear_by_itself() {
    let long = format!(
        "Yes, go ahead. {}",
        "Thanks again for all the help. ".repeat(NEW_TEXT_CAP / 20)
    );
    let j = judge_reply(
        &Asked::question(DELETE, "1001"),
        &reply("1001", true, &long),
    );
    assert_eq!(j.verdict, ConsentVerdict::Unclear);
    assert!(j.reasons[0].contains("KiB"), "{:?}", j.reasons);
    // Quoted history does not count against the cap.
    let quoted = format!(
        "Yes, go ahead.\n\nOn Tue, Support <s@example.com> wrote:\n{}",
        "> earlier text\n".repeat(NEW_TEXT_CAP / 4)
    );
    assert_eq!(verdict(DELETE, &quoted), ConsentVerdict::Granted);
}

#[test]
fn flagged_comments_never_grant() {
    for flag in [
        CommentFlag::OnBehalfOfAuthor,
        CommentFlag::Untrusted,
        CommentFlag::NotSignedIn,
        CommentFlag::AutoGenerated,
    ] {
        let mut comment = reply("1001", true, "Yes, go ahead.");
        comment.flags = vec![flag];
        let j = judge_reply(&Asked::question(DELETE, "1001"), &comment);
        assert_eq!(j.verdict, ConsentVerdict::Unclear);
        assert!(j.reasons[0].contains(flag.as_str()), "{:?}", j.reasons);
    }
}

#[test]
fn a_story_before_explicit_permission_does_not_qualify_it() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Hi Tom,\n\nThanks for looking into this. We moved everything to the new site last year and nobody has touched the old one since, it only has a few stale pages in it.\n\nYes, please delete the project blueocean/old-site.\n\nBest,\nAnna",
            "Buenas tardes. Les explico: el proyecto se creó para un curso que ya terminó y se quedó abandonado. Autorizo la eliminación del proyecto.",
        ],
    );
    assert_all(
        TWO_FA,
        ConsentVerdict::Granted,
        &[
            "I lost my phone when I was on holiday two weeks ago and I don't have the recovery codes anymore. I give permission for staff to disable two-factor authentication on my account.",
        ],
    );
    // Terms set before the answer are still terms: a condition, words that order the action
    // after something, a sentence addressed to the action, a restriction that opens its
    // sentence, an answer that follows on from the sentence before.
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "We still need the issues from it. Only delete it after we export them next week. You have my permission.",
            "If the backup is done by then, which it should be, you have my permission to delete it.",
            "We will need to export the wiki from it first. You have my permission to delete the project.",
            "Only the staging copy of the project, not the main one. You have my permission.",
            "Alleen als de back-up van het project klaar is. Dan mag u het project verwijderen.",
            "Everything in the project except the wiki pages can go. You have my permission to delete the project.",
            "Honestly we would prefer that you archive the whole thing. Anyway, you have my permission to delete the project.",
            "The team still opens the old one now and then. Let me check with them. You have my permission to delete it.",
            "We are still exporting the wiki from the project this week. You have my permission to delete it.",
        ],
    );
}

#[test]
fn a_clause_saying_the_thing_is_unused_is_a_reason_beside_a_named_request() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Yep, delete it. We don't need it anymore.",
            "Hola, sí, pueden eliminar el proyecto. Ya no lo usamos desde que migramos.",
            "Ja, Sie haben meine Erlaubnis, das Projekt zu löschen. Es wird seit dem Umzug nicht mehr gebraucht.",
            "Ciao, sì confermo, eliminate pure il progetto. Non ci serve più da quando siamo passati al nuovo repository.",
            "可以删除，这个项目已经不用了。",
        ],
    );
    // Permission that names nothing beside "no longer needed" may mean the action is not.
    assert_eq!(
        verdict(TWO_FA, "Go ahead. Not needed anymore."),
        ConsentVerdict::Unclear
    );
}

#[test]
fn spanish_se_is_a_pronoun_and_portuguese_se_a_condition() {
    assert_eq!(
        verdict(DELETE, "Sí, adelante, se puede eliminar. Gracias."),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(
            DELETE,
            "Se o backup já estiver feito, podem eliminar o projeto."
        ),
        ConsentVerdict::Unclear
    );
    assert_eq!(
        verdict(
            DELETE,
            "Se avete fatto il backup, potete eliminare il progetto."
        ),
        ConsentVerdict::Unclear
    );
}

#[test]
fn courtesy_around_a_grant_is_courtesy() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Thanks for the quick answer! Go ahead and delete it, you have my permission.\n\nHave a great day,\nAnna",
            "Sorry for the late reply. You have my permission to delete the project.",
            "Yes, please delete it. Let me know if you need anything else.",
            "Yes please delete it. It was a test project and it's been archived for two years.",
            "[10:02] anna: hi\n[10:02] anna: yes you can delete the project\n[10:03] anna: thanks",
            "Feel free to delete it whenever.",
            "Yes please, the sooner the better.",
            "Yes — nuke it.",
        ],
    );
    // A moment is still a moment ("for tomorrow"), and a P.S. is still judged.
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Yes, please delete it for tomorrow.",
            "Feel free to delete it whenever the export is done.",
            "Yes, go ahead and delete it.\n\nThanks,\nJohn\n\nPS: please wait until Friday, we are still exporting.",
        ],
    );
}

#[test]
fn the_permission_formula_in_every_language() {
    let provide = "Could you please provide permission for staff to delete the project `blueocean/old-site`? Replying in this ticket stating you provide permission will be sufficient.";
    assert_all(
        provide,
        ConsentVerdict::Granted,
        &[
            "I provide permission.",
            "Proporciono el permiso.",
            "Autorisation accordée.",
            "Forneço a permissão.",
            "Fornisco il permesso.",
            "Ik verleen toestemming.",
            "権限を付与します。",
            "我授权你们删除。",
            "권한을 제공합니다.",
            "네, 삭제하셔도 됩니다.",
            "Ja, das Projekt darf gelöscht werden.",
            "Hiermit bestätige ich die Löschung des Projekts.",
            "确认删除，谢谢。",
            "好的，请删除吧。",
            "oui vas-y",
            "Please consider this email my explicit permission for staff to delete the project.",
            "sì sì vai pure",
            "ㅇㅇ 해주세요",
        ],
    );
    // 「大丈夫です」 alone is as often "no thanks" / "I'm fine" as "go ahead": never a grant by itself.
    assert_all(
        provide,
        ConsentVerdict::Unclear,
        &["大丈夫です", "大丈夫です。"],
    );
    assert_all(
        provide,
        ConsentVerdict::Declined,
        &[
            "삭제 안 하셔도 됩니다.",
            "Sorry, ik trek mijn toestemming in.",
        ],
    );
}

#[test]
fn an_answer_by_the_questions_number_answers_that_question() {
    let full = "Hi,\n\n1. Have you tried regenerating the recovery codes over SSH?\n2. Could you please confirm that you would like us to disable two-factor authentication on your account?\n\nThanks";
    for (body, expected) in [
        (
            "1. Yes, tried it, but it doesn't work: no SSH key.\n2. Yes, please disable it.\n\nYuna",
            ConsentVerdict::Granted,
        ),
        // The answer to the other number is not this one's.
        (
            "1. Yes\n2. Not yet, let me try once more.",
            ConsentVerdict::Unclear,
        ),
        ("1. Yes", ConsentVerdict::Unclear),
        // Text outside the numbered answers is still judged.
        (
            "1. No.\n2. Yes, go ahead.\n\nP.S. only after Friday",
            ConsentVerdict::Unclear,
        ),
    ] {
        let j = judge_in_comment(TWO_FA, full, body);
        assert_eq!(j.verdict, expected, "{body:?}: {:?}", j.reasons);
    }
}

/// Judges `body` as a reply to `question`, asked in the agent's comment `full`.
fn judge_in_comment(question: &str, full: &str, body: &str) -> Judgment {
    let asked = Asked {
        full_comment: Some(full),
        ..Asked::question(question, "1001")
    };
    judge_reply(&asked, &reply("1001", true, body))
}

#[test]
fn a_request_closing_a_korean_or_japanese_sentence_is_another_thing_asked() {
    let question =
        "`sales/crm` 프로젝트를 `sales-team` 그룹으로 이전할 수 있도록 권한을 제공해 주시겠습니까?";
    let full = "안녕하세요,\n\n먼저 `sales-team` 그룹의 Owner 권한을 가지고 계신지 확인 부탁드립니다. 그리고 `sales/crm` 프로젝트를 `sales-team` 그룹으로 이전할 수 있도록 권한을 제공해 주시겠습니까?\n\n감사합니다.";
    assert_eq!(
        judge_in_comment(question, full, "네").verdict,
        ConsentVerdict::Unclear
    );
}

#[test]
fn a_worry_about_what_follows_is_no_refusal() {
    assert_eq!(
        verdict(
            DELETE,
            "Kost dit extra? Ik wil niet dat we daarna ineens extra moeten betalen."
        ),
        ConsentVerdict::Unclear
    );
    assert_eq!(
        verdict(DELETE, "I don't want that you delete the project."),
        ConsentVerdict::Declined
    );
    assert_eq!(
        verdict(DELETE, "No, I don't want that."),
        ConsentVerdict::Declined
    );
}

#[test]
fn the_requesters_own_plan_for_afterwards_sets_no_terms() {
    assert_all(
        TWO_FA,
        ConsentVerdict::Granted,
        &[
            "Go ahead and disable 2FA. I'll set it up again once I'm back in.",
            "Sí, desactívenla por favor. La volveré a activar cuando tenga el móvil nuevo.",
        ],
    );
    // A prerequisite, a plan that speaks to the agent, or a plan before the answer still sets
    // terms.
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Yes, go ahead and delete it. We'll export the data first.",
            "Yes, go ahead. I'll let you know when the export is done.",
            "Yes, go ahead. Once the export is done.",
        ],
    );
}

#[test]
fn japanese_negation_belongs_to_the_verb_before_it() {
    assert_eq!(
        verdict(
            DELETE,
            "お世話になっております。プロジェクトの削除をお願いいたします。もう使用していないため問題ありません。"
        ),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(DELETE, "削除はまだしないでください。"),
        ConsentVerdict::Declined
    );
}

#[test]
fn the_requesters_own_conclusion_from_an_approval_is_their_permission() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "My manager approved this yesterday, so yes — I give permission for staff to delete the project.",
            "Mi jefe dice que está bien, así que adelante: doy mi permiso para eliminar el proyecto.",
        ],
    );
    // Someone else's approval with no permission of the requester's own.
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "My manager says it's fine, so go ahead and delete it.",
            "My manager says: you can delete it.",
        ],
    );
}

#[test]
fn an_answer_marked_as_one_sets_the_story_apart() {
    let restore = "Kunt u toestemming geven om het project `stichting/leden` te herstellen, dat op 27 februari is verwijderd?";
    assert_eq!(
        verdict(
            restore,
            "Goedemiddag,\n\nEerst even wat achtergrond, want het helpt misschien. Op 27 februari heeft een nieuwe vrijwilliger dit project verwijderd omdat hij dacht dat het een oude kopie was.\n\nOm op uw vraag terug te komen: ja, ik geef toestemming om het project stichting/leden te herstellen.\n\nMet vriendelijke groet,\nGerard"
        ),
        ConsentVerdict::Granted
    );
    // A condition in the story is still a condition.
    assert_eq!(
        verdict(
            DELETE,
            "If the export of the wiki has finished by the time you read this, fine. Anyway: I give permission to delete the project."
        ),
        ConsentVerdict::Unclear
    );
}

#[test]
fn how_long_something_took_is_no_moment() {
    assert_all(
        TWO_FA,
        ConsentVerdict::Granted,
        &[
            "Honestly pretty frustrated that this took a week for a side project, but: yes, I give permission for you to disable 2FA on my account.",
            "네 허락해요 2단계 인증 해제해 주세요 빨리 좀 부탁드려요 데모 1시간 남았어요",
        ],
    );
    assert_eq!(
        verdict(TWO_FA, "Yes, please disable it in a week."),
        ConsentVerdict::Unclear
    );
}

#[test]
fn every_part_of_a_named_target_is_the_questions_own_word() {
    let q = "Could you please confirm that you would like us to delete the project `studio-pol/oude-website`?";
    assert_eq!(
        verdict(
            q,
            "Ja, verwijder het project studio-pol/oude-website maar. We gebruiken het al twee jaar niet meer."
        ),
        ConsentVerdict::Granted
    );
}

proptest! {
    /// Control characters, NUL and invisible characters anywhere never make judging panic,
    /// and never turn a refusal into a grant.
    #[test]
    fn odd_characters_never_panic_or_grant_a_refusal(
        at in 0usize..20,
        odd in prop::sample::select(&['\u{0}', '\u{1}', '\u{7f}', '\u{ad}', '\u{200b}', '\u{200d}', '\u{202e}', '\u{2066}', '\u{feff}', '\u{fe0f}', '\u{308}', '\u{0430}', '\u{043e}'][..]),
    ) {
        let refusal = "Please don't go ahead.";
        let mut chars: Vec<char> = refusal.chars().collect();
        chars.insert(at.min(chars.len()), odd);
        let text: String = chars.into_iter().collect();
        let j = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &text));
        prop_assert_ne!(j.verdict, ConsentVerdict::Granted, "{:?} {:?}", text, j.reasons);
    }
}

#[test]
fn the_question_pasted_back_from_a_chat_is_not_the_requesters_answer() {
    let pasted = format!("Agent: {TWO_FA}\nMe: yes\nMe: I give permission");
    assert_eq!(verdict(TWO_FA, &pasted), ConsentVerdict::Granted);
    // An answer on the question's own line is still read.
    let answered = format!("{TWO_FA} No, please don't.");
    let j = judge_reply(
        &Asked::question(TWO_FA, "1001"),
        &reply("1001", true, &answered),
    );
    assert_ne!(j.verdict, ConsentVerdict::Granted);
    assert!(
        j.reasons.iter().any(|r| r.contains("please dont")),
        "{:?}",
        j.reasons
    );
}

#[test]
fn every_line_of_the_agent_in_a_chat_transcript_is_the_agents() {
    let transcript = format!(
        "[10:38] Camille Roux : the old project is not needed\n[10:40] GitLab Support (Marc) : Hi Camille, thanks for reaching out on chat. {DELETE}\n[10:41] Camille Roux : yes, go ahead and delete blueocean/old-site"
    );
    assert_eq!(verdict(DELETE, &transcript), ConsentVerdict::Granted);
    // The requester's own lines are still read.
    let withdrawn = format!(
        "[10:40] GitLab Support (Marc) : Hi Camille. {DELETE}\n[10:41] Camille Roux : yes, go ahead\n[10:42] Camille Roux : actually no, don't delete it yet"
    );
    assert_ne!(verdict(DELETE, &withdrawn), ConsentVerdict::Granted);
}

#[test]
fn leaving_the_moment_to_the_agent_sets_none() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "You have my permission to delete blueocean/old-site. Do it whenever suits you.",
            "Vi autorizzo a eliminare il progetto blueocean/old-site. Potete procedere quando vi è più comodo.",
        ],
    );
    // A moment of its own beside it is still one.
    assert_ne!(
        verdict(
            DELETE,
            "You have my permission to delete blueocean/old-site, whenever suits you after Friday."
        ),
        ConsentVerdict::Granted
    );
}

#[test]
fn thanks_offers_and_availability_set_no_terms() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Primeiro, obrigado pela paciência com toda a verificação. Autorizo a exclusão do projeto blueocean/old-site.",
            "You have my permission to delete blueocean/old-site. If you need anything else, just shout.",
            "はい、blueocean/old-siteの削除を許可します。今週は棚卸しで店がバタバタしておりますが、メールは夜に確認いたします。",
            "同意，按你们说的删除 blueocean/old-site 就行。",
        ],
    );
    // Thanks that still order the action, or a preference after the answer, are terms.
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "You have my permission to delete blueocean/old-site. Thanks for waiting until Monday.",
            "You have my permission to delete blueocean/old-site. Our release is on Friday, so after that would be better.",
            "Ja, Sie haben meine Erlaubnis, blueocean/old-site zu löschen. Wir machen am Freitag noch ein Backup.",
        ],
    );
}

#[test]
fn typos_and_stored_recovery_codes_are_no_refusal() {
    // Italian "refusi" are typos, not a French "refus"; keeping the new recovery codes in a
    // safe is the requester's own care.
    for body in [
        "Certo, avete il mio permesso per eliminare il progetto blueocean/old-site. Scusa i refusi, scrivo dal treno.",
        "Yes, please go ahead and delete blueocean/old-site. This time I'll print the recovery codes and keep them in the office safe.",
    ] {
        assert_ne!(verdict(DELETE, body), ConsentVerdict::Declined, "{body}");
    }
    assert_eq!(
        verdict(DELETE, "Je refuse, ne supprimez pas blueocean/old-site."),
        ConsentVerdict::Declined
    );
}

#[test]
fn release_numbers_the_questions_own_date_and_korean_compounds_set_no_terms() {
    let restore = "Potrebbe fornire l'autorizzazione al nostro staff per ripristinare la wiki del progetto `docs/manuale` alla versione del 10/03/2024?";
    assert_eq!(
        verdict(
            restore,
            "Autorizzo espressamente il Vostro staff a ripristinare la wiki del progetto docs/manuale alla versione del 10/03/2024."
        ),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(
            RERUN,
            "You have my permission to re-run the pipelines in acme/api. The runners are on Ubuntu 22.04 with the docker executor."
        ),
        ConsentVerdict::Granted
    );
    // "이상의" (one or more) holds no "상의" (consult), "유지보수" (maintenance) no "유지" (keep).
    assert_eq!(
        verdict(
            RERUN,
            "프로젝트 acme/api에서 하나 이상의 파이프라인을 다시 실행하는 것을 허가합니다. 설정은 유지보수 업체와 정리하겠습니다."
        ),
        ConsentVerdict::Granted
    );
    assert_ne!(
        verdict(
            RERUN,
            "acme/api 파이프라인 재실행은 팀장님과 상의해 보고 다시 연락드리겠습니다."
        ),
        ConsentVerdict::Granted
    );
}

#[test]
fn idiomatic_and_formal_permissions_in_japanese_and_italian() {
    assert_all(
        TWO_FA,
        ConsentVerdict::Granted,
        &[
            "2FAの無効化の件、問題ございませんので進めてください。",
            "OKです！2FA外しちゃってください。お願いします",
            "Con la presente la sottoscritta, titolare dell'account, autorizza esplicitamente il personale di supporto a disattivare l'autenticazione a due fattori.",
            "Trascrizione chat – 21/05/2024\n[10:41] Marco Rinaldi: sì, vi autorizzo a disattivare l'autenticazione a due fattori",
        ],
    );
}

#[test]
fn polite_conditional_requests_and_when_to_tell_set_no_terms() {
    assert_all(
        RERUN,
        ConsentVerdict::Granted,
        &[
            "네, acme/api 파이프라인 재실행 진행해 주시면 감사하겠습니다.",
            "네, acme/api 파이프라인 재실행을 허락합니다. 결과 나오면 알려주세요.",
        ],
    );
    // The noun of the asked verb names the action ("allez-y pour la suppression").
    assert_eq!(
        verdict(
            DELETE,
            "Oui, allez-y pour la suppression du projet. On n'utilise plus rien d'aussi vieux, tout est redéployé chaque semaine."
        ),
        ConsentVerdict::Granted
    );
}

#[test]
fn a_path_written_straight_into_japanese_or_korean_is_the_asked_one() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "はい、blueocean/old-siteの削除を許可します。",
            "네, blueocean/old-site를 삭제하는 것을 허락합니다.",
        ],
    );
}

#[test]
fn a_refusal_that_only_puts_the_action_off_is_unclear() {
    let ssh = "Could you please provide permission for staff to remove the SSH key `laptop-2019` from your account?";
    assert_all(
        ssh,
        ConsentVerdict::Unclear,
        &[
            "Hold off for a day please, I need to rotate the key on the server first.",
            "네 진행해주세요\n\n아 잠깐만요, 백업 먼저 하고 다시 연락드릴게요.",
        ],
    );
    // Taken back and said outright, or put off with nothing to wait for: declined.
    assert_all(
        ssh,
        ConsentVerdict::Declined,
        &[
            "Yes, go ahead. Actually no, don't remove it, we still use that laptop.",
            "Please hold off.",
        ],
    );
}

#[test]
fn a_negation_opening_a_doubt_with_a_question_is_unclear() {
    let unlink = "Could you please confirm that you would like us to unlink the SAML identity from your account?";
    assert_all(
        unlink,
        ConsentVerdict::Unclear,
        &[
            "Ma se scollegate l'identità SAML poi riesco ancora a entrare con la password? Non vorrei restare chiuso fuori di nuovo.",
            "Ik denk het wel? Eerlijk gezegd weet ik niet precies wat dat inhoudt. Raakt het onze data?",
        ],
    );
    assert_all(
        unlink,
        ConsentVerdict::Declined,
        &[
            "Non, merci.",
            "Non voglio che scolleghiate l'identità SAML.",
        ],
    );
}

#[test]
fn french_dont_and_date_are_no_negation_or_moment() {
    let fr = "Pourriez-vous nous donner l'autorisation de supprimer le projet `sud/ancien` ?";
    assert_eq!(
        verdict(
            fr,
            "Bonjour, pour le contexte, ce projet date de mon stage et je ne l'utilise plus depuis longtemps. J'ai déjà récupéré tout ce dont j'avais besoin. Donc oui, je vous autorise à supprimer le projet sud/ancien. Cordialement, Léa"
        ),
        ConsentVerdict::Granted
    );
    // In English, "dont" is still "don't".
    assert_eq!(verdict(DELETE, "Dont delete it."), ConsentVerdict::Declined);
}

#[test]
fn si_is_if_in_spanish_and_french_and_a_pronoun_in_italian() {
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Vous pouvez y aller si la sauvegarde est faite.",
            "Pueden borrarlo si ya hicieron la copia de seguridad.",
        ],
    );
    assert_eq!(
        verdict(
            DELETE,
            "Sì, il progetto si può eliminare, grazie. Non ci serve più."
        ),
        ConsentVerdict::Granted
    );
}

#[test]
fn asking_to_be_told_when_it_is_done_sets_no_terms() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Yes, please delete it. Let me know once it's done.",
            "はい、削除してください。\n\n追伸：対応完了後、このチケットでご一報いただけますと助かります。",
        ],
    );
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Yes. Tell me when you are about to delete it, I need to stop the sync.",
            "Yes, go ahead. Let me know first whether the wiki is kept.",
            "Vous pouvez le supprimer dès que la sauvegarde est faite.",
            "バックアップ後に削除してください。",
        ],
    );
}

const RERUN: &str = "Could you please provide permission for staff to re-run one or more pipelines in project `acme/api` to investigate the issue you've described?";
const REGISTRY: &str = "Could you please provide permission for staff to delete all images in the container registry of project `deploy/images`?";

#[test]
fn a_question_for_information_beside_the_permission_question_leaves_a_yes_to_it() {
    let full =
        format!("Hi,\n\nSince when does the problem happen, roughly?\n\n{RERUN}\n\nBest,\nSam");
    let j = judge_in_comment(RERUN, &full, "Yes, go ahead.");
    assert_eq!(j.verdict, ConsentVerdict::Granted, "{:?}", j.reasons);
    // A question a yes could answer still competes for it.
    let full =
        format!("Hi,\n\nAre there scheduled deployments we should avoid?\n\n{RERUN}\n\nBest,\nSam");
    let j = judge_in_comment(RERUN, &full, "Yes, go ahead.");
    assert_eq!(j.verdict, ConsentVerdict::Unclear, "{:?}", j.reasons);
}

#[test]
fn a_negated_permission_after_italian_non_is_refused() {
    assert_all(
        RERUN,
        ConsentVerdict::Declined,
        &["Ma state scherzando? NO, non vi autorizzo a toccare le pipeline."],
    );
    assert_all(
        RERUN,
        ConsentVerdict::Granted,
        &["Sì, vi autorizzo a rieseguire le pipeline."],
    );
}

#[test]
fn a_romance_worry_with_a_bare_infinitive_is_no_refusal() {
    // "I don't want to lose the logs": a worry about what follows, asked before agreeing.
    assert_all(
        REGISTRY,
        ConsentVerdict::Unclear,
        &[
            "ok pero primero díganme si se borra también el historial de CI?? no quiero perder los logs",
            "Sim, mas antes faz um backup, ok? Não quero perder o código.",
        ],
    );
    // What is not wanted is the action itself: a refusal.
    assert_all(
        REGISTRY,
        ConsentVerdict::Declined,
        &[
            "No quiero borrar las imágenes.",
            "Não quero apagar as imagens.",
        ],
    );
}

#[test]
fn portuguese_no_is_in_the() {
    assert_all(
        RERUN,
        ConsentVerdict::Granted,
        &["Sim, autorizo vocês a reexecutar os pipelines no projeto acme/api."],
    );
    assert_all(
        RERUN,
        ConsentVerdict::Declined,
        &["Não autorizo. Não reexecutem os pipelines no projeto, por favor."],
    );
}

#[test]
fn version_numbers_and_chat_headers_are_no_moments() {
    let full = "Olá,\n\n1. O runner é gerenciado por vocês?\n2. Qual a versão dele?\n3. Could you please provide permission for staff to unregister the runner #60233 from the project `saude/agenda`?\n\nAtenciosamente";
    let question = "Could you please provide permission for staff to unregister the runner #60233 from the project `saude/agenda`?";
    let j = judge_in_comment(
        question,
        full,
        "1- sim, o runner é nosso\n2- versão 16.8.0\n3- sim, tem minha permissão pra desregistrar o runner #60233 do projeto saude/agenda",
    );
    assert_eq!(j.verdict, ConsentVerdict::Granted, "{:?}", j.reasons);
    let reset = "Could you please provide permission for staff to reset the password for your account @ele.romano?";
    assert_all(
        reset,
        ConsentVerdict::Granted,
        &[
            "Chat iniziata alle 16:04\nElena Romano: sì, vi autorizzo a resettare la password di @ele.romano",
            "Elena (16:05): sì, vi autorizzo a resettare la password di @ele.romano",
        ],
    );
    // A moment the requester sets is still one.
    assert_all(
        reset,
        ConsentVerdict::Unclear,
        &["Sì, vi autorizzo a resettare la password di @ele.romano alle 16:04."],
    );
}

#[test]
fn only_the_requesters_own_earlier_request_is_no_scope() {
    assert_all(
        DELETE,
        ConsentVerdict::Declined,
        &[
            "Bitte NICHT löschen!! Ich hatte nur gefragt, wie man Speicherplatz freigibt.",
            "Não autorizo. Não apaguem nada, por favor. Eu só queria saber como liberar espaço.",
        ],
    );
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &["Yes, delete it, but only the wiki."],
    );
}

#[test]
fn an_open_ended_instruction_is_no_permission_by_itself() {
    assert_all(
        RERUN,
        ConsentVerdict::Unclear,
        &[
            "Machen Sie, was nötig ist. Hauptsache es läuft wieder.",
            "Do whatever you need.",
        ],
    );
    // Beside permission that names the asked action it only adds to it.
    assert_all(
        RERUN,
        ConsentVerdict::Granted,
        &[
            "By all means, rerun whatever you need.",
            "Ja, ik geef toestemming om de pipelines opnieuw te draaien. Doe wat nodig is.",
        ],
    );
}

#[test]
fn part_kept_back_after_a_contrast_is_unclear() {
    assert_all(
        REGISTRY,
        ConsentVerdict::Unclear,
        &[
            "Potete svuotare il registry ma lasciate le immagini taggate prod-*",
            "You can delete the old images but please keep everything tagged prod.",
        ],
    );
    assert_all(
        REGISTRY,
        ConsentVerdict::Declined,
        &[
            "No, please keep the images.",
            "Please keep them, don't delete anything.",
        ],
    );
}

#[test]
fn a_refusal_until_then_only_puts_the_action_off() {
    let transfer = "Could you please confirm that you would like us to transfer the project `rw/portal` to the group `rw-intern`?";
    assert_all(
        transfer,
        ConsentVerdict::Unclear,
        &["Ja, aber erst nach dem Release am Freitag. Vorher bitte nichts verschieben."],
    );
    assert_all(
        transfer,
        ConsentVerdict::Declined,
        &[
            "Bitte nichts verschieben.",
            "Wir ziehen die Anfrage zurück.",
            "Trek mijn verzoek in.",
        ],
    );
}

#[test]
fn a_prerequisite_said_to_be_done_is_no_condition() {
    assert_all(
        REGISTRY,
        ConsentVerdict::Granted,
        &[
            "Yes, you have my permission to delete all images in the registry. I already made a backup.",
        ],
    );
    assert_all(
        REGISTRY,
        ConsentVerdict::Unclear,
        &["Yes, you have my permission to delete all images in the registry after a backup."],
    );
}

#[test]
fn german_and_dutch_split_verbs_name_the_action() {
    assert_all(
        TWO_FA,
        ConsentVerdict::Granted,
        &[
            "Ja, schakel 2FA maar uit op mijn account. Bedankt!",
            "Ja, bitte schalten Sie die 2FA aus.",
        ],
    );
    // Everything between the verb and its particle is still read.
    assert_all(
        TWO_FA,
        ConsentVerdict::Unclear,
        &[
            "Ja, schakel 2FA niet uit.",
            "Ja, schakel 2FA pas morgen uit.",
        ],
    );
}

#[test]
fn chat_and_mobile_requests_in_every_language_name_the_action() {
    assert_all(
        TWO_FA,
        ConsentVerdict::Granted,
        &[
            "Yes please, turn it off.",
            "Sí, quítenla por favor.",
            "네, 꺼 주세요.",
        ],
    );
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &["行，删吧。", "네 부탁드려요"],
    );
    // A moment, a refusal or a condition beside them still counts.
    assert_all(
        TWO_FA,
        ConsentVerdict::Unclear,
        &["Yes, turn it off after I log in.", "네, 내일 꺼 주세요."],
    );
    assert_all(DELETE, ConsentVerdict::Declined, &["那就先不删吧。"]);
    assert_all(
        TWO_FA,
        ConsentVerdict::Declined,
        &["Please don't turn it off.", "끄지 마세요."],
    );
}

#[test]
fn a_verb_closing_its_clause_with_nicht_or_niet_is_refused() {
    assert_all(
        DELETE,
        ConsentVerdict::Declined,
        &[
            "Bitte löschen Sie das Projekt nicht.",
            "削除はご遠慮ください。",
        ],
    );
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &["Ja, bitte löschen Sie das Projekt."],
    );
}

#[test]
fn a_cushion_phrase_before_a_polite_request_is_courtesy() {
    let unblock =
        "Could you please confirm that you would like us to unblock your account `r.kimura`?";
    assert_all(
        unblock,
        ConsentVerdict::Granted,
        &["私のアカウントのブロック解除を許可いたします。お手数ですがよろしくお願いいたします。"],
    );
    // A real "but" after the permission still qualifies it.
    assert_all(
        unblock,
        ConsentVerdict::Unclear,
        &["私のアカウントのブロック解除を許可いたします。ですが、来週にしてください。"],
    );
}

#[test]
fn asking_for_advice_after_the_answer_sets_no_terms() {
    let restore =
        "Could you please provide permission for staff to restore the project `club/members`?";
    assert_all(
        restore,
        ConsentVerdict::Granted,
        &[
            "Ja, ik geef toestemming om het project club/members te herstellen. Als u tips heeft hoe we dat kunnen voorkomen, hoor ik het graag.",
            "Yes, I give permission to restore the project club/members. If you have any tips on avoiding this, I'd love to hear them.",
        ],
    );
    // An "if" on the action itself, or before the answer, is still a condition.
    assert_all(
        restore,
        ConsentVerdict::Unclear,
        &[
            "Yes, I give permission to restore the project club/members. If you restore it, keep the old tips page.",
            "If you have tips, tell me first. Yes, I give permission to restore the project club/members.",
        ],
    );
}

#[test]
fn a_reason_that_the_thing_is_unused_in_french_and_portuguese() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Oui, supprimez-le, on ne l'utilise plus.",
            "Sim, podem apagar, não usamos mais.",
        ],
    );
    // French "mais" is still "but"; a negation that is no reason still blocks.
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Oui, supprimez-le, mais pas le wiki.",
            "Sim, podem apagar, não o wiki.",
        ],
    );
}

#[test]
fn a_scope_word_in_a_sentence_that_only_tells_is_no_partial_permission() {
    let group =
        "Could you please confirm that you would like us to delete the group `tessellate-labs`?";
    assert_all(
        group,
        ConsentVerdict::Declined,
        &[
            "Please don't delete the group yet. We found out another team still pulls packages from one of the projects in it.",
            "절대 삭제하지 마세요!!! 저는 그룹 이름 변경만 문의했습니다.",
        ],
    );
    // Beside an answer or a moment, or opening its sentence, the scope word sets terms.
    assert_all(
        group,
        ConsentVerdict::Unclear,
        &[
            "Va bene, ma solo dopo il 20, adesso abbiamo la consegna e non voglio rischiare che si rompano le pipeline.",
            "Only the old subgroup please. Don't delete the rest of the group.",
        ],
    );
}

#[test]
fn acknowledging_what_the_agent_said_sets_no_terms() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "I understand this cannot be undone. Please go ahead and delete the project.",
            "Entiendo que no se puede deshacer. Sí, pueden borrar el proyecto.",
            "元に戻せないことは承知しております。プロジェクトを削除してください。",
            "복구할 수 없다는 것은 알고 있습니다. 프로젝트를 삭제해 주세요.",
        ],
    );
    // Beside a refusal asked for, a scope or a moment of the requester's own, it still counts.
    assert_all(
        DELETE,
        ConsentVerdict::Declined,
        &["I understand it can't be undone, but please don't delete it."],
    );
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "I understand this cannot be undone. Please delete it, but only the wiki.",
            "I understand. Please delete it tomorrow.",
        ],
    );
}

#[test]
fn explicit_permission_cannot_answer_a_request_to_send_something() {
    let full = format!(
        "Hi,\n\nPlease send us the job log of the last failed run.\n\n{RERUN}\n\nBest,\nSam"
    );
    let j = judge_in_comment(RERUN, &full, "Go ahead, you have my permission.");
    assert_eq!(j.verdict, ConsentVerdict::Granted, "{:?}", j.reasons);
    // A bare yes may be for the log; a question a "go ahead" may answer takes it.
    let j = judge_in_comment(RERUN, &full, "Yes.");
    assert_eq!(j.verdict, ConsentVerdict::Unclear, "{:?}", j.reasons);
    let full = format!("Hi,\n\nShall we also delete the stale runners?\n\n{RERUN}\n\nBest,\nSam");
    let j = judge_in_comment(RERUN, &full, "Go ahead.");
    assert_eq!(j.verdict, ConsentVerdict::Unclear, "{:?}", j.reasons);
    let full = format!(
        "Hi,\n\nPlease let us know whether we may also delete the stale runners.\n\n{RERUN}\n\nBest,\nSam"
    );
    let j = judge_in_comment(RERUN, &full, "Go ahead.");
    assert_eq!(j.verdict, ConsentVerdict::Unclear, "{:?}", j.reasons);
}

/// Permission for another role than the one asked permits something else; a reply naming the
/// asked role still grants.
#[test]
fn permission_for_another_role_is_unclear() {
    let owner = "Could you please confirm that you would like us to make @bob an Owner of the group `acme`?";
    let (v, reasons) = judge_text(owner, "No need for owner. You can make him maintainer.");
    assert_eq!(v, ConsentVerdict::Unclear, "{reasons:?}");
    let (v, reasons) = judge_text(owner, "Yes, you can make him maintainer");
    assert_eq!(v, ConsentVerdict::Unclear, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("other role")),
        "{reasons:?}"
    );
    let (v, reasons) = judge_text(owner, "Yes, please make him owner of acme.");
    assert_eq!(v, ConsentVerdict::Granted, "{reasons:?}");
    let ja = "グループ `acme` で @bob をオーナーにしてもよろしいでしょうか？";
    let (v, reasons) = judge_text(ja, "はい、メンテナーにしてください。");
    assert_eq!(v, ConsentVerdict::Unclear, "{reasons:?}");
}

/// 見送る / 見合わせる ("hold off") refuse the action they name.
#[test]
fn japanese_hold_off_refuses() {
    let delete = "プロジェクト `acme/old` を削除してもよろしいでしょうか？";
    for reply in [
        "削除は見送ってください。",
        "今回は削除を見合わせてください。",
    ] {
        let (v, reasons) = judge_text(delete, reply);
        assert_eq!(v, ConsentVerdict::Declined, "{reply}: {reasons:?}");
    }
}

/// A role change names two roles; permission for a third is not for it.
#[test]
fn permission_for_a_role_a_change_does_not_name_is_unclear() {
    let change = "Could you please confirm that you would like us to change @bob from Developer to Owner in `acme/api`?";
    let (v, reasons) = judge_text(change, "No need for that, you can make him maintainer");
    assert_ne!(v, ConsentVerdict::Granted, "{reasons:?}");
    let (v, reasons) = judge_text(change, "Yes, please make him owner.");
    assert_eq!(v, ConsentVerdict::Granted, "{reasons:?}");
}

/// The third round's families, each with the near miss that must stay as it was.
#[test]
fn afterwords_that_set_no_terms_do_not_hold_a_grant_back() {
    const ADD: &str = "Could you please confirm that you would like us to add `julia@example.com` to your account and make it the primary email address?";
    assert_all(
        ADD,
        ConsentVerdict::Granted,
        &[
            "Yes, please add julia@example.com to my account and make it the primary address. I really can't open my old university mailbox anymore.",
            "Yes, please add julia@example.com to my account and make it the primary address. I honestly never expected the university to shut my mailbox down so suddenly.",
            "Yes, please add julia@example.com to my account and make it the primary address. How long does that usually take? Just curious.",
            "Yes, please add julia@example.com to my account and make it the primary address. Have a nice weekend!",
        ],
    );
    // A contact line's address is no other target, unless the question is about an address.
    let signed = "\n\nJulia Marsh\njulia.marsh@other-company.example";
    assert_eq!(
        verdict(
            DELETE,
            &format!("Yes, please delete blueocean/old-site.{signed}")
        ),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(
            ADD,
            &format!("Yes, please add julia@example.com and make it the primary address.{signed}")
        ),
        ConsentVerdict::Unclear
    );
    const PURGE: &str = "Could you please provide permission for staff to purge all container registry tags in the projects `app-a` and `app-b`?";
    // A later negation that names one of the asked targets speaks to the action.
    assert_eq!(
        verdict(
            PURGE,
            "You can purge the tags of app-a and app-b. Please note that app-b is not the one we deploy from anymore."
        ),
        ConsentVerdict::Unclear
    );
    // A later sentence with terms besides the negation still holds the grant back.
    assert_eq!(
        verdict(
            DELETE,
            "Yes, please delete blueocean/old-site. We can't lose anything before Friday though."
        ),
        ConsentVerdict::Unclear
    );
}

#[test]
fn going_ahead_oneself_is_no_go_ahead() {
    assert_eq!(
        verdict(
            DELETE,
            "No worries at all, I'll go ahead and delete it myself now that I know where the button is."
        ),
        ConsentVerdict::Declined
    );
    assert_eq!(
        verdict(DELETE, "Go ahead and delete it."),
        ConsentVerdict::Granted
    );
}

#[test]
fn agreed_is_a_yes_and_ok_with_me_is_permission() {
    const RERUN: &str = "Nous autorisez-vous à réexécuter le job de déploiement Pages du projet `boulangerie/site` ?";
    assert_all(
        RERUN,
        ConsentVerdict::Granted,
        &["D'accord.", "ok pour moi, merci"],
    );
    // A bare "ok" stays an acknowledgement.
    assert_eq!(verdict(RERUN, "ok"), ConsentVerdict::Unclear);
}

#[test]
fn a_refusal_beside_another_target_after_a_yes_narrows_it() {
    // "Only the ones on main": the refusal names another part; the yes is not taken back.
    assert_eq!(
        verdict(
            RERUN,
            "Sure, go ahead and re-run them.\n\nP.S. Only the ones on main please - the feature branch pipelines deploy to review apps and we don't want those spun up again."
        ),
        ConsentVerdict::Unclear
    );
    // Said outright about the action itself, it is taken back.
    assert_eq!(
        verdict(
            RERUN,
            "Yes, go ahead. No, please don't, we are mid-release."
        ),
        ConsentVerdict::Declined
    );
}

#[test]
fn not_yet_after_a_yes_puts_it_off() {
    assert_eq!(
        verdict(
            RERUN,
            "네 진행해주세요\n\n아 잠깐만요, 백업 먼저 하고 다시 연락드릴게요. 아직 하지 마세요!"
        ),
        ConsentVerdict::Unclear
    );
}

#[test]
fn polite_refusals_are_refusals() {
    assert_all(
        RERUN,
        ConsentVerdict::Declined,
        &[
            "誠に恐縮ではございますが、今回の再実行につきましては見送らせていただきたく存じます。",
            "검토해 주셔서 감사합니다. 다만 사내 보안 규정상 외부 인력이 파이프라인을 다시 실행하는 것은 어려울 것 같습니다.",
            "en fait laissez tomber, on a trouvé le problème",
            "purtroppo non posso concedere l'autorizzazione: la nostra policy interna non lo consente.",
            "Prefiro não autorizar neste momento. Vamos fazer a exportação nós mesmos.",
            "당사 보안 정책상 외부 인력에 의한 파이프라인 재실행은 허용되지 않습니다.",
            "弊社のセキュリティ規程により、社外の方による当該リポジトリへの操作はお受けいたしかねる状況でございます。",
        ],
    );
}

#[test]
fn german_als_is_as_and_offers_of_help_set_no_terms() {
    let primary = "Could you please confirm that you would like us to add `lena.k@proton.me` to your account and make it the _primary_ email address?";
    assert_eq!(
        verdict(
            primary,
            "Einverstanden, bitte lena.k@proton.me hinzufügen und als primäre Adresse eintragen."
        ),
        ConsentVerdict::Granted
    );
    // Dutch "als" is "if".
    assert_eq!(
        verdict(
            primary,
            "Akkoord, voeg lena.k@proton.me toe als primair adres, als het oude adres blijft bestaan."
        ),
        ConsentVerdict::Unclear
    );
    assert_eq!(
        verdict(
            RERUN,
            "Akkoord, u mag de pipelines in acme/api opnieuw draaien. Laat gerust weten als u nog iets van ons nodig hebt."
        ),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(
            RERUN,
            "大丈夫です！acme/apiのパイプラインを再実行してもらって大丈夫です。スマホ水没しちゃって…"
        ),
        verdict(
            RERUN,
            "大丈夫です！acme/apiのパイプラインを再実行してもらって大丈夫です。スマホが壊れちゃって…"
        ),
    );
}

#[test]
fn cest_bon_is_no_permission_by_itself() {
    let rerun_fr = "Pourriez-vous nous autoriser à relancer un ou plusieurs pipelines dans le projet `acme/web` pour examiner le problème ?";
    // "It's fine now": the requester did it themselves.
    assert_eq!(
        verdict(
            rerun_fr,
            "Ah, en fait c'est bon : j'ai relancé le pipeline moi-même et il est passé. Plus besoin."
        ),
        ConsentVerdict::Declined
    );
    assert_eq!(verdict(rerun_fr, "C'est bon."), ConsentVerdict::Unclear);
    assert_eq!(
        verdict(
            rerun_fr,
            "C'est bon, vous pouvez relancer les pipelines de acme/web."
        ),
        ConsentVerdict::Granted
    );
}

/// A suffix that permits whatever verb it ends ("〜していただいて構いません", "〜셔도 됩니다")
/// permits the asked action only when that verb is it: closing the ticket or leaving things as
/// they are means nothing is left to do.
#[test]
fn suffix_permits_need_the_asked_verb() {
    let ko = "계정 `minsu` 의 2단계 인증을 해제해도 될지 허락해 주시겠어요?";
    assert_eq!(
        verdict(ko, "네, 해제하셔도 됩니다."),
        ConsentVerdict::Granted
    );
    assert_all(
        ko,
        ConsentVerdict::Declined,
        &[
            "그냥 두셔도 됩니다.",
            "이 티켓은 종료하셔도 돼요.",
            "이 건은 무시하셔도 됩니다.",
            "이제 해결됐어요. 티켓 닫으셔도 됩니다.",
        ],
    );
    let ja = "アカウント `tanaka` の2要素認証を無効化することを許可していただけますか？";
    assert_eq!(
        verdict(ja, "チケットはクローズしていただいて構いません。"),
        ConsentVerdict::Declined
    );
    let en =
        "Could you please confirm that you would like us to disable 2FA on your account `tanaka`?";
    assert_all(
        en,
        ConsentVerdict::Declined,
        &[
            "Found my codes. You can close the ticket.",
            "You can leave it as is, thanks.",
        ],
    );
    let es = "¿Podría confirmar que desea que desactivemos la 2FA de su cuenta `tanaka`?";
    assert_all(
        es,
        ConsentVerdict::Declined,
        &[
            "Ya lo solucioné, pueden cerrar el ticket.",
            "Pueden dejarlo como está.",
        ],
    );
}

/// After an answer that names the action, news of the requester's own absence is no
/// out-of-office message, and in background opened as such its moment is the story's; a moment
/// for anyone else's plans there may be one for the action.
#[test]
fn the_requesters_own_absence_sets_no_terms() {
    let rerun = "Could you please provide permission for staff to re-run one or more pipelines in project `trattoria-app/backend` to investigate the timeout you've described?";
    assert_eq!(
        verdict(
            rerun,
            "Sì, potete rilanciare tutte le pipeline che vi servono.\n\nP.S. Da domani sono in ferie fino a lunedì, grazie."
        ),
        ConsentVerdict::Granted
    );
    let delete = "¿Podría confirmar que desea que eliminemos el proyecto `acme/legacy-site`?";
    assert_eq!(
        verdict(
            delete,
            "Te cuento el contexto: a partir del lunes estaré de vacaciones dos semanas enteras.\n\nSí, adelante, elimínenlo."
        ),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(
            delete,
            "Te cuento el contexto: el lunes el equipo de auditoría revisará el proyecto entero.\n\nSí, adelante, elimínenlo."
        ),
        ConsentVerdict::Unclear
    );
}

/// "Dat is akkoord" is the requester's own agreement, not someone else's relayed.
#[test]
fn dutch_dat_is_akkoord_is_own_agreement() {
    let role = "Kunt u bevestigen dat wij @pjansen de rol Maintainer mogen geven in het project `webshop/checkout`?";
    assert_eq!(
        verdict(role, "Ja, dat is akkoord. Zet Pieter maar op Maintainer."),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(role, "Mijn manager is akkoord."),
        ConsentVerdict::Unclear
    );
}

/// Words that only look like qualifiers: 解除 removes a second factor in Japanese as 해제 does
/// in Korean; 夜 in a company's name is no moment; 这么 ("so") is no question; a day of
/// back-to-back meetings is no moment for the action.
#[test]
fn look_alike_qualifiers_do_not_hold_a_grant_back() {
    let two_fa = "Could you please confirm that you would like us to remove two-factor authentication from your account `tnakamura`?";
    assert_eq!(
        verdict(
            two_fa,
            "はい、私のアカウント tnakamura の二要素認証の解除をお願いいたします。"
        ),
        ConsentVerdict::Granted
    );
    assert_eq!(
        verdict(
            two_fa,
            "夜空ラボの田中です。アカウント tnakamura の二要素認証の解除を許可いたします。"
        ),
        ConsentVerdict::Granted
    );
    // A moment of its own still is one.
    assert_eq!(
        verdict(
            two_fa,
            "今夜、アカウント tnakamura の二要素認証の解除を許可いたします。"
        ),
        ConsentVerdict::Unclear
    );
    let ip = "请问您是否授权我们关闭群组 `hzu-cs` 的 IP 地址限制？";
    assert_eq!(
        verdict(
            ip,
            "谢谢你们这么快回复。我授权你们关闭群组 hzu-cs 的 IP 地址限制。"
        ),
        ConsentVerdict::Granted
    );
    let tags = "Could you please confirm that you would like us to delete the tags older than 90 days in `edge-gateway`?";
    assert_eq!(
        verdict(
            tags,
            "Confirmed, you have my permission to delete the tags older than 90 days in edge-gateway. Back-to-back meetings all day so email is best."
        ),
        ConsentVerdict::Granted
    );
}
