"""Account rules that hold wherever an account is made or changed: web forms and API."""
