"""Pole conventions (e-Pôles): instruments, schools, articles, signatures, validation, acknowledgment."""
