"""The multicam analyst dashboard (Streamlit): ``multicam dashboard`` starts ``dashboards/app.py``."""
