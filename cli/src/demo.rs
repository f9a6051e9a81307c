//! placeholder removed below
