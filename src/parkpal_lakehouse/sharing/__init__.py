"""Delta Sharing of gold: the share definition, per-recipient share tables, tokens and profile files,
and the protocol server (`parkpal share ...`)."""
