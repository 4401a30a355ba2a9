"""Demo data of the later features, each step owned by the feature's module.

``load_demo`` runs them in this order after the reference data, enterprises and users.
"""

from finportal.demo_steps import batches, complaints, needs, referrals, sme, subsidies

STEPS = [
    ("sme", sme.seed),
    ("referrals", referrals.seed),
    ("batches", batches.seed),
    ("needs", needs.seed),  # demand board (issue 15)
    ("complaints", complaints.seed),  # issue 15
    ("subsidies", subsidies.seed),  # issue 13
]
