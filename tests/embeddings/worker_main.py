"""`python -m tests.embeddings.worker_main ARGS` = `celery ARGS` with the test backend
registered, so a real worker process can embed with it.

ITEMBANK_TEST_BROKER_OPTIONS (a JSON object) is merged into the broker transport options, e.g.
{"unacked_restore_interval": 1, "unacked_restore_throttle": 1} so a test worker looks for
unacknowledged messages past their visibility timeout every second (kombu's default: 100 s).
"""

import json
import os
import sys

from celery.__main__ import main

from tests.embeddings.hashing_backend import register

if __name__ == "__main__":
    register()
    if options := os.environ.get("ITEMBANK_TEST_BROKER_OPTIONS"):
        from itembank.celery import app

        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            **json.loads(options),
        }
    sys.argv[0] = "celery"
    sys.exit(main())
