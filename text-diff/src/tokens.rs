//! Word and grapheme tokens without Unicode segmentation tables (UAX #29's
//! tables were ~150 KB of the WASM module). The rules follow UAX #29 where
//! it matters for reading a diff: letters, digits and their marks make a
//! word ("can't", "3.14" and "naïve" are one token each), each CJK ideograph
//! or kana is its own word, Katakana runs stay together, horizontal space
//! runs are one token and each line break another; an emoji with its
//! modifiers and ZWJ sequence, a flag (two regional indicators) and a letter
//! with its combining marks are one grapheme. Whatever the cut, a diff stays
//! exact: tokens only decide where changes are aligned.

/// Combining marks and other characters that extend the one before them.
fn extends(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x06DF..=0x06E4 | 0x06E7..=0x06E8 | 0x06EA..=0x06ED
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200C | 0x20D0..=0x20FF | 0x302A..=0x302F | 0x3099..=0x309A
        | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
        // Indic scripts: their vowel signs are alphabetic (and join a word
        // anyway); viramas and other signs are not.
        || (matches!(c as u32, 0x0900..=0x0DFF) && !c.is_alphanumeric() && !c.is_whitespace() && !matches!(c, '\u{964}' | '\u{965}' | '\u{970}'))
}

const ZWJ: char = '\u{200D}';

fn regional_indicator(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

/// A CJK ideograph or Hiragana: a word by itself.
fn ideographic(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x309F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

fn katakana(c: char) -> bool {
    matches!(c as u32, 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F)
}

fn word_char(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !ideographic(c) && !katakana(c)
}

/// Tokens of `text`: words (`words`) or graphemes, in order, covering it.
pub(super) struct Tokens<'a> {
    text: &'a str,
    at: usize,
    words: bool,
}

pub(super) fn tokens(text: &str, words: bool) -> Tokens<'_> {
    Tokens { text, at: 0, words }
}

impl<'a> Tokens<'a> {
    fn peek(&self, at: usize) -> Option<char> {
        self.text[at..].chars().next()
    }

    /// Past one grapheme starting at `at` (whose first char is `c`).
    fn grapheme_end(&self, c: char, at: usize) -> usize {
        let mut end = at + c.len_utf8();
        if c == '\r' {
            return if self.peek(end) == Some('\n') { end + 1 } else { end };
        }
        if c == '\n' {
            return end;
        }
        if regional_indicator(c) {
            if let Some(next) = self.peek(end).filter(|&n| regional_indicator(n)) {
                end += next.len_utf8();
            }
        }
        while let Some(next) = self.peek(end) {
            if extends(next) {
                end += next.len_utf8();
            } else if next == ZWJ {
                end += ZWJ.len_utf8();
                // The joined character and its own extenders.
                match self.peek(end) {
                    Some(joined) if !joined.is_whitespace() => end += joined.len_utf8(),
                    _ => break,
                }
            } else {
                break;
            }
        }
        end
    }

    fn word_end(&self, c: char, at: usize) -> usize {
        let mut end = self.grapheme_end(c, at);
        if c == '\n' || c == '\r' {
            return end;
        }
        if c.is_whitespace() {
            while let Some(next) = self.peek(end).filter(|&n| n.is_whitespace() && n != '\n' && n != '\r') {
                end = self.grapheme_end(next, end);
            }
        } else if katakana(c) {
            while let Some(next) = self.peek(end).filter(|&n| katakana(n)) {
                end = self.grapheme_end(next, end);
            }
        } else if word_char(c) {
            let mut last = c;
            while let Some(next) = self.peek(end) {
                if word_char(next) {
                    end = self.grapheme_end(next, end);
                    last = next;
                    continue;
                }
                // "can't", "e.g", "3.14", "1,000": one word when a letter or
                // digit follows the mark.
                let joins = match next {
                    '\'' | '\u{2019}' | '.' | ':' | '\u{B7}' => true,
                    ',' | ';' => last.is_numeric(),
                    _ => false,
                };
                let after = end + next.len_utf8();
                match self.peek(after) {
                    Some(n) if joins && word_char(n) && (next != ',' && next != ';' || n.is_numeric()) => {
                        end = self.grapheme_end(n, after);
                        last = n;
                    }
                    _ => break,
                }
            }
        }
        end
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let c = self.peek(self.at)?;
        let end = if self.words { self.word_end(c, self.at) } else { self.grapheme_end(c, self.at) };
        let token = &self.text[self.at..end];
        self.at = end;
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        tokens(text, true).collect()
    }

    fn graphemes(text: &str) -> Vec<&str> {
        tokens(text, false).collect()
    }

    #[test]
    fn words_as_a_reader_sees_them() {
        assert_eq!(
            words("The cat's  3.14 naïve-ish\r\n\nend."),
            ["The", " ", "cat's", "  ", "3.14", " ", "naïve", "-", "ish", "\r\n", "\n", "end", "."]
        );
        assert_eq!(words("1,000 items, e.g. 'x'"), ["1,000", " ", "items", ",", " ", "e.g", ".", " ", "'", "x", "'"]);
        assert_eq!(words("日本語のテキストです。"), ["日", "本", "語", "の", "テキスト", "で", "す", "。"]);
        assert_eq!(words("e\u{301}te\u{301} x"), ["e\u{301}te\u{301}", " ", "x"]);
        assert_eq!(words("हिन्दी भाषा"), ["हिन्दी", " ", "भाषा"]);
    }

    #[test]
    fn graphemes_keep_emoji_flags_and_marks_whole() {
        assert_eq!(graphemes("👩‍👩‍👧🇳🇴é\u{301}👍🏽a\r\n"), ["👩‍👩‍👧", "🇳🇴", "é\u{301}", "👍🏽", "a", "\r\n"]);
        assert_eq!(words("🇳🇴🇸🇪 flag"), ["🇳🇴", "🇸🇪", " ", "flag"]);
    }

    #[test]
    fn tokens_cover_any_text() {
        for text in ["", "a", "\u{301}", "\u{200D}", "a\u{200D}", "\u{200D} ", "🇳", "x\r", "''", "3,", ",3", "a.", ".a", "\u{94D}"] {
            for w in [true, false] {
                assert_eq!(tokens(text, w).collect::<String>(), text, "{text:?}");
                assert!(tokens(text, w).all(|t| !t.is_empty()));
            }
        }
    }
}
