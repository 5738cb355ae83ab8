//! A map keyed by device item index, stored as a vector: the plan keeps an alias, a node
//! number or an address for most devices, and looking one up by position costs no hashing.

/// Values by device item index (`Devices::items`).
#[derive(Debug, Clone)]
pub(crate) struct ByItem<T>(Vec<Option<T>>);

impl<T> Default for ByItem<T> {
    fn default() -> Self {
        ByItem(Vec::new())
    }
}

impl<T> ByItem<T> {
    /// Room for `n` items without growing.
    pub fn with_items(n: usize) -> Self {
        ByItem(Vec::with_capacity(n))
    }

    pub fn insert(&mut self, item: usize, v: T) {
        if self.0.len() <= item {
            self.0.resize_with(item + 1, || None);
        }
        self.0[item] = Some(v);
    }

    pub fn get(&self, item: &usize) -> Option<&T> {
        self.0.get(*item).and_then(Option::as_ref)
    }
}

impl<T> std::ops::Index<&usize> for ByItem<T> {
    type Output = T;

    fn index(&self, item: &usize) -> &T {
        self.get(item)
            .unwrap_or_else(|| panic!("no value for device item {item}"))
    }
}

impl<T> FromIterator<(usize, T)> for ByItem<T> {
    fn from_iter<I: IntoIterator<Item = (usize, T)>>(iter: I) -> Self {
        let mut m = ByItem::default();
        for (i, v) in iter {
            m.insert(i, v);
        }
        m
    }
}
