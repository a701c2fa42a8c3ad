"""Cross-cutting pieces: database lifecycle, time, templates, i18n, errors."""
