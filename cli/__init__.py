"""The `pipebot` command line: the entry points that start everything else."""
