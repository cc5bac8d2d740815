"""The test suite's one harness: paths, processes, environment, servers, clients.

Every area of the suite (``tests/app``, ``tests/api``, ...) starts programs and
talks to them through these modules only, so there is one rule for each job:
one gunicorn launcher (``app_server``), one environment builder
(``environment``), one set of database servers (``databases``), one HTTP client
(``http_client``), and one name for the repository root (``paths.ROOT``).
"""
