"""robot-us subcommands: one module per command (HELP, add_arguments, run)."""
