"""Assist adapters: the scikit-learn learner, model files, and generated labeled history."""
