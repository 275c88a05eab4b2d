"""Networks and kinds: the torch autoencoder, its losses, and the registry of autoencoder kinds."""
