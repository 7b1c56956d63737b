"""The web layer: one ASGI app (Streamlit's ``st.App`` with Starlette routes).

Staff work in Streamlit; the public side is server-rendered HTML. Sign-in routes that set
the staff session cookie live in ``signin``.
"""
