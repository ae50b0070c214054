//! mrixai-zoo (under construction).
