"""Bank file formats: ISO 20022, SWIFT MT940/MT942, BAI2, NACHA ACH."""
