"""`[core] hostname_callable` for test workers sharing one host: the name in CSP_TEST_WORKER_NAME.

Airflow records this as the hostname of every task instance the worker runs, so a test can tell
two workers on one machine apart (in containers each has its own hostname instead).
"""

import os


def hostname() -> str:
    return os.environ["CSP_TEST_WORKER_NAME"]
