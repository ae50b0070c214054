//! Test helpers shared by the unit tests of this crate.

/// Asserts `got` equals the reference `want` value by value within `rel` times the largest
/// `|want|` (at least `floor`), and that both have the same length
/// ([`mrixai_testkit::Tolerance::of_largest`]).
pub(crate) fn assert_close<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
    (rel, floor): (f32, f32),
    what: &str,
) {
    let tol = mrixai_testkit::Tolerance::of_largest(rel.into(), floor.into());
    mrixai_testkit::assert_close(
        what,
        got.into_iter().copied(),
        want.into_iter().copied(),
        tol,
    );
}
