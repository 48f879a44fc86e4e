//! Colours a log line carried, as ratatui spans. Only what the sanitiser kept reaches this:
//! canonical SGR (`ESC [ params m`); anything else was removed on the way in, and an
//! unknown parameter is ignored rather than guessed.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

/// `text` with its SGR sequences applied over `base`.
pub fn spans(text: &str, base: Style) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut style = base;
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        if at > 0 {
            out.push(Span::styled(rest[..at].to_string(), style));
        }
        let after = &rest[at + 2..];
        let Some(end) = after.find('m') else {
            // A sequence cut by the pane's width: drop the fragment.
            rest = "";
            break;
        };
        style = apply(style, base, &after[..end]);
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Span::styled(rest.to_string(), style));
    }
    out
}

fn apply(mut style: Style, base: Style, params: &str) -> Style {
    let codes: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
    let mut i = 0;
    while i < codes.len() {
        match codes[i] {
            0 => style = base,
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            c @ 30..=37 => style = style.fg(Color::Indexed((c - 30) as u8)),
            c @ 90..=97 => style = style.fg(Color::Indexed((c - 90 + 8) as u8)),
            c @ 40..=47 => style = style.bg(Color::Indexed((c - 40) as u8)),
            c @ 100..=107 => style = style.bg(Color::Indexed((c - 100 + 8) as u8)),
            39 => style.fg = base.fg,
            49 => style.bg = base.bg,
            c @ (38 | 48) => {
                let (colour, used) = extended(&codes[i + 1..]);
                if let Some(colour) = colour {
                    style = if c == 38 { style.fg(colour) } else { style.bg(colour) };
                }
                i += used;
            }
            _ => {}
        }
        i += 1;
    }
    style
}

/// `5;n` (256 colours) or `2;r;g;b` (truecolor) after a 38/48; returns how many codes it took.
fn extended(codes: &[u16]) -> (Option<Color>, usize) {
    match codes {
        [5, n, ..] => (u8::try_from(*n).ok().map(Color::Indexed), 2),
        [2, r, g, b, ..] => {
            let byte = |v: &u16| u8::try_from(*v).ok();
            let rgb = byte(r).zip(byte(g)).zip(byte(b)).map(|((r, g), b)| Color::Rgb(r, g, b));
            (rgb, 4)
        }
        _ => (None, codes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_styles_and_reset_returns_to_the_base() {
        let base = Style::default().fg(Color::White);
        let s = spans("\x1b[31mERROR\x1b[0m done \x1b[1;38;5;208mhot\x1b[39m", base);
        let texts: Vec<&str> = s.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["ERROR", " done ", "hot"]);
        assert_eq!(s[0].style.fg, Some(Color::Indexed(1)));
        assert_eq!(s[1].style, base);
        assert_eq!(s[2].style.fg, Some(Color::Indexed(208)));
        assert!(s[2].style.add_modifier.contains(Modifier::BOLD));
        let rgb = spans("\x1b[48;2;10;20;30mx", base);
        assert_eq!(rgb[0].style.bg, Some(Color::Rgb(10, 20, 30)));
    }

    #[test]
    fn a_cut_sequence_and_nonsense_parameters_are_harmless() {
        let base = Style::default();
        assert_eq!(spans("text\x1b[3", base).len(), 1);
        let s = spans("\x1b[999;38;5mx", base);
        assert_eq!(s[0].content, "x");
    }
}
