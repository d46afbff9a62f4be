"""What bizbot says later: due items and their sweep, the outbox, inbound dedupe, dialogs."""
