"""The Streamlit app's pages (one script each, declared in ``app.py``) and, in :mod:`pages._lib`,
the app-side glue they share: session state, background jobs, hosting limits, widgets."""
