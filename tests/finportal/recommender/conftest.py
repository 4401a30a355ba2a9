"""The recommender tests share the batch tests' park, members and batch."""

from tests.finportal.batches.conftest import (  # noqa: F401 - fixtures shared with the batch tests
    batch_world,
    open_batch,
)
