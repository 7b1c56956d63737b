"""The public side: what a visitor may do without an account (``visitor``: search, label
pages, filing a complaint), the complaints the committee then handles (``complaints``), the
parent consent form (``consent``), the signed open data (``opendata``) and the monitoring
figures (``monitoring``)."""
