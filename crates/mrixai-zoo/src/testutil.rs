//! Test helpers shared by the unit tests of this crate.

/// Asserts `got` equals the reference `want` value by value within `rel` times the largest
/// `|want|` (at least `floor`), and that both have the same length.
pub(crate) fn assert_close<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
    (rel, floor): (f32, f32),
    what: &str,
) {
    let (got, want): (Vec<f32>, Vec<f32>) = (
        got.into_iter().copied().collect(),
        want.into_iter().copied().collect(),
    );
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(floor, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= rel * scale,
            "{what}[{i}]: {a} vs reference {b} (scale {scale})"
        );
    }
}
