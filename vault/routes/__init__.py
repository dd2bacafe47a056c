"""HTTP routes: thin, contract in -> service -> contract out."""
