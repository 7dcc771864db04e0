"""The multicam analyst dashboard (Streamlit), installed as ``multicam.dashboards``.

The sources live in the repository's top-level ``dashboards/`` folder; the wheel maps them into the package
(``[tool.setuptools] package-dir`` in pyproject.toml). ``multicam dashboard`` runs ``app.py`` from here.
"""
