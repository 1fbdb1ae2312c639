//! Every record `write_version` can make comes back whole from its stored
//! text (`stored_record`), whatever its times, decisions and lists: the
//! chain hashes the whole record, so a field lost or changed on the way
//! would break the version. And the bytes it is stored as
//! (`packed`) give that text back.

use kg_history_store::VersionRow;
use kg_history_store::packed::{self, Dictionary};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const SAVED_AT: &str = "2026-12-07T06:00:01.000Z";

/// A time as a client may send it: as kg-approval prints times (near the
/// save, or years away), or in another form the server keeps as sent.
fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        (-400_000_000_000i64..400_000_000_000).prop_map(|ms| {
            let saved = kg_approval::Timestamp::parse(SAVED_AT).unwrap().unix_millis();
            kg_approval::Timestamp::from_unix_millis(saved + ms).unwrap().to_string()
        }),
        Just(SAVED_AT.to_owned()),
        Just("2026-12-07T07:00:00.750+01:00".to_owned()),
        Just("2026-12-07T06:00:00.75Z".to_owned()),
        "[ -~]{0,12}",
    ]
}

/// A decision as the core writes it: its two fields, then any of the others.
fn decision() -> impl Strategy<Value = Value> {
    let name = prop_oneof![Just("accepted"), Just("rejected"), Just("corrected"), Just("a/b")];
    let by = prop_oneof![Just("default"), Just("change"), Just("node"), Just("bulk"), Just("dependency")];
    (name, by, proptest::option::of("[a-z ]{0,8}"), proptest::option::of("[a-z/]{0,8}"), any::<bool>()).prop_map(
        |(decision, by, filter, comment, proposed)| {
            let mut fields = Map::new();
            fields.insert("decision".into(), json!(decision));
            fields.insert("decidedBy".into(), json!(by));
            if let Some(filter) = filter {
                fields.insert("filter".into(), json!(filter));
            }
            if let Some(comment) = comment {
                fields.insert("comment".into(), json!(comment));
            }
            if proposed {
                fields.insert("proposed".into(), json!({"label": "AI's"}));
            }
            Value::Object(fields)
        },
    )
}

prop_compose! {
    /// A record as `write_version` makes it: the columns' fields, `via`, the
    /// lists, then what the client told.
    fn record()(
        key in proptest::option::of(prop_oneof![Just("k1".to_owned()), "[a-f0-9]{8}"]),
        approval in proptest::option::of(prop_oneof![Just("k1".to_owned()), "[a-f0-9]{8}"]),
        via in prop_oneof![Just("delta"), Just("full")],
        approved in proptest::option::of(time()),
        proposed in proptest::option::of(prop_oneof![time(), Just("same".to_owned())]),
        mode in proptest::option::of(prop_oneof![Just("accepted"), Just("explicit")]),
        decisions in proptest::collection::vec(("[a-z]{1,3}/[a-z]{1,3}", decision()), 0..5),
        listed in prop_oneof![Just(0u8), Just(1), Just(2)],
    ) -> Value {
        let mut record = json!({"version": 2, "savedAt": SAVED_AT, "user": "ann@example.com", "source": "ai",
                                "reason": null, "runId": null, "idempotencyKey": key, "via": via});
        let decisions: Map<String, Value> = decisions.into_iter().collect();
        let with = |names: &[&str]| -> Vec<Value> {
            decisions.iter().filter(|(_, d)| names.contains(&d["decision"].as_str().unwrap())).map(|(id, _)| json!(id)).collect()
        };
        // As the modal records them (what the decisions give), in another order, or with an extra id.
        let (mut accepted, mut rejected) = (with(&["accepted", "corrected"]), with(&["rejected"]));
        match listed {
            0 => {}
            1 => accepted.reverse(),
            _ => rejected.push(json!("node/extra")),
        }
        record["accepted"] = json!(accepted);
        record["rejected"] = json!(rejected);
        if let Some(approval) = approval {
            record["approvalId"] = json!(approval);
        }
        if let Some(approved) = &approved {
            record["approvedAt"] = json!(approved);
        }
        if let Some(proposed) = proposed {
            record["proposedAt"] = json!(if proposed == "same" { approved.clone().unwrap_or(proposed) } else { proposed });
        }
        if let Some(mode) = mode {
            record["decisionMode"] = json!(mode);
        }
        if !decisions.is_empty() {
            record["decisions"] = Value::Object(decisions);
        }
        record
    }
}

fn row(record: &Value, audit_json: String) -> VersionRow {
    VersionRow {
        graph_id: "g".into(),
        version: 2,
        saved_at: SAVED_AT.into(),
        user: "ann@example.com".into(),
        source: "ai".into(),
        reason: None,
        run_id: None,
        idempotency_key: record["idempotencyKey"].as_str().map(str::to_owned),
        graph_json: None,
        audit_json: Ok(audit_json),
        prev_hash: String::new(),
        hash: String::new(),
        scheme: 3,
        pruned: false,
        record_digest: None,
        audit_expired: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_record_comes_back_whole(record in record()) {
        let text = VersionRow::stored_record(&record);
        let back = row(&record, text.clone()).record().unwrap();
        prop_assert_eq!(&back, &record, "stored as {}", text);
        // The hash sees the same record: its canonical text is the same.
        prop_assert_eq!(kg_approval::canonical::canonical_json(&back), kg_approval::canonical::canonical_json(&record));
        prop_assert!(text.len() <= record.to_string().len(), "never longer: {}", text);
        // And the bytes it is stored as give it back byte for byte.
        let stored = packed::stored_bytes(&text, Dictionary::Record);
        prop_assert!(stored.len() <= text.len());
        prop_assert_eq!(packed::text_of_bytes(&stored), Ok(text));
    }
}
