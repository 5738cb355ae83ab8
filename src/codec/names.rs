//! The names an element's reader was given, kept for the one element in many that has
//! something unknown in it: the candidates of a did-you-mean, and the names it lets through.
//!
//! A reader asks for every name it knows, most of them absent, so recording one must cost
//! next to nothing: a name is two words written into a buffer with room (from a pool shared
//! by the document's readers), inlined at the call. Lists (read verbatim, or let through)
//! are rarer and kept apart with their position, so that the candidates keep the order the
//! reader gave them in.

use std::cell::RefCell;

/// A list of names a reader knows for an element.
#[derive(Clone, Copy)]
pub(crate) enum List {
    /// Read verbatim (known, not modelled).
    Listed(&'static [&'static str]),
    /// Let through without a warning (kept in `Extra`).
    Passed(&'static [&'static str]),
}

/// Buffers lent to the readers of one document: reading a large document allocates a few,
/// not several for every element.
#[derive(Default)]
pub(crate) struct Pool {
    ones: RefCell<Vec<Vec<&'static str>>>,
    lists: RefCell<Vec<Vec<(usize, List)>>>,
}

/// The names one reader was given: single names asked for, and lists with the number of
/// single names given before each.
pub(crate) struct Names<'a> {
    pool: &'a Pool,
    ones: RefCell<Vec<&'static str>>,
    lists: RefCell<Vec<(usize, List)>>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(pool: &'a Pool) -> Self {
        Names {
            pool,
            ones: RefCell::new(Vec::new()),
            lists: RefCell::new(Vec::new()),
        }
    }

    /// A name asked for. Inlined for the common case, a buffer with room, so the name's two
    /// words go straight from registers into it. (A 24-byte enum built on the stack and
    /// copied by a callee stalled on store forwarding at every name: 8% of `fmt` in a native
    /// profile of 100,000 disks.)
    #[inline(always)]
    pub(crate) fn one(&self, name: &'static str) {
        let mut v = self.ones.borrow_mut();
        if v.len() < v.capacity() {
            v.push(name);
        } else {
            drop(v);
            self.one_slow(name);
        }
    }

    /// A first name (a buffer from the pool) or a full buffer (grown).
    #[cold]
    #[inline(never)]
    fn one_slow(&self, name: &'static str) {
        let mut v = self.ones.borrow_mut();
        if v.capacity() == 0 {
            if let Some(b) = self.pool.ones.borrow_mut().pop() {
                *v = b;
            }
        }
        v.push(name);
    }

    /// A list of names.
    pub(crate) fn list(&self, l: List) {
        let at = self.ones.borrow().len();
        let mut v = self.lists.borrow_mut();
        if v.capacity() == 0 {
            if let Some(b) = self.pool.lists.borrow_mut().pop() {
                *v = b;
            }
        }
        v.push((at, l));
    }

    /// Every name known, asked for or passed, in the order given: the candidates of a
    /// did-you-mean.
    pub(crate) fn all(&self) -> Vec<&'static str> {
        let ones = self.ones.borrow();
        let mut out = Vec::with_capacity(ones.len());
        let mut next = 0;
        for &(at, l) in self.lists.borrow().iter() {
            out.extend_from_slice(&ones[next..at]);
            next = at;
            match l {
                List::Listed(ns) | List::Passed(ns) => out.extend_from_slice(ns),
            }
        }
        out.extend_from_slice(&ones[next..]);
        out
    }

    /// `name` is in a list let through.
    pub(crate) fn passed(&self, name: &str) -> bool {
        self.lists
            .borrow()
            .iter()
            .any(|(_, l)| matches!(l, List::Passed(ns) if ns.contains(&name)))
    }
}

impl Drop for Names<'_> {
    fn drop(&mut self) {
        let mut ones = std::mem::take(self.ones.get_mut());
        if ones.capacity() > 0 {
            ones.clear();
            self.pool.ones.borrow_mut().push(ones);
        }
        let mut lists = std::mem::take(self.lists.get_mut());
        if lists.capacity() > 0 {
            lists.clear();
            self.pool.lists.borrow_mut().push(lists);
        }
    }
}

/// One bit of 64 for a name (from its length and end bytes): a reader marks the bits of the
/// names an element has, and a name whose bit is clear is known to be absent without a
/// search. Most names a reader asks for are absent (a disk has 5 of the 15 children asked
/// for). Names sharing a bit are told apart by the search.
pub(crate) fn name_bit(name: &[u8]) -> u64 {
    let (first, last) = match name {
        [] => (0, 0),
        [f, .., l] => (*f, *l),
        [f] => (*f, *f),
    };
    let h = (name.len() as u32).wrapping_mul(31) ^ u32::from(first) ^ (u32::from(last) << 3);
    1 << (h % 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_keep_the_order_names_and_lists_were_given_in() {
        let pool = Pool::default();
        let n = Names::new(&pool);
        n.list(List::Listed(&["first"]));
        n.one("a");
        n.one("b");
        n.list(List::Passed(&["p", "q"]));
        n.one("c");
        n.list(List::Listed(&["last"]));
        assert_eq!(n.all(), ["first", "a", "b", "p", "q", "c", "last"]);
        assert!(n.passed("q"));
        assert!(!n.passed("first") && !n.passed("a"));
    }

    #[test]
    fn buffers_go_back_to_the_pool_and_come_out_empty() {
        let pool = Pool::default();
        {
            let n = Names::new(&pool);
            for _ in 0..100 {
                n.one("x");
            }
            n.list(List::Passed(&["y"]));
        }
        assert_eq!(pool.ones.borrow().len(), 1);
        assert_eq!(pool.lists.borrow().len(), 1);
        let n = Names::new(&pool);
        n.one("z");
        assert_eq!(n.all(), ["z"]);
        assert!(!n.passed("y"));
        assert!(pool.ones.borrow().is_empty());
    }
}
