"""Pure card logic: no I/O, no keys, no database."""
