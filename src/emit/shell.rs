//! The two printed forms of a command line: libvirt's `.args` layout (shell) and a JSON array.

use super::QemuArgs;

/// Quote one word for a POSIX shell the way libvirt's `.args` files do: bare when it only has
/// characters no shell treats specially, else in single quotes with each `'` written `'\''`.
/// Pasting the result into `sh` yields exactly the original word, whatever it holds (`$(…)`,
/// spaces, quotes, newlines).
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    push_quoted(&mut out, word);
    out
}

/// [`shell_quote`] appended to `out`.
fn push_quoted(out: &mut String, word: &str) {
    let safe = !word.is_empty()
        && word.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'@' | b'%' | b'+' | b'=' | b':' | b',' | b'.' | b'/' | b'-'
                )
        });
    if safe {
        out.push_str(word);
    } else {
        out.push('\'');
        for (i, part) in word.split('\'').enumerate() {
            if i > 0 {
                out.push_str("'\\''");
            }
            out.push_str(part);
        }
        out.push('\'');
    }
}

/// libvirt's `.args` layout: the emulator, then one option and its value per line, every line
/// but the last ending in ` \`. Unlike libvirt's test files there are no environment lines: the
/// command runs in the caller's environment.
pub fn to_shell(args: &QemuArgs) -> String {
    let argv = args.argv();
    let mut out = String::with_capacity(argv.iter().map(|w| w.len() + 4).sum::<usize>() + 1);
    for (i, words) in args.lines().into_iter().enumerate() {
        push_line(&mut out, i, words);
    }
    out.push('\n');
    out
}

/// [`to_shell`] written to `out` as it is made, through a buffer of 64 KiB: for a large
/// command line (10,000 disks make 2.5 MB) the text is never held whole.
///
/// ```
/// let c = domxml::convert_str("<domain type='qemu'><name>g</name></domain>", &Default::default()).unwrap();
/// let mut out = Vec::new();
/// domxml::emit::write_shell(&c.args, &mut out).unwrap();
/// assert_eq!(out, domxml::emit::to_shell(&c.args).into_bytes());
/// ```
pub fn write_shell(args: &QemuArgs, out: &mut impl std::io::Write) -> std::io::Result<()> {
    const FLUSH: usize = 64 * 1024;
    let mut buf = String::with_capacity(FLUSH + 4096);
    for (i, words) in args.lines().into_iter().enumerate() {
        push_line(&mut buf, i, words);
        if buf.len() >= FLUSH {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    buf.push('\n');
    out.write_all(buf.as_bytes())
}

/// The `i`th line of the shell layout (its words quoted), after the previous one's ` \`.
fn push_line(out: &mut String, i: usize, words: &[String]) {
    if i > 0 {
        out.push_str(" \\\n");
    }
    for (j, w) in words.iter().enumerate() {
        if j > 0 {
            out.push(' ');
        }
        push_quoted(out, w);
    }
}

/// A JSON array of strings, the emulator first.
pub fn to_argv_json(args: &QemuArgs) -> String {
    serde_json::to_string_pretty(args.argv()).unwrap_or_else(|_| "[]".to_string()) + "\n"
}

/// Why a text is not in the shell layout [`to_shell`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShellError {
    /// A `'` without its closing quote.
    #[error("unterminated single quote")]
    UnterminatedQuote,
    /// A `\` at the very end.
    #[error("trailing backslash")]
    TrailingBackslash,
    /// A character a shell would interpret, outside quotes.
    #[error("unquoted shell metacharacter {0:?}")]
    Metacharacter(char),
}

/// Split a shell layout back into argv the way `sh` would for the words this module writes
/// (bare words and single-quoted words, ` \`-newline continuations). Used by tests and by
/// `domxml snapshot` to compare argv rather than bytes; not a general shell parser.
///
/// ```
/// use domxml::emit::{parse_shell, shell_quote};
/// let line = format!("{} {}", shell_quote("-name"), shell_quote("it's $(x)"));
/// assert_eq!(parse_shell(&line).unwrap(), ["-name", "it's $(x)"]);
/// ```
pub fn parse_shell(text: &str) -> Result<Vec<String>, ShellError> {
    let mut argv = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(ShellError::UnterminatedQuote),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    cur.push(ch);
                }
                None => return Err(ShellError::TrailingBackslash),
            },
            ' ' | '\t' | '\n' => {
                if in_word {
                    argv.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' | '$' | '`' | '(' | ')' | ';' | '&' | '|' | '<' | '>' | '*' | '?' => {
                return Err(ShellError::Metacharacter(c));
            }
            ch => {
                in_word = true;
                cur.push(ch);
            }
        }
    }
    if in_word {
        argv.push(cur);
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_in_pieces_the_layout_is_the_one_made_whole() {
        let mut xml = String::from(
            "<domain type='qemu'><name>g</name><devices><controller type='scsi' index='0' model='virtio-scsi'/>",
        );
        for i in 0..700 {
            xml += &format!(
                "<disk type='file' device='disk'><source file='/var/lib/it&apos;s {i}.img'/><target dev='{}' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='{i}'/></disk>",
                crate::assign::disk_name("sd", i)
            );
        }
        xml += "</devices></domain>";
        let c = crate::convert_str(&xml, &Default::default()).unwrap();
        let whole = to_shell(&c.args);
        assert!(
            whole.len() > 3 * 64 * 1024,
            "{} bytes: several flushes",
            whole.len()
        );
        let mut out = Vec::new();
        write_shell(&c.args, &mut out).unwrap();
        assert!(out == whole.as_bytes(), "write_shell differs from to_shell");
    }

    #[test]
    fn plain_words_stay_bare_and_json_is_single_quoted() {
        assert_eq!(shell_quote("-nodefaults"), "-nodefaults");
        assert_eq!(
            shell_quote("guest=a,debug-threads=on"),
            "guest=a,debug-threads=on"
        );
        assert_eq!(shell_quote(r#"{"id":"x"}"#), r#"'{"id":"x"}'"#);
    }

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn parse_shell_inverts_quoting_of_hostile_words() {
        let words = [
            "/usr/bin/q",
            "a b",
            "it's",
            "$(rm -rf /)",
            "x,,y",
            "",
            "\"q\"",
        ];
        let text = words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" \\\n");
        assert_eq!(parse_shell(&text).unwrap(), words);
    }
}
