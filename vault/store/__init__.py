"""The vault's own database: tables, engine, migrations and repository functions."""
