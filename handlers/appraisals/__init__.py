"""Commands of appraisals."""
