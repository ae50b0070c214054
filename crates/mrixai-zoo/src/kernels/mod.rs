//! The CPU kernels of the feature stack: 3×3 convolutions as im2col + GEMM ([`conv`]), the
//! training forward and hand-written backward of the convolution / BatchNorm / ReLU /
//! max-pool stack ([`features`]), and the lane-parallel sums they share ([`lanes`]).

pub(crate) mod conv;
pub(crate) mod features;
pub(crate) mod gemm;
pub(crate) mod head;
pub(crate) mod lanes;
