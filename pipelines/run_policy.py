"""What every contact-sync run shares: its retry policy and the tag that serializes runs of one connection."""

import dagster as dg

# deploy/dagster.yaml limits runs to one per distinct value of this tag (customer x source).
CONNECTION_TAG = "contact-sync/connection"

# Transient failures (the database restarting, a CRM outage that outlasted the HTTP retries) are retried with
# growing, jittered pauses; bad input and bad configuration are not (`dg.Failure(allow_retries=False)`).
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
