//! The Stem Channel chain: trim, EQ, dynamics, mid/side, saturation, output, gain match.
