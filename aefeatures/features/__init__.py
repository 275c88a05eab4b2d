"""Column features: how each column becomes network inputs and loss terms."""
