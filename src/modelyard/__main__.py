"""``python -m modelyard`` runs the command-line interface."""

from modelyard.cli.main import main

if __name__ == "__main__":
    main()
