"""Strongroom's vault: tokenises cards, holds them encrypted, executes charges, audits all."""
