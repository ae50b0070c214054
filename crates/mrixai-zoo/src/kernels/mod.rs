//! The CPU kernels of the whole model, the same bytes on every instruction path: matrix
//! products in a fixed order ([`gemm`]), 3×3 convolutions as im2col + GEMM ([`conv`]), the
//! head's adaptive pooling and linear layers ([`head`]), the training forward and
//! hand-written backward of the whole model ([`features`]), and the lane-parallel sums
//! ([`lanes`]).

pub(crate) mod conv;
pub(crate) mod features;
pub(crate) mod gemm;
pub(crate) mod head;
pub(crate) mod lanes;
