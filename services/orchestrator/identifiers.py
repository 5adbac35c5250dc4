"""The identifiers a job's delivery-service requests carry (every workflow's: delivery,
billing, transaction, complaint): the classifier's reading of the e-mail.

The classifier reports the numbers written in the e-mail (`identifiers`) and, for a
follow-up that does not repeat them, those carried from the case's open request
(`carried_identifiers`); nothing here reads the e-mail again. A follow-up that does not
continue the open request (another topic, or a note in between) carries nothing; its
workflow's request then also names the case's known numbers (`workflows`), which the
delivery service uses when the identifiers name none.
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
