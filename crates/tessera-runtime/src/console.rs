//! Whole lines to the console, from any thread: the scheduler's heartbeat, progress and
//! the job runner all write here so no line is ever cut by another.

/// Serializes whole lines to the console: a batch job sends stdout and stderr to one file,
/// where a progress line written while a long result prints would cut it in two.
static CONSOLE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Writes `text` and a newline to stdout (`err` false) or stderr in one write, never
/// interleaved with another line written through here. A closed pipe is not an error.
pub fn console_line(text: &str, err: bool) {
    use std::io::Write as _;
    let _guard = CONSOLE.lock().unwrap_or_else(|p| p.into_inner());
    let mut buf = String::with_capacity(text.len() + 1);
    buf.push_str(text);
    buf.push('\n');
    if err {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(buf.as_bytes());
        let _ = e.flush();
    } else {
        let mut o = std::io::stdout().lock();
        let _ = o.flush();
        let _ = o.write_all(buf.as_bytes());
        let _ = o.flush();
    }
}
