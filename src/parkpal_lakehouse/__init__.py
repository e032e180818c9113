"""ParkPal Lakehouse."""
