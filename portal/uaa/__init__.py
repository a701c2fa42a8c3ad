"""UAA validation (CPU, CEPU): options, training profiles, UAA, learners, attempts and attestations."""
