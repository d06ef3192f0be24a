"""Domain errors survive pickling: a job in the process pool sends its error back that way."""

from __future__ import annotations

import pickle

from webapp.services.errors import NotFound, Throttled, ValidationError


def test_a_validation_error_keeps_its_fields_and_message_through_pickle():
    error = ValidationError({"name": ["Use at most 5 characters."]})
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ValidationError
    assert copy.fields == {"name": ["Use at most 5 characters."]}
    assert copy.message == "Use at most 5 characters." and copy.status == 422


def test_throttled_and_not_found_keep_their_details_through_pickle():
    throttled = pickle.loads(pickle.dumps(Throttled("Wait.", retry_after=42)))
    assert (throttled.message, throttled.retry_after) == ("Wait.", 42)
    assert pickle.loads(pickle.dumps(NotFound("No such job."))).message == "No such job."
