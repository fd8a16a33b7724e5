"""The write path's command line: ``python -m indexer`` (see ``indexer.cli``)."""
