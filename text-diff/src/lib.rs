//! Inline text diffs for long fields (markdown, HTML, CSS, mermaid).
//!
//! A diff is a list of ops; joining the `equal` and `delete` texts gives
//! exactly the old text, `equal` and `insert` exactly the new one, for any
//! Unicode. Finer granularities run in two passes: a line diff (cheap, and it
//! finds the unchanged paragraphs), then each changed hunk is refined to words
//! or graphemes until the time budget runs out. Hunks left unrefined stay
//! line-level: coarser but exact, and the result says `degraded`.
//!
//! ```
//! use kg_text_diff::{diff_text, Granularity, OpKind, TextDiffOptions};
//! let diff = diff_text("the quick fox", "the slow fox", &TextDiffOptions::default());
//! assert_eq!(diff.granularity, Granularity::Word);
//! let deleted: Vec<_> = diff.ops.iter().filter(|o| o.op == OpKind::Delete).map(|o| o.text.as_str()).collect();
//! assert_eq!(deleted, ["quick"]);
//! ```

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use similar::DiffTag;
use similar::algorithms::{Capture, Compact, Replace, myers};

mod tokens;
// The clock similar checks its deadline against: performance.now() in WASM.
#[cfg(target_arch = "wasm32")]
use similar::Instant;
#[cfg(not(target_arch = "wasm32"))]
use std::time::Instant;

/// How finely texts are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// Lines for markup-like text (HTML, CSS, mermaid, JSON), words for prose.
    Auto,
    Line,
    /// Words (letters, digits and their marks; see `text_diff::tokens`), so CJK
    /// text splits per ideograph.
    Word,
    /// Grapheme clusters: an emoji or a letter with its accents is one unit.
    Char,
}

impl Granularity {
    /// Each granularity with its name, as options and serialized diffs spell it.
    pub const NAMES: [(&'static str, Granularity); 4] =
        [("auto", Granularity::Auto), ("line", Granularity::Line), ("word", Granularity::Word), ("char", Granularity::Char)];

    pub fn parse(name: &str) -> Option<Granularity> {
        Granularity::NAMES.iter().find(|(n, _)| *n == name).map(|(_, g)| *g)
    }

    pub fn name(self) -> &'static str {
        Granularity::NAMES.iter().find(|(_, g)| *g == self).map_or("auto", |(n, _)| n)
    }
}

/// Options of [`diff_text`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextDiffOptions {
    pub granularity: Granularity,
    /// Time after which refinement stops and the result is marked degraded.
    /// It is checked between hunks and inside long ones, so a call can run
    /// past it by one short hunk's diff (about 2 ms in WASM at worst).
    pub budget: Duration,
}

/// The default time budget of one text diff.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(100);

impl Default for TextDiffOptions {
    fn default() -> Self {
        TextDiffOptions { granularity: Granularity::Auto, budget: DEFAULT_BUDGET }
    }
}

/// What an op does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Equal,
    Insert,
    Delete,
}

impl OpKind {
    /// Each kind with its name, as serialized diffs spell it.
    pub const NAMES: [(&'static str, OpKind); 3] = [("equal", OpKind::Equal), ("insert", OpKind::Insert), ("delete", OpKind::Delete)];
}

/// A run of text that is equal, inserted or deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextOp {
    pub op: OpKind,
    pub text: String,
}

/// The result of [`diff_text`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextDiff {
    /// The granularity used (never `Auto`).
    pub granularity: Granularity,
    /// True when the budget ran out and some hunks were left line-level.
    pub degraded: bool,
    pub ops: Vec<TextOp>,
}

impl TextDiff {
    /// The old text, rebuilt from the ops.
    pub fn old_text(&self) -> String {
        self.ops.iter().filter(|o| o.op != OpKind::Insert).map(|o| o.text.as_str()).collect()
    }

    /// The new text, rebuilt from the ops.
    pub fn new_text(&self) -> String {
        self.ops.iter().filter(|o| o.op != OpKind::Delete).map(|o| o.text.as_str()).collect()
    }
}

/// A diff as byte ranges: `Equal` and `Delete` spans are ranges of the old
/// text, `Insert` spans ranges of the new one. Each text's spans follow each
/// other without gaps, so consecutive spans of one kind are merged.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanDiff {
    pub granularity: Granularity,
    pub degraded: bool,
    pub spans: Vec<(OpKind, Range<usize>)>,
}

impl SpanDiff {
    /// The ops with their texts copied out of `old` and `new`.
    pub fn to_text_diff(&self, old: &str, new: &str) -> TextDiff {
        let ops = self
            .spans
            .iter()
            .map(|(op, r)| TextOp { op: *op, text: if *op == OpKind::Insert { &new[r.clone()] } else { &old[r.clone()] }.to_owned() })
            .collect();
        TextDiff { granularity: self.granularity, degraded: self.degraded, ops }
    }
}

/// Diffs two texts. See the [module docs](self).
pub fn diff_text(old: &str, new: &str, options: &TextDiffOptions) -> TextDiff {
    diff_spans(old, new, options).to_text_diff(old, new)
}

/// [`diff_text`] without copying the texts: the ops as ranges of them.
pub fn diff_spans(old: &str, new: &str, options: &TextDiffOptions) -> SpanDiff {
    let granularity = match options.granularity {
        Granularity::Auto if looks_like_code(old) || looks_like_code(new) => Granularity::Line,
        Granularity::Auto => Granularity::Word,
        other => other,
    };
    let deadline = Instant::now().checked_add(options.budget);
    let mut ops = Ops::default();
    let mut degraded = false;

    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (old.split_inclusive('\n').collect(), new.split_inclusive('\n').collect());
    let lines = diff_tokens(&old_lines, &new_lines, deadline);
    // A line diff cut short by the deadline is coarser than it should be.
    degraded |= past(deadline);
    for (tag, old_range, new_range) in lines {
        if tag == DiffTag::Equal {
            ops.push(OpKind::Equal, old_range);
        } else if granularity == Granularity::Line {
            ops.push(OpKind::Delete, old_range);
            ops.push(OpKind::Insert, new_range);
        } else if !refine(&mut ops, old, new, old_range.clone(), new_range.clone(), granularity, deadline) {
            degraded = true;
            push_trimmed(&mut ops, old, new, old_range, new_range);
        }
    }
    SpanDiff { granularity, degraded, spans: ops.0 }
}

/// How many bytes of a changed hunk may be refined per millisecond of budget
/// left. Word segmentation (UAX #29) is linear but not interruptible inside
/// one huge token; it runs at about 70 ns per byte in WASM (a 50 MB one-word
/// text took 3.5 s), so larger hunks stay line-level.
const REFINE_BYTES_PER_MS: u128 = 8_000;

/// Pushes one changed hunk diffed at word or grapheme level, or returns
/// false (pushing nothing) if the budget does not allow it: the caller keeps
/// the hunk line-level.
fn refine(
    ops: &mut Ops,
    old_text: &str,
    new_text: &str,
    old_range: Range<usize>,
    new_range: Range<usize>,
    granularity: Granularity,
    deadline: Option<Instant>,
) -> bool {
    let (old, new) = (&old_text[old_range.clone()], &new_text[new_range.clone()]);
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis();
        if (old.len() + new.len()) as u128 > left.saturating_mul(REFINE_BYTES_PER_MS) {
            return false;
        }
    }
    let (Some(old_tokens), Some(new_tokens)) = (tokenize(old, granularity, deadline), tokenize(new, granularity, deadline)) else {
        return false;
    };
    let fine = diff_tokens(&old_tokens, &new_tokens, deadline);
    if past(deadline) {
        return false;
    }
    let (o0, n0) = (old_range.start, new_range.start);
    for (tag, o, n) in fine {
        match tag {
            DiffTag::Equal => ops.push(OpKind::Equal, o0 + o.start..o0 + o.end),
            _ => {
                ops.push(OpKind::Delete, o0 + o.start..o0 + o.end);
                ops.push(OpKind::Insert, n0 + n.start..n0 + n.end);
            }
        }
    }
    true
}

/// A hunk too costly to refine: its common prefix and suffix (a byte
/// comparison, cheap at any size) stay equal, the middle is replaced. Coarse,
/// but a one-letter edit in a huge text does not show as a rewrite.
fn push_trimmed(ops: &mut Ops, old_text: &str, new_text: &str, old_range: Range<usize>, new_range: Range<usize>) {
    let (old, new) = (&old_text[old_range.clone()], &new_text[new_range.clone()]);
    let mut prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    while !old.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let mut suffix = old_rest.bytes().rev().zip(new_rest.bytes().rev()).take_while(|(a, b)| a == b).count();
    while !old_rest.is_char_boundary(old_rest.len() - suffix) || !new_rest.is_char_boundary(new_rest.len() - suffix) {
        suffix -= 1;
    }
    let (o0, n0) = (old_range.start, new_range.start);
    ops.push(OpKind::Equal, o0..o0 + prefix);
    ops.push(OpKind::Delete, o0 + prefix..old_range.end - suffix);
    ops.push(OpKind::Insert, n0 + prefix..new_range.end - suffix);
    ops.push(OpKind::Equal, old_range.end - suffix..old_range.end);
}

/// Words or graphemes (see [`tokens`]), giving up when the deadline passes.
fn tokenize(text: &str, granularity: Granularity, deadline: Option<Instant>) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for (i, token) in tokens::tokens(text, granularity != Granularity::Char).enumerate() {
        if i % 1024 == 1023 && past(deadline) {
            return None;
        }
        out.push(token);
    }
    Some(out)
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() > d)
}

/// Token lists at most this long together are diffed without a deadline.
const SHORT_TOKEN_LISTS: usize = 500;

/// Myers over two token lists (lines, words or graphemes), as byte ranges of
/// the texts they were cut from, with similar's compaction and replace
/// detection. Tokens are interned first, so this is one instantiation of
/// similar's generic algorithm: its `TextDiff` API compiled about 30 copies
/// of Myers (460 KB of the WASM).
fn diff_tokens(old: &[&str], new: &[&str], deadline: Option<Instant>) -> Vec<(DiffTag, Range<usize>, Range<usize>)> {
    let (old_ids, new_ids) = intern(old, new);
    let (old_ids, new_ids) = (&old_ids[..], &new_ids[..]);
    // Myers checks its deadline at every step, and in WASM each check is a
    // call out to performance.now(): 4% of a review's time. Lists this short
    // finish in about 2 ms in WASM at worst (nothing in common), so they
    // run without one; the caller checks the deadline between them.
    let deadline = deadline.filter(|_| old_ids.len() + new_ids.len() > SHORT_TOKEN_LISTS);
    let mut hook = Compact::new(Replace::new(Capture::default()), old_ids, new_ids);
    match myers::diff_deadline(&mut hook, old_ids, 0..old_ids.len(), new_ids, 0..new_ids.len(), deadline) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    let (old_at, new_at) = (offsets(old), offsets(new));
    hook.into_inner()
        .into_inner()
        .into_ops()
        .iter()
        .map(|op| {
            let (tag, o, n) = op.as_tag_tuple();
            (tag, old_at[o.start]..old_at[o.end], new_at[n.start]..new_at[n.end])
        })
        .collect()
}

/// Each distinct token as a number, the same in both lists. The common
/// prefix and suffix (most of a long text with a small edit) are numbered by
/// position without hashing; only the tokens between are looked up.
fn intern<'a>(old: &[&'a str], new: &[&'a str]) -> (Vec<u32>, Vec<u32>) {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let mut ids: HashMap<&'a str, u32, foldhash::fast::RandomState> = HashMap::default();
    let first_free = (prefix + suffix) as u32;
    let mut number = |tokens: &[&'a str]| -> Vec<u32> {
        let middle = &tokens[prefix..tokens.len() - suffix];
        let mut out: Vec<u32> = (0..prefix as u32).collect();
        out.extend(middle.iter().map(|t| {
            let next = first_free + ids.len() as u32;
            *ids.entry(t).or_insert(next)
        }));
        out.extend(prefix as u32..first_free);
        out
    };
    (number(old), number(new))
}

/// Where each token starts in its text, and where the last one ends.
fn offsets(tokens: &[&str]) -> Vec<usize> {
    let mut at = 0;
    std::iter::once(0)
        .chain(tokens.iter().map(|t| {
            at += t.len();
            at
        }))
        .collect()
}

/// Spans that merge adjacent runs of the same kind and drop empty ones.
#[derive(Default)]
struct Ops(Vec<(OpKind, Range<usize>)>);

impl Ops {
    fn push(&mut self, op: OpKind, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((last, r)) if *last == op => {
                debug_assert_eq!(r.end, range.start, "spans of one text follow each other");
                r.end = range.end;
            }
            _ => self.0.push((op, range)),
        }
    }
}

const MERMAID_KEYWORDS: [&str; 14] = [
    "graph",
    "flowchart",
    "sequenceDiagram",
    "classDiagram",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "gantt",
    "pie",
    "journey",
    "mindmap",
    "timeline",
    "gitGraph",
    "quadrantChart",
];

/// Markup, stylesheets, diagrams and JSON read best line by line.
fn looks_like_code(text: &str) -> bool {
    let t = text.trim_start();
    if t.starts_with('<') || t.starts_with('{') || t.starts_with("[{") || t.starts_with("[\"") {
        return true;
    }
    let first_word = t.split_whitespace().next().unwrap_or("");
    if MERMAID_KEYWORDS.contains(&first_word) {
        return true;
    }
    let lines: Vec<&str> = t.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let code_lines = lines.iter().filter(|l| l.ends_with(['{', '}', ';', '>'])).count();
    lines.len() >= 3 && code_lines * 2 > lines.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_ones() {
        fn json<T: serde::Serialize>(value: &T) -> String {
            serde_json::to_string(value).unwrap()
        }
        for (name, g) in Granularity::NAMES {
            assert_eq!((Granularity::parse(name), g.name(), json(&g)), (Some(g), name, format!("\"{name}\"")));
        }
        assert_eq!(Granularity::parse("sentence"), None);
        for (name, op) in OpKind::NAMES {
            assert_eq!(json(&op), format!("\"{name}\""));
        }
    }

    fn diff(old: &str, new: &str, granularity: Granularity) -> TextDiff {
        let d = diff_text(old, new, &TextDiffOptions { granularity, budget: Duration::from_secs(5) });
        assert_eq!(d.old_text(), old);
        assert_eq!(d.new_text(), new);
        d
    }

    fn changed(d: &TextDiff, kind: OpKind) -> Vec<&str> {
        d.ops.iter().filter(|o| o.op == kind).map(|o| o.text.as_str()).collect()
    }

    #[test]
    fn word_diff_finds_the_changed_word_in_a_long_markdown_text() {
        let old = "# Title\n\nFirst paragraph stays.\n\nThe cat sat on the mat.\n\nLast one.\n";
        let new = "# Title\n\nFirst paragraph stays.\n\nThe dog sat on the mat.\n\nLast one.\n";
        let d = diff(old, new, Granularity::Auto);
        assert_eq!(d.granularity, Granularity::Word);
        assert_eq!(changed(&d, OpKind::Delete), ["cat"]);
        assert_eq!(changed(&d, OpKind::Insert), ["dog"]);
        assert!(!d.degraded);
    }

    #[test]
    fn auto_uses_lines_for_html_css_and_mermaid() {
        for text in ["<div class=\"a\">x</div>\n", "body {\n  color: red;\n}\n", "graph TD\n  A-->B\n", "{\"a\":1}"] {
            assert_eq!(diff(text, &format!("{text}\nmore"), Granularity::Auto).granularity, Granularity::Line, "{text}");
        }
    }

    #[test]
    fn line_diff_keeps_whole_lines() {
        let d = diff("a b\nc d\n", "a b\nc e\n", Granularity::Line);
        assert_eq!(changed(&d, OpKind::Delete), ["c d\n"]);
    }

    #[test]
    fn unicode_is_reconstructed_exactly() {
        let cases = [
            ("naïve café 👩‍👩‍👧 e\u{301}", "naive café 👩‍👩‍👦 é"),
            ("日本語のテキストです。", "日本語の文章です。"),
            ("🇳🇴 flag", "🇸🇪 flag"),
            ("", "new"),
            ("old", ""),
            ("same", "same"),
        ];
        for (old, new) in cases {
            for g in [Granularity::Auto, Granularity::Line, Granularity::Word, Granularity::Char] {
                diff(old, new, g);
            }
        }
    }

    #[test]
    fn cjk_words_split_per_ideograph() {
        let d = diff("日本語のテキスト", "日本語の文章", Granularity::Word);
        assert!(d.ops[0].op == OpKind::Equal && d.ops[0].text.starts_with("日本語"), "{:?}", d.ops);
    }

    #[test]
    fn graphemes_stay_whole() {
        let d = diff("🇳🇴", "🇸🇪", Granularity::Char);
        assert_eq!(changed(&d, OpKind::Delete), ["🇳🇴"]);
    }

    #[test]
    fn a_hunk_too_big_to_refine_keeps_its_common_ends() {
        let old = "x".repeat(4 << 20);
        let new = format!("{}y{}", &old[..1000], &old[1001..]);
        let d = diff_text(&old, &new, &TextDiffOptions { granularity: Granularity::Word, budget: Duration::from_millis(50) });
        assert!(d.degraded);
        assert_eq!((d.old_text() == old, d.new_text() == new), (true, true));
        let kinds: Vec<_> = d.ops.iter().map(|o| (o.op, o.text.len())).collect();
        assert_eq!(kinds, [(OpKind::Equal, 1000), (OpKind::Delete, 1), (OpKind::Insert, 1), (OpKind::Equal, (4 << 20) - 1001)]);
    }

    #[test]
    fn trimming_respects_char_boundaries() {
        for (old, new) in [("aé", "aè"), ("éa", "èa"), ("日本", "日本語"), ("👩‍👩‍👧", "👩‍👩‍👦"), ("", "x"), ("ab", "ab")]
        {
            let mut ops = Ops::default();
            push_trimmed(&mut ops, old, new, 0..old.len(), 0..new.len());
            let d = SpanDiff { granularity: Granularity::Line, degraded: true, spans: ops.0 }.to_text_diff(old, new);
            assert_eq!((d.old_text(), d.new_text()), (old.to_owned(), new.to_owned()));
        }
    }

    #[test]
    fn an_exhausted_budget_degrades_but_stays_exact() {
        let old: String = (0..4000).map(|i| format!("word{i} ")).collect();
        let new: String = (0..4000).map(|i| format!("term{} ", i * 7)).collect();
        let d = diff_text(&old, &new, &TextDiffOptions { granularity: Granularity::Word, budget: Duration::ZERO });
        assert!(d.degraded);
        assert_eq!(d.old_text(), old);
        assert_eq!(d.new_text(), new);
    }
}
