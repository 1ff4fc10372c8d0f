#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import sys


def main() -> None:
    from django.core.management import execute_from_command_line

    from config.startup import load_settings

    load_settings()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
