"""`python -m cli`: the pipebot command line."""

from cli.main import entry

if __name__ == "__main__":
    entry()
