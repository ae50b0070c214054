//! mrixai-stats (under construction).
