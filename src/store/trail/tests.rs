use super::*;
use crate::workflow::{Category, ConsentVerdict};
use time::OffsetDateTime;

fn v1(seq: i64, prev: &str) -> ConfirmationRecord {
    let mut r = ConfirmationRecord {
        seq,
        format: RecordFormat::V1,
        ticket_id: "5158".into(),
        requester_id: "1001".into(),
        category: "account_access".into(),
        action: "disable two-factor authentication on your account".into(),
        verdict: RecordedVerdict::Granted,
        quote: "Yes, please go ahead.".into(),
        request_comment_id: "11".into(),
        reply_comment_id: "12".into(),
        decided_at: "2025-01-08T14:25:30Z".into(),
        channel: None,
        body_sha256: None,
        withdraws_seq: None,
        altered_for_storage: vec![],
        hmac: None,
        helpdesk: None,
        prev_hash: prev.into(),
        hash: String::new(),
    };
    r.seal(None).unwrap();
    r
}

fn draft(quote: &str, reply: &str) -> ConfirmationDraft {
    ConfirmationDraft {
        ticket_id: "5158".into(),
        requester_id: "1001".into(),
        category: Category::AccountAccess,
        action: "disable two-factor authentication on your account".into(),
        verdict: ConsentVerdict::Granted,
        quote: quote.into(),
        request_comment_id: "11".into(),
        reply_comment_id: reply.into(),
        decided_at: OffsetDateTime::parse("2025-01-08T14:25:30Z", &Rfc3339).unwrap(),
        channel: Some("email".into()),
        body_sha256: "3d7cdeaaaa6675615e7fc6f7fe3f4a67766ce7af4c7353da038155ce36ed4ccd".into(),
        withdraws_reply_comment_id: None,
    }
}

fn v2(seq: i64, prev: &str, key: Option<&TrailKey>) -> ConfirmationRecord {
    ConfirmationRecord::from_draft(&draft("Yes", &format!("r{seq}")), seq, prev, None, key).unwrap()
}

fn key() -> TrailKey {
    TrailKey::new("a trail key of at least thirty-two bytes").unwrap()
}

#[test]
fn format_1_hash_is_sha256_of_prev_hash_and_sorted_compact_json() {
    let r = v1(1, GENESIS_HASH);
    let canonical = format!(
        r#"{{"action":"{}","category":"account_access","decided_at":"2025-01-08T14:25:30Z","prev_hash":"{}","quote":"Yes, please go ahead.","reply_comment_id":"12","request_comment_id":"11","requester_id":"1001","seq":1,"ticket_id":"5158","verdict":"granted"}}"#,
        r.action, GENESIS_HASH
    );
    assert_eq!(
        String::from_utf8(r.canonical_json().unwrap()).unwrap(),
        canonical
    );
    let expected = hex::encode(Sha256::digest(format!("{GENESIS_HASH}{canonical}")));
    assert_eq!(r.hash, expected);
}

/// The algorithm that wrote format-1 records: serde_json over a sorted map.
fn old_canonical(r: &ConfirmationRecord) -> String {
    let value = serde_json::to_value(r).unwrap();
    let mut map: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_value(value).unwrap();
    map.remove("hash");
    serde_json::to_string(&map).unwrap()
}

#[test]
fn format_1_records_written_by_older_versions_keep_their_canonical_bytes() {
    // Every character class JCS and serde_json could disagree on: controls (short and \u
    // escapes), quote and backslash, DEL, the line separators, non-ASCII and astral planes.
    let tricky = "a\u{0}b\u{1f}\u{8}\t\n\u{c}\r\"\\/\u{7f}\u{2028}\u{2029}é好👍\u{FFFD}";
    let mut r = v1(1, GENESIS_HASH);
    r.quote = tricky.into();
    r.action = tricky.into();
    assert_eq!(
        String::from_utf8(r.canonical_json().unwrap()).unwrap(),
        old_canonical(&r)
    );
}

/// The README's test vector: a format-2 record whose quote has accents, CJK and an emoji.
#[test]
fn readme_test_vector() {
    let r = ConfirmationRecord::from_draft(
        &draft("Sí, adelante — 好的，请继续 👍", "12"),
        1,
        GENESIS_HASH,
        None,
        None,
    )
    .unwrap();
    let canonical = r.canonical_json().unwrap();
    assert_eq!(
        String::from_utf8(canonical.clone()).unwrap(),
        concat!(
            r#"{"action":"disable two-factor authentication on your account","#,
            r#""altered_for_storage":[],"#,
            r#""body_sha256":"3d7cdeaaaa6675615e7fc6f7fe3f4a67766ce7af4c7353da038155ce36ed4ccd","#,
            r#""category":"account_access","channel":"email","decided_at":"2025-01-08T14:25:30Z","#,
            r#""format":2,"hmac":null,"#,
            r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""quote":"Sí, adelante — 好的，请继续 👍","reply_comment_id":"12","#,
            r#""request_comment_id":"11","requester_id":"1001","seq":1,"ticket_id":"5158","#,
            r#""verdict":"granted","withdraws_seq":null}"#
        )
    );
    // The quote's bytes in the canonical form: UTF-8 as is, nothing escaped.
    let quote_bytes = "53 c3 ad 2c 20 61 64 65 6c 61 6e 74 65 20 e2 80 94 20 e5 a5 bd e7 9a 84 ef bc 8c e8 af b7 e7 bb a7 e7 bb ad 20 f0 9f 91 8d";
    let hex_quote: Vec<String> = r.quote.bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex_quote.join(" "), quote_bytes);
    assert_eq!(
        r.hash,
        "2a376174c263400cb47d05f57267def62d1275a9c4b4b59c966d3403668b4175"
    );

    // The same record with the README's example key: the HMAC covers the canonical form
    // without `hmac`, and the hash then covers the HMAC.
    let key = TrailKey::new("an example trail key, 32 bytes or more").unwrap();
    let mut keyed = r.clone();
    keyed.seal(Some(&key)).unwrap();
    let without_hmac = String::from_utf8(keyed.hmac_input().unwrap()).unwrap();
    assert_eq!(
        without_hmac,
        String::from_utf8(canonical)
            .unwrap()
            .replace(r#""hmac":null,"#, "")
    );
    assert_eq!(
        keyed.hmac.as_deref(),
        Some("1e0a554e3ebd9d6698be70eaf5c3b79c94e76a2751d0fee400f875d7851aa919")
    );
    assert_eq!(
        keyed.hash,
        "c9fd2e43f3e5f72a4cb7dc926aee3dd74504bf89c101b6ff5c4345174a512931"
    );
}

#[test]
fn records_round_trip_through_their_json_lines_in_both_formats() {
    for r in [v1(1, GENESIS_HASH), v2(2, GENESIS_HASH, Some(&key()))] {
        let line = serde_json::to_string(&r).unwrap();
        let back: ConfirmationRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.compute_hash(), r.hash);
    }
    let line = serde_json::to_string(&v1(1, GENESIS_HASH)).unwrap();
    assert!(!line.contains("format") && !line.contains("hmac"), "{line}");
}

#[test]
fn a_record_line_with_a_field_its_hash_does_not_cover_is_refused() {
    let mut value = serde_json::to_value(v1(1, GENESIS_HASH)).unwrap();
    value["channel"] = "email".into();
    let err = serde_json::from_value::<ConfirmationRecord>(value).unwrap_err();
    assert!(err.to_string().contains("does not cover"), "{err}");

    let mut value = serde_json::to_value(v2(1, GENESIS_HASH, None)).unwrap();
    value["note"] = "unhashed".into();
    assert!(serde_json::from_value::<ConfirmationRecord>(value).is_err());

    let mut value = serde_json::to_value(v2(1, GENESIS_HASH, None)).unwrap();
    value.as_object_mut().unwrap().remove("withdraws_seq");
    let err = serde_json::from_value::<ConfirmationRecord>(value).unwrap_err();
    assert!(err.to_string().contains("lacks `withdraws_seq`"), "{err}");

    // Format 3 is the newest this version knows; the next one is refused.
    let mut value = serde_json::to_value(v2(1, GENESIS_HASH, None)).unwrap();
    value["format"] = 4.into();
    let err = serde_json::from_value::<ConfirmationRecord>(value).unwrap_err();
    assert!(err.to_string().contains("format 4"), "{err}");
}

#[test]
fn another_helpdesks_record_is_format_3_and_its_hash_covers_the_helpdesk() {
    let key = TrailKey::new(&"k".repeat(32)).unwrap();
    let draft = draft("Yes", "r1");
    let zendesk =
        ConfirmationRecord::from_draft_of("zendesk", &draft, 1, GENESIS_HASH, None, Some(&key))
            .unwrap();
    assert_eq!(
        (zendesk.format, zendesk.helpdesk()),
        (RecordFormat::V2, "zendesk")
    );
    let zammad =
        ConfirmationRecord::from_draft_of("zammad", &draft, 1, GENESIS_HASH, None, Some(&key))
            .unwrap();
    assert_eq!(zammad.format, RecordFormat::V3);
    let line = serde_json::to_value(&zammad).unwrap();
    assert_eq!(
        (line["format"].as_u64(), line["helpdesk"].as_str()),
        (Some(3), Some("zammad"))
    );
    let parsed: ConfirmationRecord = serde_json::from_value(line.clone()).unwrap();
    assert_eq!(parsed, zammad);
    assert_eq!(parsed.compute_hash(), zammad.hash);
    assert!(parsed.hmac_matches(&key));

    let mut moved = parsed.clone();
    moved.helpdesk = Some("zendesk".into());
    assert_ne!(moved.compute_hash(), zammad.hash, "the helpdesk is hashed");
    assert!(!moved.hmac_matches(&key), "and signed");

    let mut unnamed = line.clone();
    unnamed.as_object_mut().unwrap().remove("helpdesk");
    let err = serde_json::from_value::<ConfirmationRecord>(unnamed).unwrap_err();
    assert!(err.to_string().contains("lacks `helpdesk`"), "{err}");
    let mut v2_named = serde_json::to_value(&zendesk).unwrap();
    v2_named["helpdesk"] = "zammad".into();
    let err = serde_json::from_value::<ConfirmationRecord>(v2_named).unwrap_err();
    assert!(err.to_string().contains("carries `helpdesk`"), "{err}");
}

#[test]
fn nul_is_stored_as_the_replacement_character_and_the_record_says_so() {
    let r = ConfirmationRecord::from_draft(
        &draft("Please do\u{0}n't\u{0}", "12"),
        1,
        GENESIS_HASH,
        None,
        None,
    )
    .unwrap();
    assert_eq!(r.quote, "Please do\u{FFFD}n't\u{FFFD}");
    assert_eq!(
        r.altered_for_storage,
        vec![Alteration {
            field: "quote".into(),
            replaced: "U+0000".into(),
            with: "U+FFFD".into(),
            count: 2,
        }]
    );
    let canonical = String::from_utf8(r.canonical_json().unwrap()).unwrap();
    assert!(
        canonical.contains(r#""altered_for_storage":[{"count":2,"field":"quote","replaced":"U+0000","with":"U+FFFD"}]"#),
        "{canonical}"
    );
    // The flag is hashed like every field: dropping it breaks the record.
    let mut hidden = r.clone();
    hidden.altered_for_storage.clear();
    assert_ne!(hidden.compute_hash(), r.hash);
}

#[test]
fn the_hmac_covers_the_record_and_the_hash_covers_the_hmac() {
    let k = key();
    let r = v2(1, GENESIS_HASH, Some(&k));
    assert!(r.hmac.is_some() && r.hmac_matches(&k));
    assert!(!r.hmac_matches(&TrailKey::new(&"x".repeat(40)).unwrap()));

    let mut stripped = r.clone();
    stripped.hmac = None;
    assert_ne!(stripped.compute_hash(), r.hash, "the hash covers the hmac");

    // A rewrite that recomputes the hash still fails the HMAC.
    let mut forged = r.clone();
    forged.quote = "Yes, and also delete my data".into();
    forged.seal(None).unwrap();
    forged.hmac = r.hmac.clone();
    forged.hash = forged.compute_hash();
    assert!(!forged.hmac_matches(&k));
}

fn verify(records: &[ConfirmationRecord], options: VerifyOptions) -> TrailReport {
    let mut v = ChainVerifier::new(options);
    for r in records {
        if v.check(r).is_err() {
            break;
        }
    }
    v.finish()
}

#[test]
fn verifier_accepts_an_intact_chain_of_old_and_new_records() {
    let a = v1(1, GENESIS_HASH);
    let b = v1(2, &a.hash);
    let c = v2(3, &b.hash, None);
    let report = verify(&[a, b, c.clone()], VerifyOptions::default());
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.checked, 3);
    assert_eq!(report.head, c.head());
}

#[test]
fn verifier_finds_the_first_alteration_and_a_removed_record() {
    let a = v1(1, GENESIS_HASH);
    let b = v1(2, &a.hash);
    let mut c = v1(3, &b.hash);
    c.quote = "Yes".into();
    let report = verify(&[a.clone(), b.clone(), c], VerifyOptions::default());
    assert_eq!(report.first_break.unwrap().seq, 3);
    assert_eq!(report.checked, 2);

    let c = v1(3, &b.hash);
    let report = verify(&[a, c], VerifyOptions::default());
    let broken = report.first_break.unwrap();
    assert_eq!(broken.seq, 3);
    assert!(
        broken.problem.contains("2..2 are missing"),
        "{}",
        broken.problem
    );
}

#[test]
fn an_expected_head_must_be_in_the_chain_exactly() {
    let a = v2(1, GENESIS_HASH, None);
    let b = v2(2, &a.hash, None);
    let c = v2(3, &b.hash, None);
    let expect = |heads: Vec<Head>| VerifyOptions {
        key: None,
        expect: heads,
    };
    assert!(verify(&[a.clone(), b.clone(), c.clone()], expect(vec![c.head()])).intact());
    assert!(verify(&[], expect(vec![Head::genesis()])).intact());
    // The tail was deleted: the head an auditor kept is gone.
    let report = verify(&[a.clone(), b.clone()], expect(vec![c.head()]));
    assert!(!report.intact());
    assert_eq!(report.expectations[0].found, None);
    // Rewritten from seq 2 on with recomputed hashes: seq 2 is there, with another hash.
    let mut b2 = b.clone();
    b2.quote = "No".into();
    b2.seal(None).unwrap();
    let report = verify(&[a, b2], expect(vec![b.head()]));
    assert!(report.first_break.is_none());
    assert!(!report.intact());
}

#[test]
fn with_the_key_every_record_after_the_first_keyed_one_must_carry_a_good_hmac() {
    let k = key();
    let options = || VerifyOptions {
        key: Some(key()),
        expect: vec![],
    };
    let a = v2(1, GENESIS_HASH, None); // written before the key was set
    let b = v2(2, &a.hash, Some(&k));
    let c = v2(3, &b.hash, Some(&k));
    let report = verify(&[a.clone(), b.clone(), c], options());
    assert!(report.intact(), "{report:?}");
    assert_eq!((report.hmac_checked, report.unkeyed), (2, 1));

    // Appended by someone without the key.
    let forged = v2(3, &b.hash, None);
    let report = verify(&[a.clone(), b.clone(), forged], options());
    assert!(report.first_break.unwrap().problem.contains("no HMAC"));

    // The whole trail rewritten without HMACs.
    let a = v2(1, GENESIS_HASH, None);
    let b = v2(2, &a.hash, None);
    let report = verify(&[a, b], options());
    assert!(!report.intact());
    assert!(report.problems[0].contains("no record carries an HMAC"));
}

#[test]
fn a_withdrawal_must_name_an_earlier_grant_of_its_ticket() {
    let grant = v2(1, GENESIS_HASH, None);
    let mut withdrawal = draft("Actually no", "r2");
    withdrawal.verdict = ConsentVerdict::Declined;
    let w = ConfirmationRecord::from_draft(&withdrawal, 2, &grant.hash, Some(1), None).unwrap();
    assert!(verify(&[grant.clone(), w], VerifyOptions::default()).intact());

    let bad = ConfirmationRecord::from_draft(&withdrawal, 2, &grant.hash, Some(2), None).unwrap();
    let report = verify(&[grant, bad], VerifyOptions::default());
    assert!(
        report
            .first_break
            .unwrap()
            .problem
            .contains("withdraws_seq 2")
    );
}

#[test]
fn heads_parse_from_what_audit_head_prints() {
    let h: Head = format!("42:{}", "A".repeat(64)).parse().unwrap();
    assert_eq!(h.to_string(), format!("42:{}", "a".repeat(64)));
    assert!("42".parse::<Head>().is_err());
    assert!("x:abc".parse::<Head>().is_err());
    assert!(format!("-1:{}", "a".repeat(64)).parse::<Head>().is_err());
}

fn export(records: &[ConfirmationRecord], trailer: Option<Trailer>) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r).unwrap());
        out.push('\n');
    }
    if let Some(t) = trailer {
        out.push_str(&serde_json::to_string(&t).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn an_export_is_checked_with_its_trailer() {
    let a = v2(1, GENESIS_HASH, None);
    let b = v2(2, &a.hash, None);
    let good = Trailer {
        trail_head: b.head(),
        count: 2,
    };
    let check = |text: &str| verify_export(text.as_bytes(), VerifyOptions::default()).unwrap();
    let report = check(&export(&[a.clone(), b.clone()], Some(good.clone())));
    assert!(report.intact(), "{report:?}");

    let cut = check(&export(&[a.clone(), b.clone()], None));
    assert!(!cut.intact() && cut.problems[0].contains("no trailer"));

    let short = check(&export(std::slice::from_ref(&a), Some(good.clone())));
    assert!(!short.intact() && short.problems[0].contains("counts 2"));

    let wrong_head = Trailer {
        trail_head: Head {
            seq: 2,
            hash: "f".repeat(64),
        },
        count: 2,
    };
    assert!(!check(&export(&[a.clone(), b.clone()], Some(wrong_head))).intact());

    // A page: the trail went on, and the export says so without failing.
    let c = v2(3, &b.hash, None);
    let page = Trailer {
        trail_head: c.head(),
        count: 1,
    };
    let report = check(&export(std::slice::from_ref(&b), Some(page)));
    assert!(report.intact(), "{report:?}");
    assert!(report.notes.iter().any(|n| n.contains("starts at seq 2")));
    assert!(report.notes.iter().any(|n| n.contains("one page")));

    let mut text = export(&[a, b], Some(good));
    text.push_str("{\"seq\":3}\n");
    assert!(check(&text).problems[0].contains("follows the trailer"));
}

/// A verdict no release writes, hashed over as read, is named by verification rather than
/// refused when the line is parsed.
#[test]
fn a_record_with_an_unknown_verdict_parses_and_breaks_the_chain() {
    let a = v1(1, GENESIS_HASH);
    let mut line: serde_json::Value = serde_json::to_value(v1(2, &a.hash)).unwrap();
    line["verdict"] = "maybe".into();
    let mut b: ConfirmationRecord = serde_json::from_value(line).unwrap();
    assert_eq!(b.verdict, RecordedVerdict::Unrecognised("maybe".into()));
    b.hash = b.compute_hash();
    assert!(
        serde_json::to_string(&b)
            .unwrap()
            .contains(r#""verdict":"maybe""#)
    );
    let broken = verify(&[a, b], VerifyOptions::default())
        .first_break
        .unwrap();
    assert_eq!(broken.seq, 2);
    assert_eq!(broken.problem, r#"verdict "maybe" is not granted/declined"#);
}

#[test]
fn an_unclear_verdict_is_never_recorded() {
    let mut unclear = draft("Maybe", "12");
    unclear.verdict = ConsentVerdict::Unclear;
    let refused = ConfirmationRecord::from_draft(&unclear, 1, GENESIS_HASH, None, None);
    assert!(matches!(
        refused,
        Err(RecordError::NotRecorded(ConsentVerdict::Unclear))
    ));
}
