//! mrixai-synth (under construction).
