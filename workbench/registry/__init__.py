"""The ground floor: the registry's state. The SQLite database and its event log (``db``),
the data model (``models``), accounts, permissions and sessions, the search index, the
public URL setting and the notifications that the event log drives. Imports nothing above it."""
