"""Database access, one module per table family: statements only, no HTTP, no policy."""
