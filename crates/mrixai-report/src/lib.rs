//! mrixai-report (under construction).
