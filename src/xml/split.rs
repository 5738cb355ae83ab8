//! Reading a large `<devices>` on several cores.
//!
//! A domain of 100,000 disks is 20 MB of text, nearly all of it the children of `<devices>`,
//! and building its tree is the largest single step of reading it. Those children do not
//! depend on each other, so a large document is read in parts:
//!
//! 1. the head, up to and including `<devices>`'s start tag, as one pass would read it;
//! 2. `<devices>`'s content, cut into pieces at the start of a child element: the calling
//!    thread reads the first piece straight on into the head's arena while helper threads
//!    read the others, each into an arena of its own;
//! 3. those arenas appended to the head's, in document order, their indices moved;
//! 4. the tail, from `</devices>` to the end.
//!
//! The tree is then exactly the one a single pass builds: the same nodes in the same order,
//! the same attributes, the same strings.
//!
//! Where to cut is a guess from layout: a pretty-printed document (what `virsh dumpxml`,
//! `domxml fmt` and editors write) starts each child of `<devices>` on a line of its own, at
//! the indentation of the first one. The guess is checked rather than trusted. The first
//! piece starts just after `<devices>`'s start tag, where a single pass would be too, between
//! two tokens and with no element of `<devices>` open. A piece read from such a place must end
//! cleanly: a cut inside a tag, comment, CDATA section or processing instruction leaves the
//! piece ending inside markup, which the reader refuses; a cut inside a child element leaves
//! the piece with an element it opened and did not close, or the next one closing an element
//! it did not open. So if every piece reads cleanly, every cut is again between tokens at the
//! same depth, and each piece's events are the ones a single pass would have read there. The
//! tail must then begin by closing `<devices>` itself.
//!
//! Anything else (no indentation to go by, a cut that fails, any error at all) reads the
//! whole document again in one pass, so a malformed document fails with exactly the message
//! and position one pass gives, and an odd layout costs at most one wasted attempt.

use super::build::{Builder, Part, Pause, OUTSIDE};
use super::read::{reader, Limits, ParsedDocument};
use super::tree::{AttrData, Kind, NodeData, NONE};

/// When and how finely to read `<devices>` in pieces.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    /// The smallest document worth it.
    min_bytes: usize,
    /// The first piece is this share (1/n) of `<devices>`: the calling thread reads it
    /// straight into the head's arena, so it is never copied.
    first: usize,
    /// The rest is cut into this many pieces for the helpers (and the calling thread, once
    /// done with the first); a few per helper, so that a core the hypervisor lends elsewhere
    /// holds up a small piece rather than half the work.
    rest: usize,
}

impl Plan {
    /// Always one pass.
    pub(super) const ONE_PASS: Plan = Plan {
        min_bytes: usize::MAX,
        first: 1,
        rest: 0,
    };

    /// From 256 KiB of text on, when there is more than one core: the calling thread's fair
    /// share first, the rest in two pieces per other core. A piece costs a thread hand-off
    /// and a copy of its nodes; under 256 KiB one pass takes about a millisecond.
    pub(super) fn for_this_machine() -> Plan {
        let cores = crate::par::cores().min(8);
        if cores < 2 {
            return Plan::ONE_PASS;
        }
        Plan {
            min_bytes: 256 * 1024,
            first: cores,
            rest: 2 * (cores - 1),
        }
    }

    /// About `n` pieces whatever the size of the document (tests and fuzzing: pieces on
    /// small inputs).
    #[cfg(any(test, fuzzing))]
    pub(super) fn in_pieces(n: usize) -> Plan {
        Plan {
            min_bytes: 0,
            first: n.max(2),
            rest: n.max(2) - 1,
        }
    }

    pub(super) fn worth_it(&self, len: usize) -> bool {
        len >= self.min_bytes && self.rest > 0
    }

    /// Where to try cutting `len` bytes of content: offsets from its start, rising.
    fn targets(&self, len: usize) -> Vec<usize> {
        let first = len / self.first;
        let rest = len - first;
        (0..self.rest)
            .map(|k| first + rest / self.rest * k)
            .collect()
    }
}

/// The rest of the document after `head` paused at `<devices>`'s start tag (which ends at
/// `after`), read in pieces; `None` when it cannot be, or any part fails (the caller then
/// reads the whole document in one pass).
pub(super) fn read_rest<'a>(
    mut head: Builder<'a>,
    text: &'a str,
    after: usize,
    limits: Limits,
    plan: Plan,
) -> Option<ParsedDocument<'a>> {
    // The last `</devices`: if it is not the one that closes `<devices>`, a piece or the tail
    // fails below.
    let end = after + memchr::memmem::rfind(&text.as_bytes()[after..], b"</devices")?;
    let cuts = cuts(text.as_bytes(), after, end, &plan.targets(end - after))?;
    let depth = head.depth();
    let rest: Vec<(usize, usize)> = cuts[1..].windows(2).map(|w| (w[0], w[1])).collect();
    // The first piece goes straight into the head's arena; the others into arenas of their
    // own, on helper threads, to be appended.
    let (first, pieces) = crate::par::beside(
        || {
            let mut reader = reader(&text[cuts[0]..cuts[1]]);
            let read = matches!(head.pump(&mut reader, cuts[0], Part::Piece), Ok(Pause::Eof));
            (read && head.depth() == depth).then_some(head)
        },
        &rest,
        |&(from, to)| {
            let mut b = Builder::piece(text, limits, depth);
            b.reserve_for(&text[from..to]);
            match b.pump(&mut reader(&text[from..to]), from, Part::Piece) {
                Ok(Pause::Eof) if b.stack.len() == 1 => Some(b),
                _ => None,
            }
        },
    );
    let mut b = first?;
    for piece in pieces {
        graft(&mut b, piece?)?;
    }
    #[cfg(test)]
    tests::PIECES.with(|p| p.set(rest.len() + 1));
    let mut tail = reader(&text[end..]);
    // The tail closes `<devices>` and the root, which its reader never saw open; the builder
    // checks those end tags against its own open elements.
    tail.config_mut().allow_unmatched_ends = true;
    match b.pump(&mut tail, end, Part::Tail) {
        Ok(Pause::Eof) => b.finish().ok(),
        _ => None,
    }
}

/// Whether `bytes` reads the same (the whole tree, or the error) in one pass and with
/// `<devices>` in about `pieces` pieces: the property the `split_tree` fuzz target checks.
#[cfg(fuzzing)]
pub(crate) fn agrees(bytes: &[u8], limits: Limits, pieces: usize) -> bool {
    use super::read::parse_with;
    let one = format!("{:?}", parse_with(bytes, limits, Plan::ONE_PASS));
    one == format!("{:?}", parse_with(bytes, limits, Plan::in_pieces(pieces)))
}

/// Where to cut `text[from..to]`, the content of `<devices>`: `from`, then for each target
/// (an offset from `from`) the `<` of the first child element at or after it that starts a
/// line at the first child's indentation, then `to`. `None` when there is nothing to cut at.
fn cuts(text: &[u8], from: usize, to: usize, targets: &[usize]) -> Option<Vec<usize>> {
    // The line break and indentation before the first child.
    let first = from + memchr::memchr(b'<', &text[from..to])?;
    let line = from + memchr::memrchr(b'\n', &text[from..first])?;
    let indent = &text[line..first];
    if !indent[1..].iter().all(|&c| c == b' ' || c == b'\t') {
        return None;
    }
    let needle = [indent, b"<"].concat();
    let finder = memchr::memmem::Finder::new(&needle);
    let mut cuts = vec![from];
    'targets: for &target in targets {
        let mut at = (from + target).max(cuts[cuts.len() - 1] + 1);
        loop {
            let Some(i) = text.get(at..to).and_then(|t| finder.find(t)) else {
                // None further on either.
                break 'targets;
            };
            let lt = at + i + indent.len();
            // An element's start tag, not an end tag, comment or processing instruction.
            if text
                .get(lt + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
            {
                cuts.push(lt);
                break;
            }
            at = lt + 1;
        }
    }
    cuts.push(to);
    (cuts.len() > 2).then_some(cuts)
}

/// Append a piece's arena to `b`'s, its top-level nodes as the next children of `b`'s
/// innermost open element. `None` when the two would not join as one pass reads them (text
/// on both sides of the seam, which one pass makes one node).
fn graft<'a>(b: &mut Builder<'a>, piece: Builder<'a>) -> Option<()> {
    let &(parent, last) = b.stack.last()?;
    if piece.first_top == NONE {
        return Some(());
    }
    let seam_is_text = |n: &NodeData| n.kind == Kind::Text;
    if last != NONE
        && seam_is_text(&b.nodes[last as usize])
        && seam_is_text(&piece.nodes[piece.first_top as usize])
    {
        return None;
    }
    let nodes = b.nodes.len() as u32;
    let attrs = b.attrs.len() as u32;
    let made = b.made.len() as u32;
    let moved = |i: u32| match i {
        NONE => NONE,
        OUTSIDE => parent,
        i => i + nodes,
    };
    b.nodes.extend(piece.nodes.iter().map(|n| NodeData {
        parent: moved(n.parent),
        first_child: moved(n.first_child),
        next: moved(n.next),
        name: n.name.after_made(made),
        // Only an element's attributes are counted from somewhere.
        first_attr: if n.kind == Kind::Element {
            n.first_attr + attrs
        } else {
            n.first_attr
        },
        ..*n
    }));
    b.attrs.extend(piece.attrs.iter().map(|a| AttrData {
        name: a.name.after_made(made),
        value: a.value.after_made(made),
        ..*a
    }));
    b.made.extend(piece.made);
    let first = piece.first_top + nodes;
    if last == NONE {
        b.nodes[parent as usize].first_child = first;
    } else {
        b.nodes[last as usize].next = first;
    }
    let (_, piece_last) = piece.stack[0];
    b.stack.last_mut()?.1 = piece_last + nodes;
    Some(())
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
