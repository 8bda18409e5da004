"""Pure protocol meaning: AGI codec, AMI event interpretation. No I/O here."""
