#!/usr/bin/python3
"""Parses a Prometheus text exposition (stdin) with the official parser
(Debian's python3-prometheus-client) and prints it as JSON:
{"family": {"type": ..., "samples": [[name, {labels}, value], ...]}}.
A text the parser refuses exits 1 with its error."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

out = {}
try:
    for f in text_string_to_metric_families(sys.stdin.read()):
        out[f.name] = {"type": f.type, "samples": [
            [s.name, s.labels, s.value] for s in f.samples]}
except Exception as e:  # the parser's own errors are ValueError and kin
    sys.exit("promparse: %s" % e)
json.dump(out, sys.stdout)
