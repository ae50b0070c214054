//! A `.npy` reader for every numeric dtype a NumPy or PyTorch user may save — bool, signed
//! and unsigned integers of 1–8 bytes, float16/32/64 — in either byte order and in C or
//! Fortran order. Values arrive as `f64` in C order with the dtype they came from, so the
//! caller converts losslessly (or refuses) and can say what was converted.

use crate::{Error, Result};
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use std::path::Path;

/// What a `.npy` file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtype {
    /// `b` (bool), `i`, `u` or `f`.
    pub kind: char,
    /// Bytes per element.
    pub size: usize,
    /// Stored big-endian.
    pub big_endian: bool,
    /// Stored in Fortran (column-major) order.
    pub fortran: bool,
}

impl Dtype {
    /// NumPy's name of the element type (`float64`, `int32`, `bool`, …).
    pub fn name(&self) -> String {
        match self.kind {
            'b' => "bool".into(),
            'i' => format!("int{}", self.size * 8),
            'u' => format!("uint{}", self.size * 8),
            _ => format!("float{}", self.size * 8),
        }
    }

    /// The name with its storage details (`float64, big-endian, Fortran order`).
    pub fn describe(&self) -> String {
        let mut s = self.name();
        if self.big_endian && self.size > 1 {
            s.push_str(", big-endian");
        }
        if self.fortran {
            s.push_str(", Fortran order");
        }
        s
    }
}

/// A `.npy` array read as `f64` values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct AnyArray {
    /// The stored type.
    pub dtype: Dtype,
    /// The values.
    pub values: ArrayD<f64>,
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?;
    Some(rest.trim_start())
}

fn parse_descr(path: &Path, header: &str) -> Result<(char, usize, bool)> {
    let bad = |why: &str| Error::format(path, format!("unsupported .npy element type: {why}"));
    let v = header_value(header, "descr").ok_or_else(|| bad("no 'descr' in the header"))?;
    let quote = v.chars().next().filter(|c| *c == '\'' || *c == '"');
    let Some(q) = quote else {
        return Err(bad(
            "structured arrays (record dtypes) are not arrays of numbers",
        ));
    };
    let end = v[1..].find(q).ok_or_else(|| bad("unterminated 'descr'"))?;
    let d = &v[1..1 + end];
    let (order, rest) = match d.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &d[1..]),
        _ => ('|', d),
    };
    let kind = rest.chars().next().ok_or_else(|| bad("empty 'descr'"))?;
    let size: usize = rest[kind.len_utf8()..].parse().unwrap_or(0);
    let ok = match kind {
        'b' => size == 1,
        'i' | 'u' => matches!(size, 1 | 2 | 4 | 8),
        'f' => matches!(size, 2 | 4 | 8),
        _ => false,
    };
    if !ok {
        return Err(bad(&format!(
            "`{d}` (numbers only: bool, int8–64, uint8–64, float16/32/64)"
        )));
    }
    Ok((kind, size, order == '>'))
}

fn parse_shape(path: &Path, header: &str) -> Result<Vec<usize>> {
    let bad = || Error::format(path, "the .npy header has no valid 'shape'");
    let v = header_value(header, "shape").ok_or_else(bad)?;
    let inner = v
        .strip_prefix('(')
        .and_then(|r| r.split(')').next())
        .ok_or_else(bad)?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad()))
        .collect()
}

/// Decodes an IEEE half-precision value.
fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

fn decode(kind: char, raw: &[u8]) -> f64 {
    let mut b = [0u8; 8];
    b[..raw.len()].copy_from_slice(raw);
    let u = u64::from_le_bytes(b);
    match (kind, raw.len()) {
        ('b', _) => f64::from(u8::from(u != 0)),
        ('u', _) => u as f64,
        ('i', n) => {
            let shift = 64 - 8 * n as u32;
            ((u << shift) as i64 >> shift) as f64
        }
        ('f', 2) => f16_to_f64(u as u16),
        ('f', 4) => f64::from(f32::from_bits(u as u32)),
        _ => f64::from_bits(u),
    }
}

/// Parses `.npy` bytes (`path` names them in errors).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<AnyArray> {
    let bad = |why: &str| Error::format(path, format!("not a .npy array: {why}"));
    if bytes.is_empty() {
        return Err(bad("the file is empty"));
    }
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("it does not start with the .npy magic bytes"));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (n as usize, 12)
        }
        v => return Err(bad(&format!("unknown format version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .ok_or_else(|| bad("the header is cut short"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("the header is not text"))?;
    let (kind, size, big_endian) = parse_descr(path, header)?;
    let fortran = header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True"));
    let shape = parse_shape(path, header)?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("the shape overflows"))?;
    let data = &bytes[start + hlen..];
    let need = count
        .checked_mul(size)
        .ok_or_else(|| bad("the shape overflows"))?;
    if data.len() < need {
        return Err(bad(&format!(
            "the data is cut short ({} of {need} bytes for shape {shape:?})",
            data.len()
        )));
    }
    let values: Vec<f64> = data[..need]
        .chunks_exact(size)
        .map(|c| {
            if big_endian {
                let mut r = c.to_vec();
                r.reverse();
                decode(kind, &r)
            } else {
                decode(kind, c)
            }
        })
        .collect();
    let array = if fortran {
        let f =
            ArrayD::from_shape_vec(IxDyn(&shape).f(), values).map_err(|e| bad(&e.to_string()))?;
        f.as_standard_layout().into_owned()
    } else {
        ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| bad(&e.to_string()))?
    };
    Ok(AnyArray {
        dtype: Dtype {
            kind,
            size,
            big_endian,
            fortran,
        },
        values: array,
    })
}

/// Reads a `.npy` file of any numeric dtype.
pub fn read(path: &Path) -> Result<AnyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

impl AnyArray {
    /// Whether the values needed any conversion to be `T`-native C-order data.
    fn converted(&self, kind: char, size: usize) -> bool {
        self.dtype.kind != kind
            || self.dtype.size != size
            || self.dtype.big_endian
            || self.dtype.fortran
    }

    /// The values as float32 (real-valued data: images, maps). Returns a note when the file
    /// was not float32 in C order; integers and bool are exact, float64 is rounded to the
    /// nearest float32.
    pub fn into_f32(self, path: &Path) -> (ArrayD<f32>, Option<String>) {
        let note = self.converted('f', 4).then(|| {
            format!(
                "{}: read {} as float32",
                path.display(),
                self.dtype.describe()
            )
        });
        (self.values.mapv(|v| v as f32), note)
    }

    /// The values as non-negative integers (labels, class indices): any integer or bool
    /// dtype, or floats that are all whole numbers; anything else is refused, naming the
    /// first value that is not a class index.
    pub fn into_indices(self, path: &Path, what: &str) -> Result<(ArrayD<i64>, Option<String>)> {
        if let Some((i, v)) = self
            .values
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && v.fract() == 0.0 && **v >= 0.0 && **v < 9.0e15))
        {
            return Err(Error::format(
                path,
                format!(
                    "{what}[{i}] = {v} is not a class index (a whole number ≥ 0); the file holds {}",
                    self.dtype.name()
                ),
            ));
        }
        let note = (self.dtype.kind != 'i'
            || self.dtype.size != 8
            || self.dtype.big_endian
            || self.dtype.fortran)
            .then(|| {
                format!(
                    "{}: read {} as class indices",
                    path.display(),
                    self.dtype.describe()
                )
            });
        Ok((self.values.mapv(|v| v as i64), note))
    }

    /// One class index per sample: [`AnyArray::into_indices`] of a 1-D array (any other
    /// shape is refused, naming `path`).
    pub fn into_index_list(self, path: &Path, what: &str) -> Result<(Vec<usize>, Option<String>)> {
        let (t, note) = self.into_indices(path, what)?;
        if t.ndim() != 1 {
            return Err(Error::format(
                path,
                format!(
                    "expected a 1-D array of class indices, got shape {:?}",
                    t.shape()
                ),
            ));
        }
        Ok((t.iter().map(|&v| v as usize).collect(), note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrixai_testkit::npy_bytes;

    #[test]
    fn every_numeric_dtype_byte_order_and_layout() {
        let p = Path::new("x.npy");
        let be: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = parse(p, &npy_bytes(">f8", false, &[2], &be)).unwrap();
        assert_eq!(a.values.as_slice().unwrap(), &[1.5, -2.0]);
        assert_eq!(a.dtype.describe(), "float64, big-endian");
        // float16: 1.0 = 0x3c00, -0.5 = 0xb800, 65504 = 0x7bff
        let h: Vec<u8> = [0x3c00u16, 0xb800, 0x7bff]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse(p, &npy_bytes("<f2", false, &[3], &h)).unwrap();
        assert_eq!(a.values.as_slice().unwrap(), &[1.0, -0.5, 65504.0]);
        let i: Vec<u8> = [-3i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse(p, &npy_bytes("<i2", false, &[2], &i))
                .unwrap()
                .values
                .as_slice()
                .unwrap(),
            &[-3.0, 7.0]
        );
        let b = parse(p, &npy_bytes("|b1", false, &[3], &[1, 0, 1])).unwrap();
        assert_eq!(b.values.as_slice().unwrap(), &[1.0, 0.0, 1.0]);
        // Fortran order: [[1, 2, 3], [4, 5, 6]] stored column by column
        let f: Vec<u8> = [1i32, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse(p, &npy_bytes("<i4", true, &[2, 3], &f)).unwrap();
        assert_eq!(
            a.values.as_slice().unwrap(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let (idx, note) = a.clone().into_indices(p, "target").unwrap();
        assert_eq!(idx.as_slice().unwrap(), &[1, 2, 3, 4, 5, 6]);
        assert!(note.unwrap().contains("int32, Fortran order"));
        // one index per sample needs a 1-D array
        let e = a.into_index_list(p, "target").unwrap_err().to_string();
        assert!(e.contains("x.npy") && e.contains("got shape [2, 3]"), "{e}");
        let one = parse(p, &npy_bytes("<i4", false, &[3], &f[..12])).unwrap();
        assert_eq!(one.into_index_list(p, "target").unwrap().0, [1, 4, 2]);
    }

    #[test]
    fn lossy_and_foreign_inputs_are_refused_with_a_sentence() {
        let p = Path::new("t.npy");
        let f: Vec<u8> = [0.0f32, 1.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let e = parse(p, &npy_bytes("<f4", false, &[2], &f))
            .unwrap()
            .into_indices(p, "target")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("target[1] = 1.5 is not a class index"),
            "{e}"
        );
        for (descr, needle) in [
            ("<c16", "numbers only"),
            ("<U3", "numbers only"),
            ("|O", "numbers only"),
        ] {
            let e = parse(p, &npy_bytes(descr, false, &[1], &[0; 16]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{descr}: {e}");
        }
        let e = parse(p, &npy_bytes("<f8", false, &[4], &[0; 8]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cut short"), "{e}");
        assert!(parse(p, b"").unwrap_err().to_string().contains("empty"));
        assert!(
            parse(p, b"PK\x03\x04 zip")
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Random bytes, and random truncations and byte flips of a valid file: an error
        /// (one sentence naming the file) or an array, never a panic.
        #[test]
        fn garbage_and_truncations_never_panic(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            cut in 0usize..200,
            flip in 0usize..200,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let p = Path::new("fuzz.npy");
            if let Err(e) = parse(p, &junk) {
                proptest::prop_assert!(e.to_string().starts_with("fuzz.npy"));
            }
            let data: Vec<u8> = (0..24u8).collect();
            let mut valid = npy_bytes("<f4", false, &[2, 3], &data);
            let _ = parse(p, &valid[..cut.min(valid.len())]);
            let at = flip % valid.len();
            valid[at] = byte;
            let _ = parse(p, &valid);
        }
    }
}
