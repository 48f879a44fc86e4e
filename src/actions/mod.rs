//! User intent → action plan (pure preview) → dry-run → confirmation → execution → audit.
