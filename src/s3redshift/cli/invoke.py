"""``s3redshift invoke``: the Lambda handler run locally on one event."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from s3redshift.cli.common import EXIT_FAILED, EXIT_OK, configuration, read_event_file
from s3redshift.cli.parser import LOCAL_TIME_BUDGET_MS

__all__ = ["LocalContext", "run"]


class LocalContext:
    """The parts of Lambda's context object a handler reads, for local runs."""

    function_name = "s3redshift-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:s3redshift-local"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/s3redshift-local"
    log_stream_name = "local"

    def __init__(self, budget_ms: int = LOCAL_TIME_BUDGET_MS) -> None:
        self.aws_request_id = f"local-{int(time.time() * 1000)}"
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the handler on the event in ``args.event`` and print its response."""
    import logging

    from s3redshift.events import decode_payload
    from s3redshift.handler import LOGGER_NAME, JsonFormatter, handle

    event = dict(decode_payload(read_event_file(args.event)))
    config = configuration(args)
    # The deployed adapter writes the handler's JSON lines to stdout (CloudWatch);
    # here stdout carries the response, so the lines go to stderr.
    log = logging.getLogger(LOGGER_NAME)
    log.propagate = False
    log.setLevel(logging.INFO)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonFormatter())
    log.addHandler(stream)
    try:
        with args.make_loader(config) as loader:
            context = LocalContext(int(args.timeout * 1000))
            response = handle(event, context, loader=loader, log=log)
    finally:
        log.removeHandler(stream)
    out.write(json.dumps(response, indent=2, ensure_ascii=False, default=str) + "\n")
    return EXIT_FAILED if response.get("batchItemFailures") else EXIT_OK
