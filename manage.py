#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import sys


def main() -> None:
    from django.core.management import execute_from_command_line

    from config.startup import load_settings

    load_settings(command=sys.argv[1] if len(sys.argv) > 1 else "help")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
