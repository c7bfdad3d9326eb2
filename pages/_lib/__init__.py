"""App-side helpers for the Streamlit pages: background jobs, session state, hosting limits.

Nothing here computes science; it calls :mod:`gpatlas_core` and keeps the results per session.
"""
