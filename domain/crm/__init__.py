"""Customer development: customers, leads, visits, callbacks, customer care and the working calendar."""
