"""Orders: handing down, steps, shipping and acceptance."""
