//! Byte offsets to lines and columns, computed only when a position is asked for.
//!
//! The reader records a byte offset for every element and attribute; a [`Pos`] (1-based line,
//! 1-based column in characters) is derived from it when a diagnostic needs one. The index is
//! built once per document, on the first such request: the start of every line, and for a
//! document that is not all ASCII, the number of characters before every block of
//! [`BLOCK`] bytes, so that a column costs at most one block's scan whatever the line length
//! (a 20 MB document on one line, asked for thousands of positions in any order, stays fast).

use super::Pos;

/// Bytes per block of the character count.
const BLOCK: usize = 256;

/// Line starts (and, unless the text is ASCII, character counts per block) of one text.
#[derive(Debug)]
pub(crate) struct LineIndex {
    /// Byte offset of the start of every line; the first is 0.
    starts: Vec<usize>,
    /// Characters before the start of each block of `BLOCK` bytes; empty when every byte is
    /// ASCII (a character is then a byte).
    chars_before_block: Vec<usize>,
}

/// UTF-8 continuation bytes (`10xxxxxx`) do not start a character.
fn starts_char(b: u8) -> bool {
    (b as i8) >= -0x40
}

impl LineIndex {
    pub(crate) fn new(src: &str) -> Self {
        let bytes = src.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 64 + 1);
        starts.push(0);
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let chars_before_block = if src.is_ascii() {
            Vec::new()
        } else {
            let mut acc = 0;
            let mut v: Vec<usize> = bytes
                .chunks(BLOCK)
                .map(|c| {
                    let before = acc;
                    acc += c.iter().filter(|&&b| starts_char(b)).count();
                    before
                })
                .collect();
            // The count before the block that would start at the end: the end of a text whose
            // length is a multiple of BLOCK is a position too (found by fuzzing: without it,
            // the column of that position underflowed).
            v.push(acc);
            v
        };
        LineIndex {
            starts,
            chars_before_block,
        }
    }

    /// Characters in `src[..end]`.
    fn chars_before(&self, src: &str, end: usize) -> usize {
        if self.chars_before_block.is_empty() {
            return end;
        }
        let block = end / BLOCK;
        let from = block * BLOCK;
        self.chars_before_block[block]
            + src.as_bytes()[from..end]
                .iter()
                .filter(|&&b| starts_char(b))
                .count()
    }

    /// The position of a byte offset of `src` (the text this index was built from): an offset
    /// inside a character counts as that character's start, one past the end as the end.
    pub(crate) fn pos(&self, src: &str, offset: usize) -> Pos {
        let offset = offset.min(src.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let mut end = offset;
        while !src.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.chars_before(src, end) - self.chars_before(src, start) + 1;
        Pos {
            line: line as u32 + 1,
            column: column as u32,
            offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: count characters from the line start.
    fn naive(src: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(src.len());
        let mut end = offset;
        while !src.is_char_boundary(end) {
            end -= 1;
        }
        let line_start = src[..end].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = src[..end].matches('\n').count() + 1;
        (
            line as u32,
            (src[line_start..end].chars().count() + 1) as u32,
        )
    }

    #[test]
    fn positions_match_counting_from_the_line_start() {
        let mut long = String::new();
        for i in 0..700 {
            long.push_str(if i % 3 == 0 { "é" } else { "ab" });
            if i % 97 == 0 {
                long.push('\n');
            }
            if i % 211 == 0 {
                long.push_str("€𝄞");
            }
        }
        for src in ["", "a", "\n", "a\nb\r\nc", "é\nxé", long.as_str()] {
            let idx = LineIndex::new(src);
            for off in (0..=src.len() + 2).rev() {
                let p = idx.pos(src, off);
                assert_eq!((p.line, p.column), naive(src, off), "{off} in {src:?}");
                assert_eq!(p.offset, off.min(src.len()));
            }
        }
    }

    #[test]
    fn the_end_of_a_non_ascii_text_a_whole_number_of_blocks_long_has_a_position() {
        for blocks in 1..=3 {
            for line_break in [None, Some(10), Some(BLOCK * blocks - 1)] {
                let mut src = String::from("é");
                while src.len() < BLOCK * blocks {
                    src.push(if Some(src.len()) == line_break {
                        '\n'
                    } else {
                        'a'
                    });
                }
                assert_eq!(src.len(), BLOCK * blocks);
                let idx = LineIndex::new(&src);
                for off in [0, 1, 2, src.len() - 1, src.len()] {
                    let p = idx.pos(&src, off);
                    assert_eq!(
                        (p.line, p.column),
                        naive(&src, off),
                        "{off} of {}",
                        src.len()
                    );
                }
            }
        }
    }
}
