//! People in the audit trail, and the pseudonyms the hash chain names them by.
//!
//! A person (the user id a token belongs to, or a name in a part's
//! `updatedBy`/`createdBy` stamp) gets a random pseudonym the first time a
//! version names them, kept in the `people` table. Stored versions and parts
//! keep the person as written — every read shows them — but the chain hashes
//! each person *as their pseudonym* (see [`crate::chain`], scheme 3). Erasing
//! a person ([`crate::erase`]) writes the pseudonym where the person was and
//! forgets who the pseudonym stood for: every hash stays the same, so every
//! chain still verifies, and nothing left names them.
//!
//! Pseudonyms are random, not derived from the person (a keyed hash of an
//! e-mail address can be reversed by anyone holding the key and a list of
//! addresses). What the chain therefore proves is "pseudonym P did this";
//! who P was is outside the chain by design, in the one table an erasure
//! clears.
//!
//! ```
//! use kg_history::people::{Pseudonyms, renamed};
//! let names = Pseudonyms::from([("ann@example.com".to_owned(), "person:1f2e3d4c5b6a7988".to_owned())]);
//! let body = r#"{"id":"n1","updatedBy":"ann@example.com","label":"x"}"#;
//! let hashed = renamed(body, &names).unwrap();
//! assert_eq!(hashed, r#"{"id":"n1","updatedBy":"person:1f2e3d4c5b6a7988","label":"x"}"#);
//! // After an erasure the body holds the pseudonym, and hashes the same.
//! assert_eq!(renamed(&hashed, &names).unwrap(), hashed);
//! ```

use std::borrow::Cow;
use std::collections::HashMap;

use crate::entity;
use crate::store::{StoreResult, Writer};

/// Stamp fields of a part that name a person.
pub const PERSON_FIELDS: [&str; 2] = ["updatedBy", "createdBy"];

/// The prefix of every pseudonym.
pub const PREFIX: &str = "person:";

/// People and their pseudonyms, as far as they are known here.
#[derive(Clone, Debug, Default)]
pub struct Pseudonyms(HashMap<String, String>);

impl<const N: usize> From<[(String, String); N]> for Pseudonyms {
    fn from(pairs: [(String, String); N]) -> Self {
        Pseudonyms(pairs.into_iter().collect())
    }
}

impl From<HashMap<String, String>> for Pseudonyms {
    fn from(map: HashMap<String, String>) -> Self {
        Pseudonyms(map)
    }
}

impl Pseudonyms {
    /// How the chain names `who`: their pseudonym, or `who` itself when it
    /// has none here (it is a pseudonym already, after an erasure).
    pub fn name<'a>(&'a self, who: &'a str) -> &'a str {
        self.0.get(who).map_or(who, String::as_str)
    }

    /// Makes sure each of `people` has a pseudonym, giving new ones in the
    /// caller's transaction.
    pub fn learn<'p>(&mut self, tx: &mut dyn Writer, people: impl IntoIterator<Item = &'p str>, at: &str) -> StoreResult<()> {
        for person in people {
            if self.0.contains_key(person) || person.starts_with(PREFIX) {
                continue;
            }
            let pseudonym = match tx.pseudonym(person)? {
                Some(known) => known,
                None => {
                    tx.insert_pseudonym(person, &new_pseudonym(), at)?;
                    tx.pseudonym(person)?.ok_or_else(|| crate::store::StoreError::Failed("no pseudonym kept for a person".to_owned()))?
                }
            };
            self.0.insert(person.to_owned(), pseudonym);
        }
        Ok(())
    }
}

/// A fresh random pseudonym: `person:` and 16 hex digits.
pub fn new_pseudonym() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{PREFIX}{}", &id[..16])
}

/// The people a stored body names in its stamp fields.
pub fn named_in(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !mentions_stamps(body) {
        return out;
    }
    let _ = entity::for_each_field(body, |key, raw| {
        if PERSON_FIELDS.contains(&key) {
            if let Ok(person) = serde_json::from_str::<String>(raw) {
                out.push(person);
            }
        }
        Ok(())
    });
    out
}

/// A stored body with each person in its stamp fields named as `names`
/// names them: the text the chain hashes, and the text an erasure stores.
/// Rebuilt field by field (values other than the renamed ones are copied
/// as they are), so renaming twice changes nothing.
pub fn renamed<'b>(body: &'b str, names: &Pseudonyms) -> Result<Cow<'b, str>, String> {
    if !mentions_stamps(body) {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = String::with_capacity(body.len() + 16);
    out.push('{');
    let mut first = true;
    entity::for_each_field(body, |key, raw| {
        if !first {
            out.push(',');
        }
        first = false;
        entity::push_key(&mut out, key);
        out.push(':');
        match PERSON_FIELDS.contains(&key).then(|| serde_json::from_str::<String>(raw).ok()).flatten() {
            Some(person) => out.push_str(&serde_json::to_string(names.name(&person)).map_err(|e| e.to_string())?),
            None => out.push_str(raw),
        }
        Ok(())
    })?;
    out.push('}');
    Ok(Cow::Owned(out))
}

fn mentions_stamps(body: &str) -> bool {
    body.contains("edBy\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_top_level_stamps_are_renamed_and_other_values_are_copied_exactly() {
        let names = Pseudonyms::from([("a@x".to_owned(), "person:0000000000000001".to_owned())]);
        let body = r#"{"id":"a@x","updatedBy":"a@x","n":1.0,"nested":{"updatedBy":"a@x"},"createdBy":"b@x"}"#;
        assert_eq!(
            renamed(body, &names).unwrap(),
            r#"{"id":"a@x","updatedBy":"person:0000000000000001","n":1.0,"nested":{"updatedBy":"a@x"},"createdBy":"b@x"}"#
        );
        assert_eq!(named_in(body), vec!["a@x".to_owned(), "b@x".to_owned()]);
    }

    #[test]
    fn pseudonyms_are_random_and_prefixed() {
        let (a, b) = (new_pseudonym(), new_pseudonym());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 16);
    }
}
