//! Shortening user strings echoed in messages.
//!
//! Error messages name the path, variable or expression at fault, but a careless or
//! hostile argument can be a megabyte long, and echoing it whole buries the message (and
//! floods a batch job's log). Every message that echoes a user string goes through
//! [`quote`], [`shorten`] or [`path`]: at most [`MAX_SHOWN_CHARS`] characters are shown,
//! the start and the end (where file names and extensions are), with the total length.
//! [`clip_long_lines`] is the last line of defence for the final error message.

use std::path::Path;

/// Most characters of one user string shown in a message.
pub const MAX_SHOWN_CHARS: usize = 200;

/// Lines of a final error message longer than this many characters are clipped by
/// [`clip_long_lines`].
pub const MAX_LINE_CHARS: usize = 1000;

/// `s` unchanged when it has at most `max` characters, else its first and last
/// characters around an ellipsis, followed by the total length:
/// `"aaaa…zzzz (1048576 characters)"`.
fn shorten_to(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_string();
    }
    let head = max / 2;
    let tail = max.saturating_sub(head + 1);
    let first: String = s.chars().take(head).collect();
    let last: String = s.chars().skip(total - tail).collect();
    format!("{first}…{last} ({total} characters)")
}

/// A user string shortened to at most [`MAX_SHOWN_CHARS`] characters (plus the ellipsis
/// and the length note), without quotes.
pub fn shorten(s: &str) -> String {
    shorten_to(s, MAX_SHOWN_CHARS)
}

/// A user string in single quotes, shortened like [`shorten`]; the length note stays
/// outside the quotes: `'aaa…zzz' (1048576 characters)`.
pub fn quote(s: &str) -> String {
    let total = s.chars().count();
    if total <= MAX_SHOWN_CHARS {
        return format!("'{s}'");
    }
    let short = shorten_to(s, MAX_SHOWN_CHARS);
    let body = short
        .strip_suffix(&format!(" ({total} characters)"))
        .unwrap_or(&short);
    format!("'{body}' ({total} characters)")
}

/// A path for a message, shortened like [`shorten`].
pub fn path(p: &Path) -> String {
    shorten(&p.display().to_string())
}

/// Every line of `msg` longer than [`MAX_LINE_CHARS`] characters shortened to that length
/// (start and end kept): whatever a message echoes, it stays readable.
pub fn clip_long_lines(msg: &str) -> String {
    if msg.len() <= MAX_LINE_CHARS {
        return msg.to_string();
    }
    msg.split('\n')
        .map(|line| shorten_to(line, MAX_LINE_CHARS))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_unchanged() {
        assert_eq!(shorten("tas"), "tas");
        assert_eq!(quote("tas"), "'tas'");
        assert_eq!(quote(""), "''");
        let s = "é".repeat(MAX_SHOWN_CHARS);
        assert_eq!(shorten(&s), s);
    }

    /// Issue #13 item 10: a 1 MB path was echoed whole.
    #[test]
    fn long_strings_keep_both_ends_and_say_how_long() {
        let s = format!("/start{}end.npy", "x/".repeat(500_000));
        let total = s.chars().count();
        let short = shorten(&s);
        assert!(short.starts_with("/startx/x/"), "{short}");
        assert!(
            short.ends_with(&format!("x/end.npy ({total} characters)")),
            "{short}"
        );
        assert!(short.contains('…'));
        let shown = short.split(" (").next().unwrap_or("");
        assert_eq!(shown.chars().count(), MAX_SHOWN_CHARS);
        let q = quote(&s);
        assert!(q.starts_with("'/start") && q.ends_with(&format!("end.npy' ({total} characters)")));
        // Multi-byte characters are never split.
        let wide = "日本".repeat(1000);
        assert!(shorten(&wide).starts_with("日本日本"));
    }

    #[test]
    fn long_lines_are_clipped() {
        let msg = format!("first line\n{}\nlast", "y".repeat(1_000_000));
        let out = clip_long_lines(&msg);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "first line");
        assert!(lines[1].chars().count() < MAX_LINE_CHARS + 40);
        assert_eq!(lines[2], "last");
    }
}
