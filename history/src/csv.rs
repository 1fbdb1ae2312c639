//! CSV as spreadsheets read it: RFC 4180 (CRLF line ends; a cell holding
//! the delimiter, a quote, CR or LF is quoted, quotes doubled), a `,` or
//! `;` delimiter, an optional UTF-8 byte-order mark, and no cell a
//! spreadsheet would evaluate.
//!
//! **The rule** (OWASP's advice for CSV injection, widened to what
//! spreadsheets actually skip and fold): a cell gets a leading `'` — shown
//! as text, never run — when it starts with a tab, CR or LF, or when its
//! first character that is not blank is `=`, `+`, `-` or `@`, or one of
//! their full-width or small forms (`＝ ＋ － ＠ ﹦ ﹢ ﹣ ﹫`) or the minus
//! sign `−`. Blank means any Unicode white space (space, NBSP, the
//! ideographic space, line and paragraph separators...), the zero-width
//! characters (U+200B–U+200F, U+2060–U+2064, U+180E), the soft hyphen and
//! the byte-order mark U+FEFF: Excel and its kin drop or fold these before
//! they look for a formula.
//!
//! **For Excel in Nordic locales** (Swedish, Norwegian, Danish, Finnish:
//! the list separator is `;`, and a CSV without a byte-order mark is read
//! as the ANSI code page, so `håndverk` comes out mangled) use the `;`
//! delimiter and the byte-order mark.
//!
//! ```
//! use kg_history::csv::{Delimiter, cell};
//! assert_eq!(cell("=HYPERLINK(\"x\")", Delimiter::Comma), "\"'=HYPERLINK(\"\"x\"\")\"");
//! assert_eq!(cell("\u{a0}=1+1", Delimiter::Comma), "'\u{a0}=1+1");
//! assert_eq!(cell("a;b", Delimiter::Semicolon), "\"a;b\"");
//! assert_eq!(cell("plain", Delimiter::Comma), "plain");
//! ```

use std::io::{self, Write};

/// The cell separator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delimiter {
    /// `,` (RFC 4180; English locales).
    #[default]
    Comma,
    /// `;` (the list separator of locales whose decimal mark is `,`).
    Semicolon,
}

impl std::str::FromStr for Delimiter {
    type Err = String;

    /// `comma` or `semicolon`.
    fn from_str(text: &str) -> Result<Delimiter, String> {
        match text {
            "comma" => Ok(Delimiter::Comma),
            "semicolon" => Ok(Delimiter::Semicolon),
            other => Err(format!("delimiter must be comma or semicolon, got '{other}'.")),
        }
    }
}

impl Delimiter {
    pub fn char(self) -> char {
        match self {
            Delimiter::Comma => ',',
            Delimiter::Semicolon => ';',
        }
    }
}

/// How a CSV file is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsvOptions {
    pub delimiter: Delimiter,
    /// Start with the UTF-8 byte-order mark (EF BB BF).
    pub bom: bool,
}

impl CsvOptions {
    /// `delimiter=comma|semicolon` and `bom=true|false` (query parameters).
    pub fn parse(delimiter: Option<&str>, bom: Option<&str>) -> Result<CsvOptions, String> {
        let delimiter = delimiter.map(str::parse).transpose()?.unwrap_or_default();
        let bom = match bom {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(format!("bom must be true or false, got '{other}'.")),
        };
        Ok(CsvOptions { delimiter, bom })
    }

    /// Writes the byte-order mark (if asked) and a header line of `columns`.
    pub fn start(&self, out: &mut dyn Write, columns: &[&str]) -> io::Result<()> {
        if self.bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        self.line(out, columns)
    }

    /// Writes one line of cells.
    pub fn line(&self, out: &mut dyn Write, cells: &[impl AsRef<str>]) -> io::Result<()> {
        let mut line = String::new();
        for (i, text) in cells.iter().enumerate() {
            if i > 0 {
                line.push(self.delimiter.char());
            }
            line.push_str(&cell(text.as_ref(), self.delimiter));
        }
        line.push_str("\r\n");
        out.write_all(line.as_bytes())
    }
}

/// A CSV cell: neutralised if a spreadsheet would evaluate it, quoted if it
/// holds the delimiter, a quote or a line break.
pub fn cell(text: &str, delimiter: Delimiter) -> String {
    let neutral = if formula_like(text) { format!("'{text}") } else { text.to_owned() };
    if neutral.contains([delimiter.char(), '"', '\r', '\n']) { format!("\"{}\"", neutral.replace('"', "\"\"")) } else { neutral }
}

/// Whether a spreadsheet would read `text` as a formula (see the rule above).
pub fn formula_like(text: &str) -> bool {
    if text.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    matches!(text.chars().find(|c| !blank(*c)), Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠' | '﹦' | '﹢' | '﹣' | '﹫' | '−'))
}

/// What spreadsheets skip or drop before looking for a formula.
fn blank(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{180E}' | '\u{00AD}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_neutralised() {
        for (text, expected) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("\n=1+1", "\"'\n=1+1\""),
            (" =1+1", "' =1+1"),
            ("\u{a0}=1+1", "'\u{a0}=1+1"),
            ("\u{3000}=1+1", "'\u{3000}=1+1"),
            ("\u{200b}=1+1", "'\u{200b}=1+1"),
            ("\u{feff}=1+1", "'\u{feff}=1+1"),
            ("\u{2060}\u{a0} @x", "'\u{2060}\u{a0} @x"),
            ("＝1+1", "'＝1+1"),
            ("＋1", "'＋1"),
            ("－1", "'－1"),
            ("＠SUM(A1)", "'＠SUM(A1)"),
            ("﹦1", "'﹦1"),
            ("−1", "'−1"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("ok", "ok"),
            ("håndverk", "håndverk"),
            ("a=b", "a=b"),
            (" ", " "),
            ("", ""),
        ] {
            assert_eq!(cell(text, Delimiter::Comma), expected, "{text:?}");
        }
        assert_eq!(cell("a;b", Delimiter::Semicolon), "\"a;b\"");
        assert_eq!(cell("a,b", Delimiter::Semicolon), "a,b");
    }

    #[test]
    fn options_come_from_query_words_and_write_a_bom_and_the_delimiter() {
        let nordic = CsvOptions::parse(Some("semicolon"), Some("true")).unwrap();
        let mut out = Vec::new();
        nordic.start(&mut out, &["a", "b"]).unwrap();
        nordic.line(&mut out, &["håndverk", "=x;y"]).unwrap();
        assert_eq!(out, "\u{feff}a;b\r\nhåndverk;\"'=x;y\"\r\n".as_bytes());
        assert_eq!(CsvOptions::parse(None, None).unwrap(), CsvOptions::default());
        assert!(CsvOptions::parse(Some(";"), None).is_err());
        assert!(CsvOptions::parse(None, Some("yes")).is_err());
    }
}
