"""Commands of customer development: customers, leads, visits, the working calendar."""
