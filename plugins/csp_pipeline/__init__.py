"""Community Safety Partnership and Youth Justice data pipeline."""
