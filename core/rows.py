"""A model's columns in a hand-written query, and its rows back as the models the ORM builds.

For hot paths where compiling a queryset and iterating it costs more than the query (an API
token's lookup was a third of a spend's request): the statement's text is written once, and
each row goes through the same converters the ORM applies (SQLite's datetimes as text, JSON as
text on both databases, decimals, booleans), then `from_db`, as a queryset would do it.
"""

from django.db import connections


class Columns:
    """`model`'s columns `names` (all concrete ones by default), as `alias.column` in SQL."""

    def __init__(self, model, names: tuple[str, ...] | None = None, *, alias: str = ""):
        self.model = model
        self.fields = (
            [model._meta.get_field(name) for name in names]
            if names
            else list(model._meta.concrete_fields)
        )
        self.attnames = tuple(field.attname for field in self.fields)
        prefix = f"{alias}." if alias else ""
        self.sql = ", ".join(prefix + field.column for field in self.fields)
        self._converters = {}

    def __len__(self) -> int:
        return len(self.fields)

    def build(self, row, using: str = "default"):
        """The model for `row` (these columns' values, in order), read from database `using`."""
        connection = connections[using]
        converters = self._converters.get(using)
        if converters is None:
            converters = self._converters[using] = self._converters_for(connection)
        if converters:
            row = list(row)
            for index, functions, expression in converters:
                value = row[index]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[index] = value
        return self.model.from_db(using, self.attnames, row)

    def _converters_for(self, connection) -> list:
        found = []
        for index, field in enumerate(self.fields):
            expression = field.get_col(self.model._meta.db_table)
            functions = connection.ops.get_db_converters(expression)
            functions += field.get_db_converters(connection)
            if functions:
                found.append((index, functions, expression))
        return found
