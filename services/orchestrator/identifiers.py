"""The identifiers a job's delivery requests carry: the classifier's reading of the e-mail.

The classifier reports the numbers written in the e-mail (`identifiers`) and, for a
follow-up that does not repeat them, those carried from the case's open request
(`carried_identifiers`); nothing here reads the e-mail again.
"""

from __future__ import annotations

from crm.v1 import classifier_pb2, types_pb2


def identifiers_for(classification: classifier_pb2.Classification) -> types_pb2.Identifiers:
    """The e-mail's own identifiers, else those carried from the case's open request."""
    given = classification.identifiers
    if not (given.tracking_numbers or given.order_numbers):
        given = classification.carried_identifiers
    copy = types_pb2.Identifiers()
    copy.CopyFrom(given)  # the draft's classification stays as the classifier wrote it
    return copy
