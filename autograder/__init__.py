"""Autograder for the attention course: release learner notebooks, grade submissions with nbval."""
