//! mrixai-metrics (under construction).
