"""The Streamlit app's helpers: state, cached layer, figures; instructlin/ stays free of Streamlit."""
