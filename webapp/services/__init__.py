"""The service layer: the one place for rules, shared by the pages and the API."""
