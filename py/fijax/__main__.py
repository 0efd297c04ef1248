"""``python -m fijax`` runs the command-line interface."""

from fijax.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
