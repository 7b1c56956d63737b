"""Keeping the house: the operator's tasks (``admin``), backup and restore of the whole home
(``backup``) and the check that the registry's record holds (``integrity``)."""
