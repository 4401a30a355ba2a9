"""Demo data of the later features, each step owned by the feature's module.

``load_demo`` runs them in this order after the reference data, enterprises and users.
"""

from finportal.demo_steps import (
    batches,
    complaints,
    needs,
    public_data,
    referrals,
    sme,
    subsidies,
)

STEPS = [
    # issue 14: before the applications, so their submissions keep the verified facts.
    ("public_data", public_data.seed),
    ("sme", sme.seed),
    ("referrals", referrals.seed),
    ("batches", batches.seed),
    ("needs", needs.seed),  # demand board (issue 15)
    ("complaints", complaints.seed),  # issue 15
    ("subsidies", subsidies.seed),  # issue 13
]
