//! `.npy` reading and (atomic) writing with errors that name the file.
//!
//! Arrays are plain NumPy `.npy` files in C order, so `np.load(path)` reads everything
//! mrixai writes and mrixai reads what `np.save` writes.

use crate::{Error, Result, atomic};
use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use ndarray_npy::{ReadNpyExt, ReadableElement, WritableElement, WriteNpyExt};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Reads an `.npy` file of element type `T` (f32, u8, i64, …) as a dynamic-rank array.
pub fn read<T: ReadableElement>(path: &Path) -> Result<ArrayD<T>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Err(Error::format(path, "empty file, not a .npy array"));
    }
    ArrayD::<T>::read_npy(BufReader::new(file)).map_err(|e| {
        Error::format(
            path,
            format!("cannot read as .npy of {}: {e}", std::any::type_name::<T>()),
        )
    })
}

/// Reads an `.npy` file and checks its rank.
pub fn read_rank<T: ReadableElement>(path: &Path, rank: usize) -> Result<ArrayD<T>> {
    let a = read::<T>(path)?;
    if a.ndim() != rank {
        return Err(Error::format(
            path,
            format!("expected a {rank}-D array, got shape {:?}", a.shape()),
        ));
    }
    Ok(a)
}

/// Reads an `f32` `.npy` file and rejects NaN/Inf, naming the file.
pub fn read_finite_f32(path: &Path) -> Result<ArrayD<f32>> {
    let a = read::<f32>(path)?;
    let bad = a.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(Error::format(
            path,
            format!("contains {bad} non-finite value(s) (NaN or Inf)"),
        ));
    }
    Ok(a)
}

/// Writes an array as `.npy` (C order) atomically.
pub fn write<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<()>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    atomic::write_with(path, |w| {
        array
            .write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, IxDyn};

    #[test]
    fn roundtrip_and_errors() {
        let dir = mrixai_testkit::Scratch::new("npy");
        let p = dir.join("a.npy");
        let a = Array3::<f32>::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f32);
        write(&p, &a).unwrap();
        let b = read::<f32>(&p).unwrap();
        assert_eq!(b.shape(), &[2, 3, 4]);
        assert_eq!(b, a.into_dyn());
        assert!(read::<u8>(&p).is_err());
        assert!(read_rank::<f32>(&p, 4).is_err());
        let t = a_t(&dir);
        write(
            &t,
            &ndarray::ArrayD::<f32>::from_elem(IxDyn(&[2]), f32::NAN),
        )
        .unwrap();
        let e = read_finite_f32(&t).unwrap_err().to_string();
        assert!(e.contains("non-finite") && e.contains("t.npy"), "{e}");
        std::fs::write(dir.join("empty.npy"), b"").unwrap();
        assert!(
            read::<f32>(&dir.join("empty.npy"))
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        std::fs::write(dir.join("junk.npy"), b"not an array").unwrap();
        assert!(read::<f32>(&dir.join("junk.npy")).is_err());
        assert!(read::<f32>(&dir.join("missing.npy")).is_err());
    }

    fn a_t(dir: &Path) -> std::path::PathBuf {
        dir.join("t.npy")
    }
}
