"""Command-line interface: ``fijax <command>``. Each command group lives in its own module here."""
