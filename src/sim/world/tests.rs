//! Store-level tests of the world.
