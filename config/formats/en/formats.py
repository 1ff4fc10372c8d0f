"""Dates as CreditDesk shows them everywhere (pages, admin, e-mails): ISO order, 24-hour, UTC.

Django's English default ("Nov. 25, 2026, 1:26 p.m.") in the admin's lists sat beside our own
tables' "2026-11-25 13:26"; one format makes times comparable at a glance.
"""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
