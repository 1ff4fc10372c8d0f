"""The jobs pages: the client's (list, drafts by section, detail tabs, decisions on
deliveries), staff's (the work queue, assigning, delivering) and the statistics. Thin views:
forms read, selectors read, services write."""
