//! Text in PostgreSQL columns (shared by the backend and its `decisions`).

/// PostgreSQL text cannot hold a NUL character, which JSON strings (ids,
/// users, reasons) can: such columns are stored escaped (`\` → `\\`, NUL →
/// `\0`) and unescaped when read, so every value comes back as it was sent.
/// (Bodies and records are JSON text, where a NUL is already `\u0000`.)
pub(crate) fn enc(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\\', '\0']) { text.replace('\\', "\\\\").replace('\0', "\\0").into() } else { text.into() }
}

pub(crate) fn dec(text: String) -> String {
    if !text.contains('\\') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

pub(crate) fn enc_opt(text: &Option<String>) -> Option<String> {
    text.as_deref().map(|t| enc(t).into_owned())
}

pub(crate) fn dec_opt(text: Option<String>) -> Option<String> {
    text.map(dec)
}
