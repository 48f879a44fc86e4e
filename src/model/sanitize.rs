//! Untrusted text (pod logs, object names, annotations, event messages) made safe for a
//! terminal. Nothing that reaches the screen may move the cursor, change the title, write
//! the clipboard (OSC 52) or switch character sets: escape sequences (CSI, OSC, DCS, SOS,
//! PM, APC and two-byte ESC sequences), C0 controls except tab, DEL, C1 controls, and
//! bidirectional overrides are removed. Invalid UTF-8 becomes U+FFFD.
//!
//! SGR colour sequences (`ESC [ … m`) can optionally be kept (a theme option), because
//! some logs are coloured on purpose; they are then re-emitted only in their canonical,
//! harmless form, never as arbitrary CSI.

use std::borrow::Cow;

/// Whether colour sequences survive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sgr {
    #[default]
    Strip,
    Keep,
}

/// Raw bytes from a log stream → safe text (lossy UTF-8, then [`sanitize`]).
pub fn sanitize_bytes(bytes: &[u8], sgr: Sgr) -> String {
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(s) => sanitize(s, sgr).into_owned(),
        Cow::Owned(s) => sanitize(&s, sgr).into_owned(),
    }
}

/// Safe text for the screen; borrows when nothing needs removing (the common case).
pub fn sanitize(text: &str, sgr: Sgr) -> Cow<'_, str> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t') {
        return Cow::Borrowed(text);
    }
    if !text.chars().any(needs_attention) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(strip(text, sgr))
}

/// Owned safe text without colours: for names, messages and anything drawn in a cell.
pub fn clean(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

fn needs_attention(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_control(c)
}

/// Characters that reorder text visually and can disguise what a line says.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn strip(text: &str, sgr: Sgr) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars, &mut out, sgr),
            // C1 CSI/OSC/DCS/SOS/PM/APC introducers start sequences too.
            '\u{9b}' => skip_csi(&mut chars, &mut out, sgr),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => out.push('\t'),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>, out: &mut String, sgr: Sgr) {
    match chars.next() {
        Some('[') => skip_csi(chars, out, sgr),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // Two-byte sequences with intermediates, e.g. ESC ( B (charset), ESC # 8.
        Some(c) if (' '..='/').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !(' '..='/').contains(&n) {
                    break;
                }
            }
        }
        // ESC c (reset), ESC 7/8 (save/restore cursor), ESC M (reverse index), ...
        Some(_) | None => {}
    }
}

/// CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, one final byte 0x40–0x7E.
fn skip_csi(chars: &mut Chars<'_>, out: &mut String, sgr: Sgr) {
    let mut params = String::new();
    while let Some(&c) = chars.peek() {
        if ('\u{30}'..='\u{3f}').contains(&c) || ('\u{20}'..='\u{2f}').contains(&c) {
            params.push(c);
            chars.next();
        } else {
            break;
        }
    }
    match chars.next() {
        Some('m') if sgr == Sgr::Keep && params.chars().all(|c| c.is_ascii_digit() || c == ';') => {
            out.push_str("\u{1b}[");
            out.push_str(&params);
            out.push('m');
        }
        Some(c) if ('\u{40}'..='\u{7e}').contains(&c) => {}
        // A malformed sequence ends at the first byte that cannot belong to it; that
        // byte is dropped too rather than guessed at.
        _ => {}
    }
}

/// OSC/DCS/SOS/PM/APC bodies run to BEL or ST (ESC \ or U+009C); all of it is dropped.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Marker appended to a line cut for display.
pub const CUT_MARKER: &str = " …[cut]";

/// A line cut to at most `max_chars` characters for display, with a marker when cut.
/// The stored text stays whole; only what is drawn is shortened.
pub fn cut_for_display(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((byte, _)) => Cow::Owned(format!("{}{CUT_MARKER}", &text[..byte])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        sanitize(s, Sgr::Strip).into_owned()
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        assert!(matches!(sanitize("GET /health 200\tok", Sgr::Strip), Cow::Borrowed(_)));
        assert!(matches!(sanitize("Grüße ✓", Sgr::Strip), Cow::Borrowed(_)));
    }

    #[test]
    fn hostile_sequences_are_removed() {
        let corpus = [
            ("\u{1b}[2J\u{1b}[Hwiped", "wiped"),               // clear screen, home
            ("a\u{1b}[10;20Hb", "ab"),                         // cursor move
            ("\u{1b}]0;pwned title\u{7}log", "log"),           // title via BEL
            ("\u{1b}]2;pwned\u{1b}\\log", "log"),              // title via ST
            ("\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}copy", "copy"), // OSC 52 clipboard write
            ("\u{1b}P1$r0m\u{1b}\\dcs", "dcs"),                // DCS
            ("\u{1b}(0lqk\u{1b}(B", "lqk"),                    // charset switch
            ("abc\rXYZ", "abcXYZ"),                            // bare CR
            ("bell\u{7}\u{8}\u{8}", "bell"),                   // BEL, backspaces
            ("\u{9b}31mc1\u{9d}0;t\u{9c}", "c1"),              // C1 CSI and OSC
            ("\u{1b}[?1049h\u{1b}[?25lalt", "alt"),            // alt screen, hide cursor
            ("safe\u{202e}txt.exe", "safetxt.exe"),            // bidi override
            ("\u{1b}7\u{1b}[1Ahidden\u{1b}8", "hidden"),       // save/restore cursor
            ("trailing escape\u{1b}", "trailing escape"),      // dangling ESC
            ("\u{1b}[31", ""),                                 // unterminated CSI
        ];
        for (input, expected) in corpus {
            assert_eq!(clean(input), expected, "input {input:?}");
            assert!(!clean(input).chars().any(|c| c.is_control() && c != '\t'), "input {input:?}");
        }
    }

    #[test]
    fn sgr_is_kept_only_when_allowed_and_only_sgr() {
        let coloured = "\u{1b}[31merror\u{1b}[0m \u{1b}[2Jx";
        assert_eq!(clean(coloured), "error x");
        assert_eq!(sanitize(coloured, Sgr::Keep), "\u{1b}[31merror\u{1b}[0m x");
        // A private-mode CSI ending in m is not SGR.
        assert_eq!(sanitize("\u{1b}[?25m!", Sgr::Keep), "!");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(sanitize_bytes(b"ok \xff\xfe done", Sgr::Strip), "ok \u{fffd}\u{fffd} done");
    }

    #[test]
    fn long_lines_are_cut_for_display_only() {
        let line = "x".repeat(1_000_000);
        let shown = cut_for_display(&line, 200);
        assert_eq!(shown.chars().count(), 200 + CUT_MARKER.chars().count());
        assert!(shown.ends_with(CUT_MARKER));
        assert_eq!(cut_for_display("short", 200), "short");
        // A megabyte of escapes is handled without blowing up.
        let hostile = "\u{1b}[1A".repeat(250_000);
        assert_eq!(clean(&hostile), "");
    }
}
