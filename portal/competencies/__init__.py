"""Competency tracking (CERISE PRO / CPRO): frameworks, scenarios, evaluations and their grids."""
