//! The element paths of a domain's devices (`/domain/devices/disk[3]`), all made in one pass
//! and kept in one buffer: conversion and validation name every device they report on, and a
//! string for each of 100,000 devices cost more than reading them.

use super::Devices;
use std::collections::HashMap;
use std::ops::Index;

/// Every device item's element path, indexed like [`Devices::items`]. Paths number siblings
/// of the same element name from 1 (`disk[2]`), and leave the number out for an element that
/// is the only one of its name, as the source map does.
///
/// ```
/// let d = domxml::Domain::builder("vm1")
///     .disk(domxml::Disk::file("/a.img", "sda"))
///     .disk(domxml::Disk::file("/b.img", "sdb"))
///     .build()
///     .unwrap();
/// let paths = domxml::model::DevicePaths::of(&d.devices);
/// assert_eq!(&paths[1], "/domain/devices/disk[2]");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DevicePaths {
    buf: String,
    /// End of each path in `buf`; a path starts where the one before it ends.
    ends: Vec<u32>,
}

impl DevicePaths {
    /// The paths of `devices`' items.
    pub fn of(devices: &Devices) -> Self {
        let names: Vec<&str> = devices.items.iter().map(|d| d.element_name()).collect();
        let totals = counts(&names);
        let mut seen = counts(&[]);
        let mut buf = String::with_capacity(names.len() * 24);
        let mut ends = Vec::with_capacity(names.len());
        for name in &names {
            buf.push_str("/domain/devices/");
            buf.push_str(name);
            if totals.get(name) > 1 {
                let nth = seen.bump(name);
                buf.push('[');
                crate::decimal::push_decimal(&mut buf, u64::from(nth));
                buf.push(']');
            }
            ends.push(buf.len() as u32);
        }
        DevicePaths { buf, ends }
    }

    /// The number of paths (of device items).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no device items.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The paths in item order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| &self[i])
    }
}

impl Index<usize> for DevicePaths {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }
}

/// How many times each element name occurs. A domain has a handful of device names, looked up
/// in a short list; a document with many different unknown elements goes through a map, so
/// the cost stays linear.
struct Counts<'a> {
    few: Vec<(&'a str, u32)>,
    many: HashMap<&'a str, u32>,
}

fn counts<'a>(names: &[&'a str]) -> Counts<'a> {
    let mut c = Counts {
        few: Vec::new(),
        many: HashMap::new(),
    };
    for n in names {
        c.bump(n);
    }
    c
}

impl<'a> Counts<'a> {
    /// Count one more `name`; the count so far.
    fn bump(&mut self, name: &'a str) -> u32 {
        if let Some((_, k)) = self.few.iter_mut().find(|(n, _)| *n == name) {
            *k += 1;
            return *k;
        }
        if self.few.len() < 16 {
            self.few.push((name, 1));
            return 1;
        }
        let k = self.many.entry(name).or_default();
        *k += 1;
        *k
    }

    fn get(&self, name: &str) -> u32 {
        match self.few.iter().find(|(n, _)| *n == name) {
            Some((_, k)) => *k,
            None => self.many.get(name).copied().unwrap_or(0),
        }
    }
}
