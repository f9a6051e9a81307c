//! The Stem Master chain: glue, linear-phase EQ, width, true-peak limiter, dither, meter.
