"""Documents that must never change once issued (attestations, validated conventions): stored once, served as stored."""
