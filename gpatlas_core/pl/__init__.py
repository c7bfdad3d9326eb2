"""Drawing: functions that take results and return plotly figures. Never imports streamlit."""
