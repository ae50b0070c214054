//! mrixai-attrib (under construction).
