use std::cell::RefCell;

use super::*;

fn hash(seq: u64) -> String {
    format!("{seq:064x}")
}

fn anchor(seq: u64, hash: String, line: usize) -> Anchor {
    Anchor { seq, hash, line }
}

/// A chain of rows 1..=n served `per_page` links at a time; records the
/// `after` of each call.
fn pages(
    n: u64,
    per_page: usize,
    calls: &RefCell<Vec<u64>>,
) -> impl FnMut(u64) -> Result<(Vec<AuditLink>, bool), Failure> + '_ {
    move |after| {
        calls.borrow_mut().push(after);
        let links: Vec<AuditLink> = (after + 1..=n)
            .take(per_page)
            .map(|seq| AuditLink {
                seq,
                hash: hash(seq),
            })
            .collect();
        let more = links.last().is_some_and(|l| l.seq < n);
        Ok((links, more))
    }
}

#[test]
fn matching_anchors_pass_and_pages_start_at_the_first_anchor() {
    let anchors: Vec<Anchor> = (5..=20).map(|s| anchor(s, hash(s), s as usize)).collect();
    let calls = RefCell::new(vec![]);
    assert_eq!(compare(&anchors, pages(30, 4, &calls)).unwrap(), Ok(()));
    // From row 4 on, and no further than the last anchor.
    assert_eq!(*calls.borrow(), vec![4, 8, 12, 16]);
}

#[test]
fn names_the_first_missing_row() {
    let anchors: Vec<Anchor> = (1..=10).map(|s| anchor(s, hash(s), s as usize)).collect();
    let calls = RefCell::new(vec![]);
    let p = compare(&anchors, pages(7, 3, &calls)).unwrap().unwrap_err();
    assert_eq!((p.seq, p.stored.clone(), p.last), (8, None, 7));
    let text = p.describe(Path::new("auth.log"));
    assert!(
        text.contains("audit row 8 is missing") && text.contains("auth.log line 8"),
        "{text}"
    );
    assert!(text.contains("ends at row 7"), "{text}");
}

#[test]
fn names_the_first_differing_row_even_when_another_hash_matches() {
    // Row 3 was logged twice (rows lost, number reused): one cannot match.
    let mut anchors: Vec<Anchor> = (1..=5).map(|s| anchor(s, hash(s), s as usize)).collect();
    anchors.insert(3, anchor(3, hash(99), 40));
    let calls = RefCell::new(vec![]);
    let p = compare(&anchors, pages(5, 100, &calls))
        .unwrap()
        .unwrap_err();
    assert_eq!((p.seq, p.line), (3, 40));
    assert_eq!(p.stored, Some(hash(3)));
    let text = p.describe(Path::new("f"));
    assert!(text.contains("audit row 3 differs"), "{text}");
}

#[test]
fn an_empty_database_misses_every_anchor() {
    let anchors = vec![anchor(1, hash(1), 1)];
    let calls = RefCell::new(vec![]);
    let p = compare(&anchors, pages(0, 10, &calls))
        .unwrap()
        .unwrap_err();
    assert_eq!(p.seq, 1);
    assert!(p.describe(Path::new("f")).contains("no row from there on"));
}
