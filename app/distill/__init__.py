"""`sgnet distill`: pseudo-labels from a teacher on unlabelled frames, then a student trained on them."""
