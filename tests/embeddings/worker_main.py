"""`python -m tests.embeddings.worker_main ARGS` = `celery ARGS` with the test backend
registered, so a real worker process can embed with it."""

import sys

from celery.__main__ import main

from tests.embeddings.hashing_backend import register

if __name__ == "__main__":
    register()
    sys.argv[0] = "celery"
    sys.exit(main())
