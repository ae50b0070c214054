//! Small geometric helpers shared by the data generators.

/// The rotation matrix of the unit quaternion `[w, x, y, z]`.
pub fn quaternion_rotation([w, x, y, z]: [f32; 4]) -> [[f32; 3]; 3] {
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - z * w),
            2.0 * (x * z + y * w),
        ],
        [
            2.0 * (x * y + z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - x * w),
        ],
        [
            2.0 * (x * z - y * w),
            2.0 * (y * z + x * w),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identity quaternion is the identity; a half turn about z negates x and y; every
    /// result is orthonormal.
    #[test]
    fn quaternions_give_rotations() {
        assert_eq!(
            quaternion_rotation([1.0, 0.0, 0.0, 0.0]),
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        );
        let r = quaternion_rotation([0.0, 0.0, 0.0, 1.0]);
        assert_eq!(r, [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]);
        let n = (0.3f32 * 0.3 + 0.5 * 0.5 + 0.1 * 0.1 + 0.8 * 0.8).sqrt();
        let r = quaternion_rotation([0.3, 0.5, 0.1, 0.8].map(|v| v / n));
        for i in 0..3 {
            for j in 0..3 {
                let dot: f32 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "row {i}·row {j} = {dot}");
            }
        }
    }
}
