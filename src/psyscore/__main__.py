"""`python -m psyscore`: the same command line as the installed `psyscore` script."""

from .cli import main

if __name__ == "__main__":
    main()
