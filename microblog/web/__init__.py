"""Helpers shared by the HTML pages.

Pagination, safe redirect targets, form validators, template helpers and the
static files.
"""
