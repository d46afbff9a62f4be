"""Appraisals: self-review, scoring, approval, feedback and appeals."""
